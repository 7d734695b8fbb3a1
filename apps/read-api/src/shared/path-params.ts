import { Injectable, type PipeTransform } from '@nestjs/common';
import { ENTITY_ID_PATTERN, isChannel, isIsoDate } from '@ledger/domain';
import { validationFailed } from '@ledger/platform';

/** Path ids follow the command side's rule; anything else is a 400, not a lookup that finds nothing. */
@Injectable()
export class EntityIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !ENTITY_ID_PATTERN.test(value)) {
      throw validationFailed([{ field: 'id', rule: 'isEntityId', message: 'id must be 1 to 100 characters of letters, digits and _.:-' }]);
    }
    return value;
  }
}

@Injectable()
export class ChannelPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isChannel(value)) {
      throw validationFailed([
        { field: 'channel', rule: 'isChannel', message: 'channel must be lower-case letters, digits and _, starting with a letter, at most 32' },
      ]);
    }
    return value;
  }
}

@Injectable()
export class IsoDatePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isIsoDate(value)) {
      throw validationFailed([{ field: 'date', rule: 'isIsoDate', message: 'date must be a calendar date YYYY-MM-DD' }]);
    }
    return value;
  }
}
