import type { ReadModelTable } from '@ledger/read-models';

/**
 * Read-model rows as verify compares them: every value as text (or null), produced the same
 * way on both sides, so one string comparison says equal or not:
 *
 * - `bigint`/`int` columns as their decimal digits (`::text` in SQL, `toString()` here): an
 *   amount is compared digit for digit, never through a double;
 * - booleans as `true`/`false`; uuids in PostgreSQL's lower-case form;
 * - `text[]` joined with commas (statuses never contain one); dates as `YYYY-MM-DD`;
 * - timestamps as microseconds since the epoch, PostgreSQL's own resolution: event times in
 *   data may carry up to nine fraction digits, which PostgreSQL rounds to six on the way
 *   in, and `microsOfIso` rounds the same way. Differences show them as ISO-8601 again.
 */
export type RowValues = Readonly<Record<string, string | null>>;

export type ColumnKind = 'text' | 'number' | 'boolean' | 'timestamp' | 'date' | 'text_array';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
}

export interface TableSpec {
  readonly table: ReadModelTable;
  /** The projection whose checkpoint the table is compared at. */
  readonly projection: string;
  readonly key: readonly ColumnSpec[];
  readonly columns: readonly ColumnSpec[];
  /** For the append-only tables: the key column that orders the rows in the log. */
  readonly positionColumn?: string;
}

const text = (name: string): ColumnSpec => ({ name, kind: 'text' });
const number = (name: string): ColumnSpec => ({ name, kind: 'number' });
const boolean = (name: string): ColumnSpec => ({ name, kind: 'boolean' });
const timestamp = (name: string): ColumnSpec => ({ name, kind: 'timestamp' });
const date = (name: string): ColumnSpec => ({ name, kind: 'date' });

export const TABLE_SPECS = {
  account_balances: {
    table: 'account_balances',
    projection: 'balances',
    key: [text('account_id')],
    columns: [
      text('owner_id'),
      text('currency'),
      number('available'),
      number('pending'),
      boolean('frozen'),
      timestamp('opened_at'),
      number('position'),
      timestamp('updated_at'),
    ],
  },
  journal_entries: {
    table: 'journal_entries',
    projection: 'journal',
    key: [number('position'), number('posting_index')],
    positionColumn: 'position',
    columns: [
      text('stream_name'),
      text('event_type'),
      text('event_id'),
      text('ledger_account'),
      text('account_id'),
      text('side'),
      number('amount'),
      text('currency'),
      timestamp('recorded_at'),
    ],
  },
  withdrawals: {
    table: 'withdrawals',
    projection: 'withdrawals',
    key: [text('withdrawal_id')],
    columns: [
      text('account_id'),
      number('amount'),
      text('currency'),
      text('status'),
      text('channel'),
      text('provider_reference'),
      number('attempt'),
      timestamp('requested_at'),
      timestamp('updated_at'),
      number('position'),
      { name: 'statuses_visited', kind: 'text_array' },
    ],
  },
  withdrawal_status_history: {
    table: 'withdrawal_status_history',
    projection: 'withdrawals',
    key: [number('position'), text('withdrawal_id')],
    positionColumn: 'position',
    columns: [text('event_type'), text('from_status'), text('to_status'), boolean('applied'), text('note'), timestamp('recorded_at')],
  },
  review_queue: {
    table: 'review_queue',
    projection: 'withdrawals',
    key: [text('withdrawal_id')],
    columns: [
      text('reason'),
      text('from_status'),
      timestamp('requested_at'),
      text('requested_by'),
      timestamp('resolved_at'),
      text('decision'),
      text('resolved_by'),
      text('resolution_reason'),
      number('position'),
    ],
  },
  reconciliation_statements: {
    table: 'reconciliation_statements',
    projection: 'reconciliation',
    key: [text('channel'), date('statement_date'), text('statement_id')],
    columns: [
      number('item_count'),
      number('matched_count'),
      number('discrepancy_count'),
      text('supersedes'),
      text('superseded_by'),
      timestamp('superseded_at'),
      timestamp('imported_at'),
      text('imported_by'),
      number('position'),
    ],
  },
  reconciliation_items: {
    table: 'reconciliation_items',
    projection: 'reconciliation',
    key: [text('channel'), date('statement_date'), text('finding_id')],
    columns: [
      text('statement_id'),
      text('outcome'),
      text('item_id'),
      text('discrepancy_id'),
      number('line'),
      text('withdrawal_id'),
      text('provider_reference'),
      number('amount_statement'),
      number('amount_ledger'),
      text('currency'),
      text('currency_ledger'),
      text('status_statement'),
      text('status_ledger'),
      text('note'),
      timestamp('found_at'),
      text('review_state'),
      timestamp('resolved_at'),
      text('resolved_by'),
      text('resolution'),
      number('position'),
    ],
  },
} as const satisfies Record<string, TableSpec>;

