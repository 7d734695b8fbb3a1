import { PostgresEventStore } from '@ledger/event-store';
import { createProjections, createReadModelsDataSource, migrateReadModels, Projector, qualified } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { positionAtTime } from '../cli/log-position';
import { LedgerScenario, seededRandom } from '../testing/ledger-scenario';
import { columnSql, isoOfMicros, microsOfIso } from './rows';
import { verifyLedger } from './verify-ledger';

/**
 * `verifyLedger` in process, against a real PostgreSQL: the cases the CLI's process test does
 * not reach (a projection behind the head, rows beyond a checkpoint, a flood of differences)
 * and the one place where verify must agree with PostgreSQL's arithmetic, timestamps.
 */
describe('verifyLedger', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  let dataSource: DataSource;
  let pool: Pool;

  const verify = (maxFindings?: number) => verifyLedger({ store, pool, densePositions: true, maxFindings, pageSize: 37 });

  async function project(): Promise<void> {
    const projector = new Projector({ store, dataSource, projections: createProjections(), batchSize: 23 });
    await projector.start();
    await projector.waitFor(await store.headPosition());
    await projector.stop();
  }

  beforeAll(async () => {
    database = await createTestDatabase('ledger_cli_verify');
    store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 3 });
    dataSource = createReadModelsDataSource(database.url, { poolSize: 3 });
    await migrateReadModels(dataSource);
    pool = new Pool({ connectionString: database.url, max: 2 });
    const scenario = new LedgerScenario(store, seededRandom(7), 'int');
    await scenario.open();
    await scenario.run(25);
    await project();
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await store?.close();
    await database?.drop();
  });

  it('rounds a business time as PostgreSQL stores it, to the microsecond', async () => {
    const samples = [
      '2026-11-23T08:59:59.123456789Z',
      '2026-11-23T08:59:59.1234565Z',
      '2026-11-23T08:59:59.1234575Z',
      '2026-11-23T23:59:59.9999996Z',
      '2026-11-23T10:00:00Z',
      '2026-11-23T10:00:00.5Z',
    ];
    for (const sample of samples) {
      const { rows } = await pool.query<{ micros: string }>(
        `select ${columnSql({ name: 'at', kind: 'timestamp' })} as micros from (select $1::timestamptz as at) t`,
        [sample],
      );
      expect([sample, microsOfIso(sample)]).toEqual([sample, rows[0]!.micros]);
    }
    expect(isoOfMicros(microsOfIso('2026-11-23T23:59:59.9999996Z')!)).toBe('2026-11-24T00:00:00.000000Z');
  });

  it('passes on a projected ledger and compares a projection that is behind at its checkpoint', async () => {
    expect((await verify()).ok).toBe(true);
    const before = await store.headPosition();
    const scenario = new LedgerScenario(store, seededRandom(8), 'late');
    await scenario.open();
    await scenario.run(3);
    const report = await verify();
    expect(report.ok).toBe(true);
    expect(report.head).toBe(await store.headPosition());
    expect(report.compared.map((compared) => [compared.projection, compared.checkpoint, compared.behind])).toEqual(
      report.compared.map((compared) => [compared.projection, before, report.head - before]),
    );
    await project();
    expect((await verify()).compared.every((compared) => compared.behind === 0n)).toBe(true);
  });

  it('reports a row beyond the checkpoint, and counts every difference while listing the first ones', async () => {
    const [checkpoint] = (await pool.query<{ position: string }>(`select position::text from ${qualified('projection_checkpoints')} where projection = 'journal'`)).rows;
    const beyond = (BigInt(checkpoint!.position) + 5n).toString();
    await pool.query(
      `insert into ${qualified('journal_entries')} (position, posting_index, stream_name, event_type, event_id, ledger_account, account_id, side, amount, currency, recorded_at)
       values ($1, 0, 'account-x', 'FundsDeposited', gen_random_uuid(), 'external:deposits', null, 'debit', 1, 'EUR', now())`,
      [beyond],
    );
    try {
      const report = await verify();
      expect(report.differences).toEqual([
        expect.objectContaining({ table: 'journal_entries', key: `position=${beyond} posting_index=0`, column: '(row)', expected: `no row beyond the checkpoint ${checkpoint!.position}` }),
      ]);
    } finally {
      await pool.query(`delete from ${qualified('journal_entries')} where position = $1`, [beyond]);
    }

    const { rowCount } = await pool.query(`update ${qualified('withdrawals')} set attempt = attempt + 1`);
    try {
      const report = await verify(5);
      expect(report.ok).toBe(false);
      expect(report.differenceCount).toBe(rowCount);
      expect(report.differences).toHaveLength(5);
      expect(report.differences.every((difference) => difference.table === 'withdrawals' && difference.column === 'attempt')).toBe(true);
    } finally {
      await pool.query(`update ${qualified('withdrawals')} set attempt = attempt - 1`);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('finds the last position recorded at or before a time', async () => {
    const events = await store.readAll('start', 1_000);
    const middle = events[Math.floor(events.length / 2)]!;
    const at = await positionAtTime(store, middle.recordedAt);
    expect(at).toBe(events.filter((event) => event.recordedAt.getTime() <= middle.recordedAt.getTime()).at(-1)!.globalPosition);
    expect(await positionAtTime(store, new Date(events[0]!.recordedAt.getTime() - 1))).toBe(0n);
    expect(await positionAtTime(store, new Date(Date.now() + 60_000))).toBe(await store.headPosition());
  });
});
