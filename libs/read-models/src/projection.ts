import type { RecordedEvent } from '@ledger/event-store';
import type { ReadModelTable } from './schema';
import type { SqlSession } from './sql';

/**
 * What a projection writes with: the batch's transaction, and the names of the tables it
 * writes. A live batch gets `read_models.<table>`; a rebuild gets the shadow tables
 * `read_models.<table>__rebuild`, so the same code fills both.
 */
export interface ProjectionTransaction extends SqlSession {
  /** The schema-qualified name to write for one of the projection's tables. */
  table(name: ReadModelTable): string;
}

/** What a projection noticed in a batch besides its writes, for metrics and alerts. */
export interface ProjectionReport {
  /** Events that contradict the withdrawal state machine: recorded with applied = false, to be raised. */
  illegalTransitions?: number;
}

/**
 * A read-model projection: a plain class that folds a batch of events, in global order, into
 * its tables. `apply` works out the batch's net effect in memory and writes it with a few
 * multi-row statements; it never commits (the projector does, together with the checkpoint)
 * and never reads a clock (rows carry event times, so a rebuild is byte-identical).
 *
 * `apply` may receive events of any type, including types it does not know; it skips those.
 * It receives only events after its checkpoint, each exactly once per committed batch.
 */
export interface Projection {
  /** Stable name: the checkpoint's key and the advisory lock's. */
  readonly name: string;
  /** The tables the projection owns; a rebuild replaces exactly these. */
  readonly tables: readonly ReadModelTable[];
  apply(batch: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<ProjectionReport | void>;
}
