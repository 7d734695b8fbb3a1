import type { RecordedEvent } from '@ledger/event-store';
import { failpoint } from '@ledger/platform';
import { compareAndSetCheckpoint } from './checkpoints';
import type { Projection, ProjectionReport, ProjectionTransaction } from './projection';
import { qualified, type ReadModelTable } from './schema';
import { inTransaction, type SqlSession } from './sql';

/** Which physical tables a batch writes: the live ones, or a rebuild's shadow tables. */
export interface TableSet {
  /** The physical (unqualified) table name for a logical one. */
  tableName(table: ReadModelTable): string;
  /** The checkpoint key that tracks a projection's progress into this set of tables. */
  checkpointName(projection: string): string;
}

export const LIVE_TABLES: TableSet = {
  tableName: (table) => table,
  checkpointName: (projection) => projection,
};

export interface BatchOutcome {
  /** Each projection's checkpoint after the batch (unchanged for projections that were ahead of it). */
  checkpoints: Map<string, bigint>;
  /** Events handed to each projection. */
  eventsApplied: Map<string, number>;
  /** Seconds each projection's `apply` took. */
  applySeconds: Map<string, number>;
  illegalTransitions: Map<string, number>;
}

export interface CommitBatchOptions {
  /** The session to write on; the projector passes the one that holds its leadership lock. */
  session: SqlSession;
  projections: readonly Projection[];
  /** Events in strictly increasing global position. */
  batch: readonly RecordedEvent[];
  /** Where each projection's checkpoint is expected to be now, by projection name. */
  checkpoints: ReadonlyMap<string, bigint>;
  tables?: TableSet;
  /** SET LOCAL statements for the transaction (a rebuild relaxes synchronous_commit). */
  settings?: readonly string[];
}

/**
 * Applies one batch to every projection and moves their checkpoints, in ONE transaction:
 *
 *   BEGIN
 *   for each projection behind the batch's end:
 *     UPDATE checkpoint SET position = <batch end> WHERE position = <expected>   (0 rows: throw)
 *   for each of them: apply(the events after its checkpoint)
 *   COMMIT
 *
 * The compare-and-set runs before the writes. It checks the same thing a CAS at the end
 * would (the transaction commits all or nothing), and it takes the checkpoint row lock
 * first: a second writer then blocks on that row before touching any read-model table and
 * fails its compare once the first commits, and a rebuild's swap, which also locks the row
 * before the tables, cannot deadlock with a batch. Any error rolls everything back.
 */
export async function commitBatch(options: CommitBatchOptions): Promise<BatchOutcome> {
  if (!isDue(options)) return emptyOutcome(options.checkpoints);
  return inTransaction(options.session, async () => {
    for (const setting of options.settings ?? []) await options.session.query(setting);
    const outcome = await applyBatch(options);
    // A test SIGKILLs the process here: everything is written and nothing is committed.
    failpoint('projector.after-apply-before-commit');
    return outcome;
  });
}

/**
 * The body of `commitBatch` for a caller that already holds a transaction open on the
 * session (a rebuild's swap catches its shadow tables up inside the swap's transaction).
 */
export async function applyBatch(options: CommitBatchOptions): Promise<BatchOutcome> {
  const { session, projections, batch, checkpoints } = options;
  const tables = options.tables ?? LIVE_TABLES;
  const outcome = emptyOutcome(checkpoints);
  if (batch.length === 0) return outcome;
  const end = batch[batch.length - 1]!.globalPosition;
  const due = projections.filter((projection) => (checkpoints.get(projection.name) ?? 0n) < end);
  const tx: ProjectionTransaction = {
    query: (sql, params) => session.query(sql, params),
    table: (table) => qualified(tables.tableName(table)),
  };
  // Checkpoint rows are locked in name order, the order a rebuild's swap locks them too.
  const byCheckpointName = [...due].sort((a, b) => compareText(tables.checkpointName(a.name), tables.checkpointName(b.name)));
  for (const projection of byCheckpointName) {
    const expected = checkpoints.get(projection.name) ?? 0n;
    await compareAndSetCheckpoint(session, tables.checkpointName(projection.name), expected, end);
  }
  for (const projection of due) {
    const after = checkpoints.get(projection.name) ?? 0n;
    const events = after < batch[0]!.globalPosition ? batch : batch.filter((event) => event.globalPosition > after);
    const started = process.hrtime.bigint();
    const report: ProjectionReport | void = await projection.apply(events, tx);
    outcome.applySeconds.set(projection.name, Number(process.hrtime.bigint() - started) / 1e9);
    outcome.eventsApplied.set(projection.name, events.length);
    outcome.illegalTransitions.set(projection.name, report?.illegalTransitions ?? 0);
    outcome.checkpoints.set(projection.name, end);
  }
  return outcome;
}

function isDue(options: CommitBatchOptions): boolean {
  const last = options.batch[options.batch.length - 1];
  if (last === undefined) return false;
  return options.projections.some((projection) => (options.checkpoints.get(projection.name) ?? 0n) < last.globalPosition);
}

function emptyOutcome(checkpoints: ReadonlyMap<string, bigint>): BatchOutcome {
  return {
    checkpoints: new Map(checkpoints),
    eventsApplied: new Map(),
    applySeconds: new Map(),
    illegalTransitions: new Map(),
  };
}

/** Byte order, as PostgreSQL's "C" collation sorts the same ASCII names in the swap's ORDER BY. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
