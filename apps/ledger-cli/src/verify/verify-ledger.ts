import type { EventStore } from '@ledger/event-store';
import { PROJECTION_NAMES, REBUILD_SUFFIX } from '@ledger/read-models';
import type { Pool } from 'pg';
import { CliError, EXIT } from '../cli/cli-error';
import { readLog } from '../cli/log-position';
import { InvariantChecker, type Violation } from './invariant-checker';
import { ReadModelModel } from './read-model-model';
import { ReadModelSnapshot } from './read-model-snapshot';
import { TABLE_SPECS, type RowValues, type TableSpec } from './rows';
import { AppendOnlyComparison, Capped, compareStateTable, type Difference } from './table-comparison';

export interface VerifyOptions {
  store: EventStore;
  pool: Pool;
  /** True on the PostgreSQL event store, whose positions have no gaps (E3). */
  densePositions: boolean;
  /** Differences and violations kept for the report (all are counted). */
  maxFindings?: number;
  pageSize?: number;
  signal?: AbortSignal;
  onProgress?: (position: bigint, events: number, head: bigint) => void;
}

export interface ComparedProjection {
  projection: string;
  checkpoint: bigint;
  /** Events between the checkpoint and the head: checked against the invariants, not compared. */
  behind: bigint;
  tables: Array<{ table: string; rows: number }>;
}

export interface VerifyReport {
  ok: boolean;
  /** The log's head when verify began: the replay's end. */
  head: bigint;
  events: number;
  accounts: number;
  withdrawals: number;
  /** Per currency, the sum over all ledger accounts at the head (0 when M2 holds). */
  ledgerSums: Record<string, bigint>;
  compared: ComparedProjection[];
  skipped: Array<{ subject: string; reason: string }>;
  notes: string[];
  differences: Difference[];
  differenceCount: number;
  violations: Violation[];
  violationCount: number;
}

/** The projections verify can recompute, and the tables each one owns. */
const MODELLED: Readonly<Record<string, readonly TableSpec[]>> = {
  balances: [TABLE_SPECS.account_balances],
  journal: [TABLE_SPECS.journal_entries],
  withdrawals: [TABLE_SPECS.withdrawals, TABLE_SPECS.withdrawal_status_history, TABLE_SPECS.review_queue],
  reconciliation: [TABLE_SPECS.reconciliation_statements, TABLE_SPECS.reconciliation_items],
};

function stateRows(model: ReadModelModel, table: string): Map<string, RowValues> {
  switch (table) {
    case 'account_balances':
      return model.balanceRows();
    case 'withdrawals':
      return model.withdrawalRows();
    case 'review_queue':
      return model.reviewRows();
    case 'reconciliation_statements':
      return model.statementRows();
    case 'reconciliation_items':
      return model.reconciliationItemRows();
    default:
      throw new Error(`verify has no state rows for ${table}`);
  }
}

/**
 * `ledger verify`: replays every event of the log once, in pages, and
 *
 * 1. checks the invariants after every event (`InvariantChecker`), up to the head as it
 *    was when verify began;
 * 2. recomputes the read models in memory (`ReadModelModel`) and compares them row by row,
 *    column by column, with PostgreSQL, each projection at its own checkpoint.
 *
 * Why at the checkpoint, rather than waiting for the projections to reach the head: on a
 * live system the head moves on while anyone waits, so "caught up" is a race that a busy
 * ledger never lets verify win, and a stopped projector would make it wait forever. A
 * projection's checkpoint, read in the same snapshot as its tables, says exactly which
 * events those tables contain (P1), so the comparison is exact at any moment, with the
 * projector running or not. The events after a checkpoint are still checked against the
 * invariants; the report says how far each projection is behind. To compare everything
 * up to the head, run it when the projector has caught up (docs/operations.md).
 */
