/**
 * Shapes of identifiers, channel names and timestamps that end up inside stream names and
 * ledger account names. They are checked in the domain because a malformed id written into
 * an event would poison every later reader of that event.
 */

/**
 * An entity id (account, withdrawal, deposit, discrepancy): letters, digits and `_.:-`,
 * starting with a letter or digit, at most 100 characters. This is the id part of the
 * event store's stream-name pattern, bounded so that `withdrawal-<id>` stays well under the
 * store's 200-character limit. UUIDs fit.
 */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

/**
 * A payout channel name: lower-case letters, digits and `_`, starting with a letter, at most
 * 32 characters. No dash, so `reconciliation-<channel>-<date>` splits unambiguously, and no
 * colon, so `payouts:settled:<channel>` stays one ledger account.
 */
export const CHANNEL_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;

/** A calendar date, `YYYY-MM-DD`. */
export const ISO_DATE_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/**
 * An instant in UTC with the `Z` designator and an optional fraction of up to 9 digits:
 * `2026-11-23T10:41:00Z`, `2026-11-23T10:41:00.123Z`. Offsets other than `Z` are refused so
 * that event times sort as strings.
 */
export const ISO_TIMESTAMP_PATTERN =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?Z$/;

export function isEntityId(value: unknown): value is string {
  return typeof value === 'string' && ENTITY_ID_PATTERN.test(value);
}

export function isChannel(value: unknown): value is string {
  return typeof value === 'string' && CHANNEL_PATTERN.test(value);
}

export function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = ISO_DATE_PATTERN.exec(value);
  return match !== null && isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

export function isIsoTimestamp(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = ISO_TIMESTAMP_PATTERN.exec(value);
  if (match === null) return false;
  const [hours, minutes, seconds] = [Number(match[4]), Number(match[5]), Number(match[6])];
  return (
    isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3])) &&
    hours <= 23 &&
    minutes <= 59 &&
    seconds <= 59
  );
}

/** Gregorian calendar check by arithmetic: the domain may not construct a `Date`. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= (daysInMonth[month - 1] ?? 0);
}
