import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresEventStore } from '@ledger/event-store';
import { createProjections, createReadModelsDataSource, migrateReadModels, Projector, PROJECTION_NAMES, qualified } from '@ledger/read-models';
import { resolveDiscrepancy } from '@ledger/reconciliation';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { compileCli, type CompiledCli } from './testing/compiled-cli';
import { LedgerScenario, seededRandom } from './testing/ledger-scenario';

const seed = Number(process.env.LEDGER_CLI_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(seed);

const TABLES: Readonly<Record<string, string>> = {
  account_balances: 'account_id',
  journal_entries: 'position, posting_index',
  withdrawals: 'withdrawal_id',
  withdrawal_status_history: 'withdrawal_id, position',
  review_queue: 'withdrawal_id',
  reconciliation_statements: 'channel, statement_date, statement_id',
  reconciliation_items: 'channel, statement_date, finding_id',
};

interface BalanceRow {
  account_id: string;
  available: string;
  pending: string;
  position: string;
}

/**
 * The compiled `ledger` CLI as a process, against a real PostgreSQL holding a ledger written
 * through the deciders and projected by the real projector: exit codes, output, and that
 * `verify` notices a read model that disagrees with the log.
 */
describe(`ledger CLI (seed ${seed})`, () => {
  let cli: CompiledCli;
  let database: TestDatabase;
  let store: PostgresEventStore;
  let dataSource: DataSource;
  let scenario: LedgerScenario;
  /** The read model's balances when every projection stood at `asOfPosition`, between the two halves of the seeding. */
  let asOfPosition: bigint;
  let asOfTime: string;
  let balancesAtPosition: BalanceRow[];
  const env = () => ({ DATABASE_URL: database.url, EVENTSTORE_URL: '', LOG_LEVEL: 'silent' });
  const ledger = (...args: string[]) => cli.run(args, env());

  async function sql<Row extends object>(text: string, params: unknown[] = []): Promise<Row[]> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query<Row>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Projects the log to its head with a projector of a random batch size, then stops it. */
  async function project(): Promise<bigint> {
    const projector = new Projector({ store, dataSource, projections: createProjections(), batchSize: 5 + Math.floor(random() * 60) });
    await projector.start();
    const head = await store.headPosition();
    await projector.waitFor(head);
    await projector.stop();
    return head;
  }

  /** Every read-model row as text, in key order. */
  async function dump(): Promise<Record<string, string[]>> {
    const result: Record<string, string[]> = {};
    for (const [table, order] of Object.entries(TABLES)) {
      result[table] = (await sql<{ row: string }>(`select t::text as row from ${qualified(table)} t order by ${order}`)).map((row) => row.row);
    }
    return result;
  }

  beforeAll(async () => {
    cli = compileCli();
    database = await createTestDatabase('ledger_cli');
    store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 4 });
    dataSource = createReadModelsDataSource(database.url, { poolSize: 3 });
    await migrateReadModels(dataSource);
    scenario = new LedgerScenario(store, random);
    await scenario.open();
    await scenario.run(30, { finish: false });
    asOfPosition = await project();
    const [last] = await store.readAll(asOfPosition - 1n, 1);
    asOfTime = last!.recordedAt.toISOString();
    balancesAtPosition = await sql<BalanceRow>(
      `select account_id, available::text, pending::text, position::text from ${qualified('account_balances')} order by account_id`,
    );
    // Later events must be recorded after the captured one's millisecond for the time lookup.
    await sleep(5);
    await scenario.run(30);
    await project();
  }, 180_000);

  afterAll(async () => {
    cli?.remove();
    if (dataSource?.isInitialized) await dataSource.destroy();
    await store?.close();
    await database?.drop();
  });

  it('verify passes on the clean system with exit code 0', async () => {
    const run = await ledger('verify');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('verify: OK');
    const json = await ledger('verify', '--json');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ ok: true, differenceCount: 0, violationCount: 0, head: (await store.headPosition()).toString() });
    expect(Object.values(report.ledgerSums)).toEqual(expect.arrayContaining(['0']));
    expect(report.compared.map((compared: { projection: string; behind: string }) => [compared.projection, compared.behind])).toEqual(
      PROJECTION_NAMES.map((name) => [name, '0']),
    );
    expect(report.skipped).toEqual([]);
  });

  describe('verify fails with exit code 1 and names the row when a read model is tampered with', () => {
    it('an UPDATEd balance', async () => {
      const [row] = await sql<BalanceRow>(`select account_id, available::text from ${qualified('account_balances')} order by account_id limit 1`);
      const tampered = (BigInt(row!.available) + 1n).toString();
      await sql(`update ${qualified('account_balances')} set available = $2 where account_id = $1`, [row!.account_id, tampered]);
      try {
        const run = await ledger('verify');
        expect(run.code).toBe(1);
        expect(run.stderr).toContain('verify found 1 difference(s)');
        expect(run.stdout).toMatch(new RegExp(`account_balances\\s+account_id=${row!.account_id}\\s+available\\s+${row!.available}\\s+${tampered}`));
        const report = JSON.parse((await ledger('verify', '--json')).stdout);
        expect(report.differences).toEqual([
          { table: 'account_balances', key: `account_id=${row!.account_id}`, column: 'available', expected: row!.available, actual: tampered },
        ]);
      } finally {
        await sql(`update ${qualified('account_balances')} set available = $2 where account_id = $1`, [row!.account_id, row!.available]);
      }
    });

    it('a DELETEd journal entry', async () => {
      const [entry] = await sql<{ position: string; posting_index: number; amount: string; ledger_account: string }>(
        `select j.position::text, j.posting_index, j.amount::text, j.ledger_account from ${qualified('journal_entries')} j where j.posting_index = 1 order by j.position desc limit 1`,
      );
      await sql(`delete from ${qualified('journal_entries')} where position = $1 and posting_index = 1`, [entry!.position]);
      const run = await ledger('verify', '--json');
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout);
      expect(report.differences).toEqual([
        {
          table: 'journal_entries',
          key: `position=${entry!.position} posting_index=1`,
          column: '(row)',
          expected: expect.stringContaining(`ledger_account=${entry!.ledger_account}`),
          actual: 'missing',
        },
      ]);
      expect(report.differences[0].expected).toContain(`amount=${entry!.amount},`);
      // The runbook's repair: rebuild from the log, then verify again.
      const rebuilt = await ledger('rebuild', 'journal');
      expect(rebuilt.code).toBe(0);
      expect(rebuilt.stdout).toMatch(/^rebuilt journal: /);
      expect((await ledger('verify')).code).toBe(0);
    });

    it('a changed withdrawal status', async () => {
      const [withdrawal] = await sql<{ withdrawal_id: string }>(
        `select withdrawal_id from ${qualified('withdrawals')} where status = 'settled' order by withdrawal_id limit 1`,
      );
      await sql(`update ${qualified('withdrawals')} set status = 'failed' where withdrawal_id = $1`, [withdrawal!.withdrawal_id]);
      try {
        const run = await ledger('verify');
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(new RegExp(`withdrawals\\s+withdrawal_id=${withdrawal!.withdrawal_id}\\s+status\\s+settled\\s+failed`));
        expect(run.stdout).toContain('DIFFERENCES between the read models and the log: 1');
      } finally {
        await sql(`update ${qualified('withdrawals')} set status = 'settled' where withdrawal_id = $1`, [withdrawal!.withdrawal_id]);
      }
      expect((await ledger('verify')).code).toBe(0);
    });
  });

  it('balance --as-of a position equals what the read model showed when the projections stood there', async () => {
    expect(balancesAtPosition.length).toBe(scenario.accounts.length);
    for (const row of balancesAtPosition) {
      const run = await ledger('balance', row.account_id, '--as-of', asOfPosition.toString(), '--json');
      expect(run.code).toBe(0);
      const balance = JSON.parse(run.stdout);
      expect({ available: balance.available, pending: balance.pending, position: balance.position }).toEqual({
        available: row.available,
        pending: row.pending,
        position: row.position,
      });
      expect(balance.asOf).toEqual({ position: asOfPosition.toString(), time: null });
    }
    // The same instant given as the time of its last event, and in the human form.
    const account = balancesAtPosition[0]!;
    const byTime = JSON.parse((await ledger('balance', account.account_id, '--as-of', asOfTime, '--json')).stdout);
    expect([byTime.available, byTime.asOf.position]).toEqual([account.available, asOfPosition.toString()]);
    const human = await ledger('balance', account.account_id, '--as-of', asOfPosition.toString());
    expect(human.stdout).toMatch(new RegExp(`^available\\s+${account.available}\\s`, 'm'));
    // Today's balance is the read model's.
    const [now] = await sql<BalanceRow>(`select available::text, pending::text from ${qualified('account_balances')} where account_id = $1`, [account.account_id]);
    const current = JSON.parse((await ledger('balance', account.account_id, '--json')).stdout);
    expect([current.available, current.pending]).toEqual([now!.available, now!.pending]);
  });

  it('balance of an account that does not exist, or not yet, exits 1', async () => {
    const missing = await ledger('balance', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('account nobody was not open');
    const early = await ledger('balance', scenario.accounts[3]!.accountId, '--as-of', '1');
    expect(early.code).toBe(1);
  });

  it('history prints every event of a stream in order', async () => {
    const stream = `withdrawal-${scenario.withdrawalIds[5]}`;
    const events = await store.readStream(stream);
    const json = await ledger('history', stream, '--json');
    expect(json.code).toBe(0);
    const printed = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(printed.map((event) => [event.revision, event.position, event.type, event.id])).toEqual(
      events.map((event) => [event.streamRevision.toString(), event.globalPosition.toString(), event.type, event.id]),
    );
    expect(printed[0]).toMatchObject({ stream, recordedAt: events[0]!.recordedAt.toISOString(), data: events[0]!.data, metadata: events[0]!.metadata });
    const human = await ledger('history', stream);
    expect(human.stdout.split('\n').filter((line) => line.startsWith('#')).map((line) => line.split(/\s+/)[0])).toEqual(
      events.map((event) => `#${event.streamRevision.toString()}`),
    );
    const none = await ledger('history', 'account-nobody');
    expect([none.code, none.stderr]).toEqual([1, 'ledger: stream account-nobody has no events\n']);
  });

  it('export journal round-trips every amount exactly, as CSV and as JSON', async () => {
    const expected = await sql<{ position: string; posting_index: number; ledger_account: string; side: string; amount: string; currency: string }>(
      `select j.position::text, j.posting_index, j.ledger_account, j.side, j.amount::text, j.currency from ${qualified('journal_entries')} j order by j.position, j.posting_index`,
    );
    expect(expected.some((row) => BigInt(row.amount) > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    const project = (row: { position: string; postingIndex?: number; posting_index?: number | string; ledgerAccount?: string; ledger_account?: string; side: string; amount: string; currency: string }) =>
      [row.position, Number(row.postingIndex ?? row.posting_index), row.ledgerAccount ?? row.ledger_account, row.side, row.amount, row.currency].join('|');

    const json = await ledger('export', 'journal', '--format', 'json');
    expect(json.code).toBe(0);
    const lines = JSON.parse(json.stdout) as Array<{ amount: unknown }>;
    expect(lines.every((line) => typeof line.amount === 'string')).toBe(true);
    expect(lines.map((line) => project(line as never))).toEqual(expected.map(project));

    const folder = mkdtempSync(join(tmpdir(), 'ledger-export-'));
    try {
      const file = join(folder, 'journal.csv');
      const csv = await ledger('export', 'journal', '--format', 'csv', '--out', file);
      expect([csv.code, csv.stdout]).toEqual([0, '']);
      const [header, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\r\n');
      const columns = header!.split(',');
      expect(columns).toEqual(['position', 'posting_index', 'recorded_at', 'stream_name', 'event_type', 'event_id', 'ledger_account', 'account_id', 'side', 'amount', 'currency']);
      const parsed = rows.map((row) => Object.fromEntries(row.split(',').map((value, index) => [columns[index]!, value])));
      expect(parsed.map((row) => project(row as never))).toEqual(expected.map(project));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }

    // A range: positions inclusive at both ends, and the same range by time.
    const from = BigInt(expected[10]!.position);
    const to = BigInt(expected[40]!.position);
    const ranged = JSON.parse((await ledger('export', 'journal', '--format', 'json', '--from', from.toString(), '--to', to.toString())).stdout) as Array<{ position: string }>;
    expect(ranged.map((line) => line.position)).toEqual(expected.filter((row) => BigInt(row.position) >= from && BigInt(row.position) <= to).map((row) => row.position));
  });

  it('rebuild all leaves the read models identical', async () => {
    const before = await dump();
    const run = await ledger('rebuild', 'all', '--json');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.projections).toEqual([...PROJECTION_NAMES]);
    expect(result.position).toBe((await store.headPosition()).toString());
    expect(await dump()).toEqual(before);
    expect((await ledger('verify')).code).toBe(0);
  });

  it('refuses a wrong command line with exit code 2 and the usage', async () => {
    const unknown = await ledger('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown command 'frobnicate'");
    expect(unknown.stderr).toContain('Usage: ledger [options] [command]');
    const missing = await ledger('balance');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'account'");
    const badOption = await ledger('balance', 'acc', '--as-of', 'last tuesday');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('--as-of');
    const badProjection = await ledger('rebuild', 'everything');
    expect([badProjection.code, badProjection.stderr]).toEqual([2, `ledger: no projection is named "everything"; known: ${PROJECTION_NAMES.join(', ')}, all\n`]);
    const format = await ledger('export', 'journal', '--format', 'xml');
    expect(format.code).toBe(2);
    expect((await ledger('--help')).code).toBe(0);
  });

  it('reconcile import reports matches and discrepancies, and refuses a malformed statement with its line errors', async () => {
    const [withdrawalId, facts] = [...scenario.withdrawals].find(([id]) => id.endsWith('-wd-0'))!;
    const folder = mkdtempSync(join(tmpdir(), 'ledger-statement-'));
    try {
      const statement = join(folder, 'alpha.csv');
      writeFileSync(
        statement,
        'provider_reference,withdrawal_id,amount_minor,currency,settled_date,status\n' +
          `ref-${withdrawalId}-1,${withdrawalId},${facts.amount.toString()},${facts.currency},2026-11-23,settled\n` +
          `ref-ghost,ghost-withdrawal,100,EUR,2026-11-23,settled\n`,
      );
      const run = await ledger('reconcile', 'import', statement, '--channel', 'alpha', '--date', '2026-11-23', '--json');
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      const result = JSON.parse(run.stdout);
      expect(result).toMatchObject({ channel: 'alpha', date: '2026-11-23', items: 2, replayed: false });
      expect(result.matched).toBeGreaterThanOrEqual(1);
      expect(result.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'missing_in_ledger', line: 3, withdrawalId: 'ghost-withdrawal' })]));
      const again = await ledger('reconcile', 'import', statement, '--channel', 'alpha', '--date', '2026-11-23');
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('was already imported');
      expect(again.stdout).toMatch(/^missing_in_ledger\s+3\s+ghost-withdrawal/m);

      const malformed = join(folder, 'bad.csv');
      writeFileSync(malformed, 'provider_reference,withdrawal_id,amount_minor,currency,settled_date,status\nref-1,w-1,10.50,EUR,2026-11-23,settled\nref-2,w-2,100,EUR,2026-11-24,paid\n');
      const refused = await ledger('reconcile', 'import', malformed, '--channel', 'alpha', '--date', '2026-11-23');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('nothing was imported');
      expect(refused.stderr).toMatch(/line 2: .*amount_minor/);
      expect(refused.stderr).toMatch(/line 3: /);
      const missingOption = await ledger('reconcile', 'import', malformed, '--date', '2026-11-23');
      expect(missingOption.code).toBe(2);

      // An operator resolves one finding, a corrected statement supersedes the first (closing
      // its open findings), and the projector catches up: verify's model of the
      // reconciliation tables must match the projection's, row for row.
      const ghost = result.discrepancies.find((d: { kind: string }) => d.kind === 'missing_in_ledger');
      await resolveDiscrepancy({
        store,
        channel: 'alpha',
        date: '2026-11-23',
        discrepancyId: ghost.discrepancyId,
        reason: 'not ours: the provider booked another merchant',
        principal: 'ops:test',
        now: '2026-11-24T10:00:00.123456Z',
        eventId: randomUUID(),
      });
      writeFileSync(
        statement,
        'provider_reference,withdrawal_id,amount_minor,currency,settled_date,status\n' +
          `ref-${withdrawalId}-1,${withdrawalId},${(facts.amount + 1n).toString()},${facts.currency},2026-11-23,settled\n`,
      );
      const corrected = JSON.parse((await ledger('reconcile', 'import', statement, '--channel', 'alpha', '--date', '2026-11-23', '--json')).stdout);
      expect(corrected.supersedes).toBe(result.statementId);
      expect(corrected.discrepancies).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'amount_mismatch', line: 2 })]));
      await project();
      const report = JSON.parse((await ledger('verify', '--json')).stdout);
      expect({ ok: report.ok, differences: report.differences, violations: report.violations }).toEqual({ ok: true, differences: [], violations: [] });
      const reconciliation = report.compared.find((compared: { projection: string }) => compared.projection === 'reconciliation');
      expect(reconciliation.tables).toEqual([
        { table: 'reconciliation_statements', rows: 2 },
        { table: 'reconciliation_items', rows: expect.any(Number) },
      ]);
      const [item] = await sql<{ outcome: string }>(
        `select outcome from ${qualified('reconciliation_items')} where review_state = 'resolved' and resolved_by = 'ops:test'`,
      );
      expect(item?.outcome).toBe('missing_in_ledger');
      await sql(`update ${qualified('reconciliation_items')} set review_state = 'open', resolved_at = null, resolved_by = null, resolution = null where resolved_by = 'ops:test'`);
      const tampered = JSON.parse((await ledger('verify', '--json')).stdout);
      expect(tampered.differences.map((d: { table: string; column: string; expected: string; actual: string }) => [d.table, d.column, d.expected, d.actual])).toEqual([
        ['reconciliation_items', 'review_state', 'resolved', 'open'],
        ['reconciliation_items', 'resolved_at', '2026-11-24T10:00:00.123456Z', 'null'],
        ['reconciliation_items', 'resolved_by', 'ops:test', 'null'],
        ['reconciliation_items', 'resolution', 'not ours: the provider booked another merchant', 'null'],
      ]);
      expect((await ledger('rebuild', 'reconciliation')).code).toBe(0);
      expect((await ledger('verify')).code).toBe(0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
