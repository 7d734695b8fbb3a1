import { registerDecorator, type ValidationOptions } from 'class-validator';
import { ENTITY_ID_PATTERN, isIsoTimestamp, isWithdrawalStatus, WITHDRAWAL_STATUSES } from '@ledger/domain';
import { decodeCursor, type CursorKind } from './cursor';

/** The largest global position: PostgreSQL's bigint, which the event store's positions are. */
export const POSITION_MAX = 9_223_372_036_854_775_807n;

/** A position is a JSON string of digits without leading zeros, like every position we answer with. */
const POSITION_PATTERN = /^(0|[1-9][0-9]{0,18})$/;

export const LIMIT_MIN = 1;
export const LIMIT_MAX = 500;
export const LIMIT_DEFAULT = 100;
const LIMIT_PATTERN = /^[1-9][0-9]{0,2}$/;

export function isPosition(value: unknown): value is string {
  return typeof value === 'string' && POSITION_PATTERN.test(value) && BigInt(value) <= POSITION_MAX;
}

export function isLimit(value: unknown): value is string {
  return typeof value === 'string' && LIMIT_PATTERN.test(value) && Number(value) <= LIMIT_MAX;
}

/**
 * A query's `limit`, defaulted; validation has already refused anything but 1 to 500.
 * A repeated parameter arrives as an array, which the validators refuse before this runs.
 */
export function limitOf(value: string | undefined): number {
  return value === undefined ? LIMIT_DEFAULT : Number(value);
}

function rule(name: string, message: string, validate: (value: unknown) => boolean, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message, ...options },
      validator: { validate },
    });
}

export function IsPosition(options?: ValidationOptions): PropertyDecorator {
  return rule('isPosition', '$property must be a global position: a string of digits without leading zeros, at most 2^63-1', isPosition, options);
}

export function IsLimit(options?: ValidationOptions): PropertyDecorator {
  return rule('isLimit', `$property must be a whole number from ${LIMIT_MIN} to ${LIMIT_MAX}`, isLimit, options);
}

export function IsEntityId(options?: ValidationOptions): PropertyDecorator {
  return rule(
    'isEntityId',
    '$property must be 1 to 100 characters of letters, digits and _.:- starting with a letter or digit',
    (value) => typeof value === 'string' && ENTITY_ID_PATTERN.test(value),
    options,
  );
}

export function IsWithdrawalStatus(options?: ValidationOptions): PropertyDecorator {
  return rule('isWithdrawalStatus', `$property must be one of ${WITHDRAWAL_STATUSES.join(', ')}`, isWithdrawalStatus, options);
}

/** The domain's rule for instants: UTC with `Z`, so the filter means the same to every client. */
export function IsUtcTimestamp(options?: ValidationOptions): PropertyDecorator {
  return rule('isUtcTimestamp', '$property must be an ISO-8601 UTC timestamp such as 2026-11-23T10:41:00Z', isIsoTimestamp, options);
}

export function IsCursor(kind: CursorKind, options?: ValidationOptions): PropertyDecorator {
  return rule(
    'isCursor',
    '$property must be a nextCursor returned by this endpoint, unchanged',
    (value) => typeof value === 'string' && decodeCursor(kind, value) !== undefined,
    options,
  );
}
