import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { createReadModelsDataSource, migrateReadModels } from './data-source';
import { READ_MODEL_ENTITIES } from './entities';

/**
 * The schema is a contract with the read API: these are the table and column names and
 * types it codes against. A change here is a migration and a message to that team.
 */
const CONTRACT: Record<string, string[]> = {
  projection_checkpoints: ['projection text NO', 'position bigint NO', 'updated_at timestamp with time zone NO'],
  account_balances: [
    'account_id text NO',
    'owner_id text NO',
    'currency text NO',
    'available bigint NO',
    'pending bigint NO',
    'frozen boolean NO',
    'opened_at timestamp with time zone NO',
    'position bigint NO',
    'updated_at timestamp with time zone NO',
  ],
  journal_entries: [
    'position bigint NO',
    'posting_index integer NO',
    'stream_name text NO',
    'event_type text NO',
    'event_id uuid NO',
    'ledger_account text NO',
    'account_id text YES',
    'side text NO',
    'amount bigint NO',
    'currency text NO',
    'recorded_at timestamp with time zone NO',
  ],
  withdrawals: [
    'withdrawal_id text NO',
    'account_id text NO',
    'amount bigint NO',
    'currency text NO',
    'status text NO',
    'channel text YES',
    'provider_reference text YES',
    'attempt integer NO',
    'requested_at timestamp with time zone NO',
    'updated_at timestamp with time zone NO',
    'position bigint NO',
    'statuses_visited ARRAY NO',
  ],
  withdrawal_status_history: [
    'withdrawal_id text NO',
    'position bigint NO',
    'event_type text NO',
    'from_status text YES',
    'to_status text NO',
    'applied boolean NO',
    'note text YES',
    'recorded_at timestamp with time zone NO',
  ],
  review_queue: [
    'withdrawal_id text NO',
    'reason text NO',
    'from_status text NO',
    'requested_at timestamp with time zone NO',
    'requested_by text NO',
    'resolved_at timestamp with time zone YES',
    'decision text YES',
    'resolved_by text YES',
    'resolution_reason text YES',
    'position bigint NO',
  ],
  reconciliation_statements: [
    'channel text NO',
    'statement_date date NO',
    'statement_id text NO',
    'item_count integer NO',
    'matched_count integer NO',
    'discrepancy_count integer NO',
    'supersedes text YES',
    'superseded_by text YES',
    'superseded_at timestamp with time zone YES',
    'imported_at timestamp with time zone NO',
    'imported_by text NO',
    'position bigint NO',
  ],
  reconciliation_items: [
    'channel text NO',
    'statement_date date NO',
    'finding_id text NO',
    'statement_id text NO',
    'outcome text NO',
    'item_id text YES',
    'discrepancy_id text YES',
    'line integer YES',
    'withdrawal_id text YES',
    'provider_reference text YES',
    'amount_statement bigint YES',
    'amount_ledger bigint YES',
    'currency text YES',
    'currency_ledger text YES',
    'status_statement text YES',
    'status_ledger text YES',
    'note text YES',
    'found_at timestamp with time zone NO',
    'review_state text YES',
    'resolved_at timestamp with time zone YES',
    'resolved_by text YES',
    'resolution text YES',
    'position bigint NO',
  ],
};

describe('read-model migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('rm_migrations');
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('run once even when several processes start together, and create exactly the contracted schema', async () => {
    const sources = [0, 1, 2].map(() => createReadModelsDataSource(database.url, { poolSize: 2 }));
    try {
      await Promise.all(sources.map((source) => migrateReadModels(source)));
      await migrateReadModels(sources[0]!);
      const source = sources[0]!;
      expect(source.options.synchronize).toBe(false);
      const applied = (await source.query(`select name from read_models.migrations order by id`)) as Array<{ name: string }>;
      expect(applied.map((row) => row.name)).toEqual(['CreateReadModels1764000000000', 'CreateReconciliation1764100000000']);

      const columns = (await source.query(
        `select table_name, column_name || ' ' || data_type || ' ' || is_nullable as column
           from information_schema.columns where table_schema = 'read_models' and table_name <> 'migrations'
          order by table_name, ordinal_position`,
      )) as Array<{ table_name: string; column: string }>;
      const actual: Record<string, string[]> = {};
      for (const row of columns) (actual[row.table_name] ??= []).push(row.column);
      expect(actual).toEqual(CONTRACT);

      const indexes = (await source.query(
        `select indexname from pg_indexes where schemaname = 'read_models' and tablename <> 'migrations' order by 1`,
      )) as Array<{ indexname: string }>;
      expect(indexes.map((row) => row.indexname)).toEqual([
        'account_balances_pkey',
        'journal_entries_account_idx',
        'journal_entries_pkey',
        'projection_checkpoints_pkey',
        'reconciliation_items_discrepancies_idx',
        'reconciliation_items_open_idx',
        'reconciliation_items_pkey',
        'reconciliation_statements_current_idx',
        'reconciliation_statements_pkey',
        'review_queue_open_idx',
        'review_queue_pkey',
        'review_queue_requested_idx',
        'withdrawal_status_history_pkey',
        'withdrawals_account_idx',
        'withdrawals_pkey',
        'withdrawals_requested_idx',
        'withdrawals_status_idx',
      ]);
    } finally {
      await Promise.all(sources.map((source) => (source.isInitialized ? source.destroy() : undefined)));
    }
  });

  it('the entities map the migrated tables (TypeORM reads through them without synchronize)', async () => {
    const source = createReadModelsDataSource(database.url, { poolSize: 1 });
    await migrateReadModels(source);
    try {
      for (const entity of READ_MODEL_ENTITIES) {
        await expect(source.getRepository(entity).find({ take: 1 })).resolves.toEqual([]);
      }
    } finally {
      await source.destroy();
    }
  });
});
