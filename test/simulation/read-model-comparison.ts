import { Client } from 'pg';
import type { EventStore } from '@ledger/event-store';
import { createReadModelsDataSource, migrateReadModels, PROJECTION_NAMES, qualified, READ_MODEL_TABLES } from '@ledger/read-models';
import { createTestDatabase } from '@ledger/test-support';
import { createProjector } from '../../apps/projector/src';
import type { CheckName, Findings } from './findings';
import type { LedgerReplay } from './ledger-replay';

/** Every read-model table as rows of text, sorted, and the projections' checkpoints. */
export type ReadModelDump = Record<string, string[]>;

/**
 * The read models as text, row for row. `t::text` renders every column the way PostgreSQL
 * stores it (timestamps at its precision, arrays, nulls), so two dumps are equal exactly
 * when the tables hold the same values; rows are sorted by that text, which orders them the
 * same way whatever order they were written in.
 */
export async function dumpReadModels(url: string): Promise<ReadModelDump> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const dump: ReadModelDump = {};
    for (const table of READ_MODEL_TABLES) {
      const { rows } = await client.query<{ row: string }>(`select t::text as row from ${qualified(table)} t order by 1`);
      dump[table] = rows.map((row) => row.row);
    }
    const { rows } = await client.query<{ row: string }>(
      `select projection || '=' || position as row from ${qualified('projection_checkpoints')}
        where projection = any($1::text[]) order by 1`,
      [[...PROJECTION_NAMES]],
    );
    dump.projection_checkpoints = rows.map((row) => row.row);
    return dump;
  } finally {
    await client.end();
  }
}

/**
 * The clean rebuild: the same log projected from position 0 into a database of its own by a
 * projector that never crashed, as `apps/projector/src/projector-crash.e2e.spec.ts` does.
 */
export async function cleanRebuild(store: EventStore, head: bigint): Promise<ReadModelDump> {
  const clean = await createTestDatabase('simulation_clean');
  try {
    const dataSource = createReadModelsDataSource(clean.url, { poolSize: 3, applicationName: 'sim-clean-rebuild' });
    await migrateReadModels(dataSource);
    const projector = createProjector({ store, dataSource, batchSize: 2_000 });
    await projector.start();
    try {
      await projector.waitFor(head, 120_000);
    } finally {
      await projector.stop();
      await dataSource.destroy();
    }
    return await dumpReadModels(clean.url);
  } finally {
    await clean.drop();
  }
}

/** Reports every row one dump has and the other has not, per table (a bounded sample). */
export function compareDumps(
  live: ReadModelDump,
  expected: ReadModelDump,
  findings: Findings,
  what: string,
  check: CheckName = 'read_models_equal_rebuild',
): void {
  for (const table of new Set([...Object.keys(live), ...Object.keys(expected)])) {
    const actualRows = new Set(live[table] ?? []);
    const expectedRows = new Set(expected[table] ?? []);
    const missing = [...expectedRows].filter((row) => !actualRows.has(row));
    const extra = [...actualRows].filter((row) => !expectedRows.has(row));
    if (missing.length === 0 && extra.length === 0 && (live[table]?.length ?? 0) === (expected[table]?.length ?? 0)) continue;
    findings.add(
      check,
      `${table} (${what})`,
      `${live[table]?.length ?? 0} rows live, ${expected[table]?.length ?? 0} expected; ` +
        `missing ${missing.length} [${missing.slice(0, 3).join(' | ')}], unexpected ${extra.length} [${extra.slice(0, 3).join(' | ')}]`,
    );
  }
}

/**
 * The read models against the independent replay, not only against the projector's own
 * code: balances equal the postings folded from the log, and each withdrawal's status is the
 * status the domain's decider reaches on its stream (or, with no stream yet, `requested`,
 * `reversed` once its hold was released, as the projection reports the account side).
 */
export async function compareWithReplay(url: string, replay: LedgerReplay, findings: Findings): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: balances } = await client.query<{ account_id: string; currency: string; available: string; pending: string }>(
      `select account_id, currency, available::text, pending::text from ${qualified('account_balances')}`,
    );
    const seen = new Set<string>();
    for (const row of balances) {
      seen.add(row.account_id);
      const available = replay.balance(`user:${row.account_id}:available`, row.currency);
      const pending = replay.balance(`user:${row.account_id}:pending`, row.currency);
      if (BigInt(row.available) !== available || BigInt(row.pending) !== pending) {
        findings.add(
          'read_models_equal_rebuild',
          `account_balances ${row.account_id}`,
          `read model says available ${row.available}, pending ${row.pending}; the log's postings say ${available.toString()}, ${pending.toString()}`,
        );
      }
    }
    for (const accountId of replay.accounts.keys()) {
      if (!seen.has(accountId)) findings.add('read_models_equal_rebuild', `account_balances ${accountId}`, 'no row for an opened account');
    }
    const { rows: withdrawals } = await client.query<{ withdrawal_id: string; status: string; amount: string }>(
      `select withdrawal_id, status, amount::text from ${qualified('withdrawals')}`,
    );
    const statuses = new Map(withdrawals.map((row) => [row.withdrawal_id, row]));
    for (const track of replay.withdrawals.values()) {
      const row = statuses.get(track.withdrawalId);
      if (row === undefined) {
        findings.add('read_models_equal_rebuild', `withdrawals ${track.withdrawalId}`, 'no row for a requested withdrawal');
        continue;
      }
      if (BigInt(row.amount) !== track.amount) {
        findings.add('read_models_equal_rebuild', `withdrawals ${track.withdrawalId}`, `amount ${row.amount}, the log says ${track.amount.toString()}`);
      }
      const resolvedOnAccount = track.reversed.length > 0 || track.returned.length > 0;
      const expected = resolvedOnAccount ? 'reversed' : track.state.status;
      if (row.status !== expected) {
        findings.add('read_models_equal_rebuild', `withdrawals ${track.withdrawalId}`, `status ${row.status}, the log says ${expected}`);
      }
    }
  } finally {
    await client.end();
  }
}
