import { usageError } from './cli-error';

/** A point in the log given on the command line: a global position, or an instant. */
export type LogPoint = { readonly kind: 'position'; readonly position: bigint } | { readonly kind: 'time'; readonly time: Date; readonly text: string };

const POSITION_PATTERN = /^(0|[1-9][0-9]{0,18})$/;

/**
 * An ISO-8601 instant with a date, a time and a zone (`Z` or `±hh:mm`). A bare date or a
 * time without a zone is refused: "2026-11-23" could mean the start or the end of that day,
 * and a local time means something else on every operator's laptop.
 */
const ISO_INSTANT_PATTERN =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:[0-9]{2})$/;

/** Parses `--as-of`, `--from`, `--to`: digits are a global position, anything else must be an ISO-8601 instant. */
export function parseLogPoint(value: string, option: string): LogPoint {
  if (POSITION_PATTERN.test(value)) return { kind: 'position', position: BigInt(value) };
  if (/^[0-9]+$/.test(value)) throw usageError(`${option}: ${value} is not a position (digits without leading zeros, at most 19)`);
  return { kind: 'time', time: parseInstant(value, option), text: value };
}

export function parseInstant(value: string, option: string): Date {
  if (!ISO_INSTANT_PATTERN.test(value)) {
    throw usageError(`${option}: expected a global position or an ISO-8601 time with a zone (2026-11-23T10:00:00Z), got ${JSON.stringify(value)}`);
  }
  const [year, month, day, hours, minutes, seconds = 0] = value.match(/[0-9]+/g)!.slice(0, 6).map(Number) as number[];
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  // Date would roll 2026-02-30 over into March and 24:00 into the next day; a typo must not move the point.
  const valid = calendar.getUTCMonth() === month! - 1 && calendar.getUTCDate() === day && hours! <= 23 && minutes! <= 59 && seconds <= 59;
  const time = new Date(value);
  if (!valid || Number.isNaN(time.getTime())) throw usageError(`${option}: ${JSON.stringify(value)} is not a valid time`);
  return time;
}

export function describeLogPoint(point: LogPoint): string {
  return point.kind === 'position' ? `position ${point.position.toString()}` : `time ${point.time.toISOString()}`;
}

/** A positive whole number option (`--batch-size`, `--max-diffs`). */
export function parsePositiveInteger(value: string, option: string, max = 1_000_000): number {
  if (!/^[1-9][0-9]*$/.test(value) || Number(value) > max) {
    throw usageError(`${option}: expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
