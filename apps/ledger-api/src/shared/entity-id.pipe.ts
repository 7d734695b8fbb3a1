import { Injectable, type PipeTransform } from '@nestjs/common';
import { ENTITY_ID_PATTERN } from '@ledger/domain';
import { ApiError } from '@ledger/platform';

/** Path ids follow the same rule as ids in bodies; anything else is a 400, not a lookup. */
@Injectable()
export class EntityIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !ENTITY_ID_PATTERN.test(value)) {
      throw new ApiError(400, 'validation_failed', 'the id in the path is malformed', {
        fields: [{ field: 'id', rule: 'isEntityId', message: 'id must be 1 to 100 characters of letters, digits and _.:-' }],
      });
    }
    return value;
  }
}
