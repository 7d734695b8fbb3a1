import { PostgresEventStore, type EventStore } from '@ledger/event-store';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import type { DataSource } from 'typeorm';
import { createReadModelsDataSource, migrateReadModels } from '../data-source';
import type { Projection } from '../projection';
import { createProjections } from '../projections';
import { Projector, type ProjectorOptions } from '../projector';
import { qualified } from '../schema';

/** Test-only helpers around a real PostgreSQL; not exported from the library's index. */

export interface ReadModelDatabase {
  database: TestDatabase;
  dataSource: DataSource;
  close(): Promise<void>;
}

/** A fresh database with the read-model schema migrated. */
export async function openReadModelDatabase(prefix = 'read_models'): Promise<ReadModelDatabase> {
  const database = await createTestDatabase(prefix);
  const dataSource = createReadModelsDataSource(database.url, { poolSize: 6, applicationName: 'read-models-test' });
  await migrateReadModels(dataSource);
  return {
    database,
    dataSource,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await database.drop();
    },
  };
}

export interface LedgerDatabase extends ReadModelDatabase {
  store: PostgresEventStore;
}

/** A fresh database holding both the event store and the read models, as in production. */
export async function openLedgerDatabase(prefix = 'read_models'): Promise<LedgerDatabase> {
  const readModels = await openReadModelDatabase(prefix);
  const store = await PostgresEventStore.create({ connectionString: readModels.database.url, poolSize: 8 });
  return {
    ...readModels,
    store,
    async close() {
      await store.close();
      await readModels.close();
    },
  };
}

/** Primary-key order of every read-model table: the order a byte-for-byte comparison reads them in. */
export const TABLE_ORDER: Readonly<Record<string, string>> = {
  account_balances: 'account_id',
  journal_entries: 'position, posting_index',
  withdrawals: 'withdrawal_id',
  withdrawal_status_history: 'withdrawal_id, position',
  review_queue: 'withdrawal_id',
  reconciliation_statements: 'channel, statement_date, statement_id',
  reconciliation_items: 'channel, statement_date, finding_id',
};

/**
 * Every read-model row as PostgreSQL's text form of the whole row, in primary-key order,
 * plus each projection's checkpoint position (its `updated_at` is commit time, the one
 * value that legitimately differs between two runs).
 */
export async function dumpReadModels(dataSource: DataSource): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const [table, order] of Object.entries(TABLE_ORDER)) {
    const rows = (await dataSource.query(`select t::text as row from ${qualified(table)} t order by ${order}`)) as Array<{ row: string }>;
    dump[table] = rows.map((row) => row.row);
  }
  const checkpoints = (await dataSource.query(
    `select projection || '=' || position as row from ${qualified('projection_checkpoints')} order by projection`,
  )) as Array<{ row: string }>;
  dump.projection_checkpoints = checkpoints.map((row) => row.row);
  return dump;
}

/** Runs a projector over `store` into `dataSource` until it has committed the log's head, then stops it. */
export async function projectToHead(
  store: EventStore,
  dataSource: DataSource,
  options: Partial<Omit<ProjectorOptions, 'store' | 'dataSource'>> & { projections?: readonly Projection[] } = {},
): Promise<Projector> {
  const projector = new Projector({ store, dataSource, projections: options.projections ?? createProjections(), ...options });
  await projector.start();
  try {
    await projector.waitFor(undefined, 60_000);
  } finally {
    await projector.stop();
  }
  return projector;
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}