export type VerifiedTable = keyof typeof TABLE_SPECS;

/** The SQL expression that yields a column as verify's text form. */
export function columnSql(column: ColumnSpec): string {
  const name = `t."${column.name}"`;
  switch (column.kind) {
    case 'text':
      return `${name}::text`;
    case 'number':
    case 'boolean':
      return `${name}::text`;
    case 'text_array':
      return `array_to_string(${name}, ',', '<null>')`;
    case 'date':
      return `to_char(${name}, 'YYYY-MM-DD')`;
    case 'timestamp':
      // Whole seconds of the epoch (exact in any PostgreSQL version's double) times a million,
      // plus the microseconds of the second: exact, unlike epoch * 1e6 in floating point.
      return `(extract(epoch from date_trunc('second', ${name}))::bigint * 1000000 + (extract(microseconds from ${name})::bigint % 1000000))::text`;
  }
}

/** A JavaScript Date (the store's `recordedAt`, milliseconds) as epoch microseconds. */
export function microsOfDate(date: Date): string {
  return (BigInt(date.getTime()) * 1_000n).toString();
}

const ISO_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z$/;

/**
 * An ISO-8601 UTC time from event data as epoch microseconds, rounded as PostgreSQL rounds
 * a longer fraction on input (to the nearest microsecond, ties to even). Null for text that
 * is not such a time; the caller compares it as text then, and the difference shows.
 */
export function microsOfIso(iso: string): string | null {
  const match = ISO_PATTERN.exec(iso);
  if (match === null) return null;
  const [, year, month, day, hours, minutes, seconds, fraction = ''] = match;
  const wholeMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds));
  if (Number.isNaN(wholeMs)) return null;
  const digits = fraction.padEnd(9, '0');
  let micros = BigInt(digits.slice(0, 6));
  const rest = Number(digits.slice(6));
  if (rest > 500 || (rest === 500 && micros % 2n === 1n)) micros += 1n;
  return (BigInt(wholeMs) * 1_000n + micros).toString();
}

/** Epoch microseconds as ISO-8601 with six fraction digits, for people reading a difference. */
export function isoOfMicros(micros: string): string {
  if (!/^-?[0-9]+$/.test(micros)) return micros;
  const value = BigInt(micros);
  const ms = value / 1_000n - (value < 0n && value % 1_000n !== 0n ? 1n : 0n);
  const iso = new Date(Number(ms)).toISOString();
  const extra = (((value % 1_000n) + 1_000n) % 1_000n).toString().padStart(3, '0');
  return `${iso.slice(0, -1)}${extra}Z`;
}

/** How a value is shown in a difference. */
export function display(column: ColumnSpec, value: string | null): string {
  if (value === null) return 'null';
  return column.kind === 'timestamp' ? isoOfMicros(value) : value;
}

export function keyOf(spec: TableSpec, row: RowValues): string {
  return spec.key.map((column) => row[column.name] ?? '').join('\u0000');
}

export function describeKey(spec: TableSpec, row: RowValues): string {
  return spec.key.map((column) => `${column.name}=${row[column.name] ?? 'null'}`).join(' ');
}
