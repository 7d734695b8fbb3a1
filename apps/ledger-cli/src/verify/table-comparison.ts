import type { RowCursor } from './read-model-snapshot';
import { describeKey, display, keyOf, type RowValues, type TableSpec } from './rows';

/** One cell (or one whole row) where PostgreSQL differs from the replay. */
export interface Difference {
  readonly table: string;
  /** The row's key as `column=value` pairs: what to look up or fix. */
  readonly key: string;
  /** The column, or `(row)` when the whole row is missing or unexpected. */
  readonly column: string;
  /** What the replay of the log says (for a missing row: its values). */
  readonly expected: string;
  /** What PostgreSQL holds (for an unexpected row: its values). */
  readonly actual: string;
}

/**
 * Keeps the first `limit` findings and counts all of them: a truncated table would otherwise
 * print a million lines, while the first hundred say what happened and the count says how
 * far it goes.
 */
export class Capped<T> {
  readonly items: T[] = [];
  count = 0;

  constructor(private readonly limit: number) {}

  add(item: T): void {
    this.count += 1;
    if (this.items.length < this.limit) this.items.push(item);
  }
}

export type Differences = Capped<Difference>;

export function compareRows(spec: TableSpec, expected: RowValues, actual: RowValues, differences: Differences): void {
  for (const column of spec.columns) {
    const wanted = expected[column.name] ?? null;
    const found = actual[column.name] ?? null;
    if (wanted !== found) {
      differences.add({
        table: spec.table,
        key: describeKey(spec, expected),
        column: column.name,
        expected: display(column, wanted),
        actual: display(column, found),
      });
    }
  }
}

export function missingRow(spec: TableSpec, expected: RowValues, differences: Differences): void {
  differences.add({ table: spec.table, key: describeKey(spec, expected), column: '(row)', expected: summary(spec, expected), actual: 'missing' });
}

export function unexpectedRow(spec: TableSpec, actual: RowValues, differences: Differences, why = 'no such row'): void {
  differences.add({ table: spec.table, key: describeKey(spec, actual), column: '(row)', expected: why, actual: summary(spec, actual) });
}

/**
 * Compares a table of current state (one row per account, withdrawal or review) with the
 * replay's rows at the projection's checkpoint. The table is streamed; only the replay's
 * rows (already in memory) and the keys seen are held.
 */
export async function compareStateTable(
  spec: TableSpec,
  expectedRows: ReadonlyMap<string, RowValues>,
  cursor: RowCursor,
  differences: Differences,
): Promise<number> {
  const expectedByKey = new Map<string, RowValues>();
  for (const row of expectedRows.values()) expectedByKey.set(keyOf(spec, row), row);
  const seen = new Set<string>();
  let rows = 0;
  for (let actual = await cursor.next(); actual !== undefined; actual = await cursor.next()) {
    rows += 1;
    const key = keyOf(spec, actual);
    const expected = expectedByKey.get(key);
    if (expected === undefined) {
      unexpectedRow(spec, actual, differences);
      continue;
    }
    seen.add(key);
    compareRows(spec, expected, actual, differences);
  }
  for (const [key, expected] of expectedByKey) if (!seen.has(key)) missingRow(spec, expected, differences);
  return rows;
}

/**
 * Compares an append-only table (journal entries, status history) with the rows the replay
 * produces, as the replay goes: both come in position order, so neither side is ever held
 * whole. Rows of one position are matched by their full key.
 */
export class AppendOnlyComparison {
  rows = 0;

  constructor(
    private readonly spec: TableSpec & { positionColumn: string },
    private readonly cursor: RowCursor,
    private readonly differences: Differences,
  ) {}

  /** The replay's rows of the event at `position`. */
  async match(position: bigint, expectedRows: readonly RowValues[]): Promise<void> {
    const actualRows: RowValues[] = [];
    for (let row = await this.cursor.peek(); row !== undefined; row = await this.cursor.peek()) {
      const rowPosition = BigInt(row[this.spec.positionColumn]!);
      if (rowPosition > position) break;
      await this.cursor.next();
      this.rows += 1;
      // A row at an earlier position was not claimed by that position's event: unexpected.
      if (rowPosition < position) unexpectedRow(this.spec, row, this.differences);
      else actualRows.push(row);
    }
    const actualByKey = new Map(actualRows.map((row) => [keyOf(this.spec, row), row]));
    for (const expected of expectedRows) {
      const key = keyOf(this.spec, expected);
      const actual = actualByKey.get(key);
      if (actual === undefined) {
        missingRow(this.spec, expected, this.differences);
        continue;
      }
      actualByKey.delete(key);
      compareRows(this.spec, expected, actual, this.differences);
    }
    for (const actual of actualByKey.values()) unexpectedRow(this.spec, actual, this.differences);
  }

  /** After the checkpoint: every row left is one the log does not explain. */
  async finish(checkpoint: bigint): Promise<void> {
    for (let row = await this.cursor.next(); row !== undefined; row = await this.cursor.next()) {
      this.rows += 1;
      const rowPosition = BigInt(row[this.spec.positionColumn]!);
      unexpectedRow(this.spec, row, this.differences, rowPosition > checkpoint ? `no row beyond the checkpoint ${checkpoint.toString()}` : 'no such row');
    }
  }
}

/** A row's non-key values, `column=value` joined, for a missing or unexpected row. */
function summary(spec: TableSpec, row: RowValues): string {
  return spec.columns.map((column) => `${column.name}=${display(column, row[column.name] ?? null)}`).join(', ');
}