export async function verifyLedger(options: VerifyOptions): Promise<VerifyReport> {
  const differences = new Capped<Difference>(options.maxFindings ?? 100);
  const violations = new Capped<Violation>(options.maxFindings ?? 100);
  const skipped: VerifyReport['skipped'] = [];
  const notes: string[] = [];
  const snapshot = await ReadModelSnapshot.open(options.pool);
  try {
    const checkpoints = await snapshot.checkpoints();
    // Read after the snapshot began, so every checkpoint in it is at or below this head.
    const storeHead = await options.store.headPosition();
    const head = storeHead < 0n ? 0n : storeHead;

    for (const name of PROJECTION_NAMES) {
      if (!(name in MODELLED)) skipped.push({ subject: `projection ${name}`, reason: 'verify has no in-memory model of it yet' });
      if (checkpoints.has(`${name}${REBUILD_SUFFIX}`)) {
        notes.push(`a rebuild of ${name} is running or was interrupted (its shadow checkpoint is at ${checkpoints.get(`${name}${REBUILD_SUFFIX}`)!.toString()}); the live tables are compared`);
      }
    }

    // Each modelled projection: where it is compared, and its tables' cursors.
    const plans: Array<{ projection: string; checkpoint: bigint; specs: TableSpec[]; compared: ComparedProjection; done: boolean }> = [];
    for (const [projection, specs] of Object.entries(MODELLED)) {
      if (!(PROJECTION_NAMES as readonly string[]).includes(projection)) continue;
      let checkpoint = checkpoints.get(projection) ?? 0n;
      if (checkpoint > head) {
        differences.add({
          table: 'projection_checkpoints',
          key: `projection=${projection}`,
          column: 'position',
          expected: `at most the head, ${head.toString()}`,
          actual: checkpoint.toString(),
        });
        checkpoint = head;
      }
      const present: TableSpec[] = [];
      for (const spec of specs) {
        if (await snapshot.tableExists(spec.table)) {
          present.push(spec);
        } else {
          differences.add({ table: spec.table, key: '(table)', column: '(table)', expected: 'the table', actual: 'missing: the read models were never migrated here' });
        }
      }
      plans.push({
        projection,
        checkpoint,
        specs: present,
        compared: { projection, checkpoint, behind: head - checkpoint, tables: [] },
        done: false,
      });
    }
    const planOf = (projection: string) => plans.find((plan) => plan.projection === projection);
    const appendOnly = (projection: string, table: 'journal_entries' | 'withdrawal_status_history') => {
      const plan = planOf(projection);
      const spec = plan?.specs.find((candidate) => candidate.table === table);
      return plan === undefined || spec === undefined
        ? null
        : { plan, comparison: new AppendOnlyComparison(spec as TableSpec & { positionColumn: string }, snapshot.cursor(spec), differences) };
    };
    const journal = appendOnly('journal', 'journal_entries');
    const history = appendOnly('withdrawals', 'withdrawal_status_history');

    const model = new ReadModelModel();
    const checker = new InvariantChecker((violation) => violations.add(violation), { densePositions: options.densePositions });

    /** Compares a projection's state tables when the replay stands at its checkpoint. */
    const compareStateTables = async (plan: (typeof plans)[number]) => {
      plan.done = true;
      for (const spec of plan.specs) {
        if (spec.positionColumn !== undefined) continue;
        const expected = stateRows(model, spec.table);
        const rows = await compareStateTable(spec, expected, snapshot.cursor(spec), differences);
        plan.compared.tables.push({ table: spec.table, rows });
      }
    };

    let events = 0;
    for await (const page of readLog(options.store, { after: 0n, until: head, pageSize: options.pageSize, signal: options.signal })) {
      for (const recorded of page) {
        for (const plan of plans) if (!plan.done && recorded.globalPosition > plan.checkpoint) await compareStateTables(plan);
        const step = model.apply(recorded);
        checker.check(recorded, step.findings);
        if (journal !== null && recorded.globalPosition <= journal.plan.checkpoint && step.journal.length > 0) {
          await journal.comparison.match(recorded.globalPosition, step.journal);
        }
        if (history !== null && recorded.globalPosition <= history.plan.checkpoint && step.history.length > 0) {
          await history.comparison.match(recorded.globalPosition, step.history);
        }
        events += 1;
      }
      options.onProgress?.(page[page.length - 1]!.globalPosition, events, head);
    }
    if (options.signal?.aborted) throw new CliError('verify interrupted', EXIT.interrupted);
    for (const plan of plans) if (!plan.done) await compareStateTables(plan);
    for (const append of [journal, history]) {
      if (append === null) continue;
      await append.comparison.finish(append.plan.checkpoint);
      append.plan.compared.tables.push({ table: append.comparison === journal?.comparison ? 'journal_entries' : 'withdrawal_status_history', rows: append.comparison.rows });
    }
    const sums = checker.finish();

    return {
      ok: differences.count === 0 && violations.count === 0,
      head,
      events,
      accounts: checker.accountsSeen,
      withdrawals: checker.withdrawalsSeen,
      ledgerSums: Object.fromEntries([...sums].sort(([a], [b]) => a.localeCompare(b))),
      compared: plans.map((plan) => plan.compared),
      skipped,
      notes,
      differences: differences.items,
      differenceCount: differences.count,
      violations: violations.items,
      violationCount: violations.count,
    };
  } finally {
    await snapshot.close();
  }
}
