import { Injectable, type PipeTransform } from '@nestjs/common';
import { ENTITY_ID_PATTERN, isChannel, isIsoDate } from '@ledger/domain';
import { validationFailed } from '@ledger/platform';

/**
 * The path of a reconciliation: `/{channel}/{date}` follow the domain's rules for the
 * stream name, so a malformed one is a 400 here and never a lookup that finds nothing.
 */
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
    if (!isIsoDate(value)) throw validationFailed([{ field: 'date', rule: 'isIsoDate', message: 'date must be a calendar date YYYY-MM-DD' }]);
    return value;
  }
}

@Injectable()
export class DiscrepancyIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !ENTITY_ID_PATTERN.test(value)) {
      throw validationFailed([
        { field: 'discrepancyId', rule: 'isEntityId', message: 'discrepancyId must be 1 to 100 characters of letters, digits and _.:-' },
      ]);
    }
    return value;
  }
}
