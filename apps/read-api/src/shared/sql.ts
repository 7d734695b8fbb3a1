/** The PostgreSQL schema of the read models (libs/read-models owns its tables). */
export const READ_MODELS_SCHEMA = 'read_models';

/**
 * A timestamp as the JSON of our answers: UTC, millisecond precision, the exact format of
 * `Date.prototype.toISOString`. Formatted by the server so that a value nested in JSON
 * (status history) looks the same as one in a column.
 */
export function isoMillis(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * A timestamp at the full microsecond precision of `timestamptz`, for keyset cursors: a
 * cursor rounded to milliseconds would skip or repeat rows that differ below a millisecond.
 */
export function isoMicros(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
