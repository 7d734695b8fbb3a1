import { isReconciliationRejection, reconciliationStream } from '@ledger/domain';
import { EVENT_STORE_LIMITS, PostgresEventStore } from '@ledger/event-store';
import { createProjections, createReadModelsDataSource, migrateReadModels, Projector, rebuildProjection } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import type { DataSource } from 'typeorm';
import { StatementMalformed, StatementTooLarge } from './errors';
import { importStatement, type ImportStatementResult } from './import-statement';
import { resolveDiscrepancy } from './resolve-discrepancy';
import { providerReferenceOf, recordPayout, statementFile } from './testing/ledger-fixture';

const CHANNEL = 'bank_one';
const DATE = '2026-11-23';
const STREAM = reconciliationStream(CHANNEL, DATE);
const NOW = '2026-11-24T06:00:00.000Z';

let database: TestDatabase;
let store: PostgresEventStore;
let dataSource: DataSource;

beforeAll(async () => {
  database = await createTestDatabase('reconciliation');
  store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 6 });
  dataSource = createReadModelsDataSource(database.url, { poolSize: 4, applicationName: 'reconciliation-test' });
  await migrateReadModels(dataSource);

  // The ledger of bank_one on 2026-11-23, plus payouts the statement must not be matched against.
  const at = `${DATE}T12:00:00.000Z`;
  for (const [withdrawalId, amount] of [['wd-1', 2_500n], ['wd-2', 1_000n], ['wd-3', 700n], ['wd-6', 300n]] as const) {
    await recordPayout(store, { withdrawalId, channel: CHANNEL, amount, outcome: 'settled', at });
  }
  await recordPayout(store, { withdrawalId: 'wd-4', channel: CHANNEL, amount: 900n, outcome: 'failed', at });
  await recordPayout(store, { withdrawalId: 'wd-7', channel: 'bank_two', amount: 100n, outcome: 'settled', at });
  await recordPayout(store, { withdrawalId: 'wd-8', channel: CHANNEL, amount: 100n, outcome: 'settled', at: '2026-11-22T23:59:59.999Z' });
  await recordPayout(store, { withdrawalId: 'wd-9', channel: CHANNEL, amount: 400n, outcome: 'returned', at: '2026-11-21T09:00:00.000Z', returnedAt: at });
});

afterAll(async () => {
  await store?.close();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await database?.drop();
});

const line = (withdrawalId: string, amount: string, currency = 'EUR', status = 'settled', reference = providerReferenceOf(withdrawalId)) =>
  [reference, withdrawalId, amount, currency, DATE, status] as const;

/** One line of each kind of finding (comments: the line number in the file). */
const FIRST_STATEMENT = statementFile([
  line('wd-1', '2500'), // 2: matched
  line('wd-2', '1200'), // 3: amount_mismatch
  line('wd-3', '700', 'USD'), // 4: currency_mismatch
  line('wd-4', '900'), // 5: status_mismatch (the ledger says failed)
  line('wd-5', '50'), // 6: missing_in_ledger
  line('wd-1', '2500'), // 7: duplicate_line
  line('wd-9', '400', 'EUR', 'returned'), // 8: matched (a return booked that day)
]);
// wd-6 settled that day and is not on it: missing_in_statement.

const importAs = (csv: string | Uint8Array, principal = 'cli:alice') => importStatement({ store, channel: CHANNEL, date: DATE, csv, principal, now: NOW });

const kinds = (result: ImportStatementResult) => result.discrepancies.map((d) => [d.kind, d.line, d.withdrawalId]);

async function streamTypes(): Promise<string[]> {
  return (await store.readStream(STREAM)).map((event) => event.type);
}

async function project(): Promise<void> {
  const projector = new Projector({ store, dataSource, projections: createProjections(['reconciliation']), batchSize: 7 });
  await projector.start();
  try {
    await projector.waitFor(undefined, 30_000);
  } finally {
    await projector.stop();
  }
}

let first: ImportStatementResult;

describe('importStatement', () => {
  it('refuses a malformed statement with every error and its line number, and appends nothing', async () => {
    const malformed = statementFile([line('wd-1', '2500'), line('wd-2', '12.50'), line('wd-3', '700', 'EURO'), ['psp_x', 'wd-x', '1', 'EUR', '2026-11-22', 'settled']]);
    const error = await importAs(malformed).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementMalformed);
    expect((error as StatementMalformed).errors.map((e) => e.message)).toEqual([
      'line 3: amount_minor "12.50" is not a whole number of minor units (digits only, no sign, decimal point or leading zero)',
      'line 4: currency "EURO" is not a three-letter upper-case ISO-4217 code',
      'line 5: settled_date 2026-11-22 is not the statement date 2026-11-23',
    ]);
    expect(await streamTypes()).toEqual([]);
  });

  it('a statement with each kind of discrepancy yields exactly those, and the matched lines, in one append', async () => {
    first = await importAs(FIRST_STATEMENT);
    expect(first).toMatchObject({ channel: CHANNEL, date: DATE, replayed: false, supersedes: null, supersededBy: null, items: 7, matched: 2 });
    expect(kinds(first)).toEqual([
      ['amount_mismatch', 3, 'wd-2'],
      ['currency_mismatch', 4, 'wd-3'],
      ['status_mismatch', 5, 'wd-4'],
      ['missing_in_ledger', 6, 'wd-5'],
      ['duplicate_line', 7, 'wd-1'],
      ['missing_in_statement', null, 'wd-6'],
    ]);
    expect(first.discrepancies[0]).toEqual({
      discrepancyId: `${first.statementId.slice(0, 16)}-D0001`,
      kind: 'amount_mismatch',
      line: 3,
      withdrawalId: 'wd-2',
      providerReference: 'psp_wd-2',
      amountStatement: '1200',
      amountLedger: '1000',
      currency: 'EUR',
      currencyLedger: 'EUR',
      statusStatement: 'settled',
      statusLedger: 'settled',
      note: 'the statement says 1200; the ledger paid 1000 minor units of EUR',
    });
    expect(first.discrepancies[2]).toMatchObject({ statusStatement: 'settled', statusLedger: 'failed' });

    const recorded = await store.readStream(STREAM);
    expect(recorded.map((event) => event.type)).toEqual([
      'StatementImported',
      'ItemMatched',
      'DiscrepancyFound',
      'DiscrepancyFound',
      'DiscrepancyFound',
      'DiscrepancyFound',
      'DiscrepancyFound',
      'ItemMatched',
      'DiscrepancyFound',
    ]);
    // One append: consecutive positions, one recorded time, the importer in every event's metadata.
    const positions = recorded.map((event) => event.globalPosition);
    expect(positions).toEqual(positions.map((_, index) => positions[0]! + BigInt(index)));
    expect(new Set(recorded.map((event) => event.recordedAt.getTime())).size).toBe(1);
    expect(recorded.every((event) => event.metadata.principal === 'cli:alice' && event.metadata.schemaVersion === 1)).toBe(true);
    expect(first.position).toBe(positions.at(-1));
    expect(recorded[0]!.data).toEqual({
      channel: CHANNEL,
      statementDate: DATE,
      statementId: first.statementId,
      itemCount: 7,
      matchedCount: 2,
      discrepancyCount: 6,
      supersedes: null,
      importedAt: NOW,
      importedBy: 'cli:alice',
    });
  });

  it('shows the findings as read-model rows, the discrepancies open in the review queue', async () => {
    await project();
    const statements = (await dataSource.query(
      `select statement_id, item_count, matched_count, discrepancy_count, superseded_by, imported_by, statement_date::text as date
         from read_models.reconciliation_statements`,
    )) as Array<Record<string, unknown>>;
    expect(statements).toEqual([
      { statement_id: first.statementId, item_count: 7, matched_count: 2, discrepancy_count: 6, superseded_by: null, imported_by: 'cli:alice', date: DATE },
    ]);
    const items = (await dataSource.query(
      `select outcome, line, withdrawal_id, amount_statement::text, amount_ledger::text, review_state
         from read_models.reconciliation_items where statement_id = $1 order by line nulls last`,
      [first.statementId],
    )) as Array<Record<string, unknown>>;
    expect(items.map((row) => [row.outcome, row.line, row.withdrawal_id, row.review_state])).toEqual([
      ['matched', 2, 'wd-1', null],
      ['amount_mismatch', 3, 'wd-2', 'open'],
      ['currency_mismatch', 4, 'wd-3', 'open'],
      ['status_mismatch', 5, 'wd-4', 'open'],
      ['missing_in_ledger', 6, 'wd-5', 'open'],
      ['duplicate_line', 7, 'wd-1', 'open'],
      ['matched', 8, 'wd-9', null],
      ['missing_in_statement', null, 'wd-6', 'open'],
    ]);
    expect(items[1]).toMatchObject({ amount_statement: '1200', amount_ledger: '1000' });
    const open = (await dataSource.query(`select count(*)::int as n from read_models.reconciliation_items where review_state = 'open'`)) as Array<{ n: number }>;
    expect(open[0]!.n).toBe(6);
  });

  it('re-importing the same statement appends nothing and reports the original result, however the file is written', async () => {
    const before = await store.readStream(STREAM);
    const again = await importAs(Buffer.from('\uFEFF' + FIRST_STATEMENT.replace(/\n/g, '\r\n')), 'cli:bob');
    expect(again).toEqual({ ...first, replayed: true });
    expect(await store.readStream(STREAM)).toHaveLength(before.length);
  });

  it('an operator resolves a discrepancy with a reason; the same request again is a replay, another one a conflict', async () => {
    const discrepancyId = first.discrepancies[0]!.discrepancyId;
    const eventId = '0b6e9f0e-7f57-4a43-9a52-2f7c3c1f0a11';
    const options = { store, channel: CHANNEL, date: DATE, discrepancyId, reason: 'provider fee deducted; confirmed by phone', principal: 'api-key:ops', now: NOW, eventId };
    const resolved = await resolveDiscrepancy(options);
    expect(resolved).toMatchObject({ discrepancyId, resolution: options.reason, resolvedBy: 'api-key:ops', resolvedAt: NOW, replayed: false });
    expect(await resolveDiscrepancy({ ...options, now: '2026-11-25T00:00:00.000Z' })).toEqual({ ...resolved, replayed: true });

    const second = await resolveDiscrepancy({ ...options, eventId: '5c0f1d7e-3b1a-4c4e-8f0e-1d2c3b4a5f60' }).catch((e: unknown) => e);
    expect(isReconciliationRejection(second, 'discrepancy_already_resolved')).toBe(true);
    const unknown = await resolveDiscrepancy({ ...options, discrepancyId: 'nope', eventId: 'a3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }).catch((e: unknown) => e);
    expect(isReconciliationRejection(unknown, 'discrepancy_not_found')).toBe(true);
    const elsewhere = await resolveDiscrepancy({ ...options, date: '2026-11-24', eventId: 'b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d' }).catch((e: unknown) => e);
    expect(isReconciliationRejection(elsewhere, 'discrepancy_not_found')).toBe(true);
  });

  it('a corrected statement supersedes the first: open discrepancies close as superseded, new findings from scratch, both imports kept', async () => {
    const corrected = statementFile([
      line('wd-1', '2500'),
      line('wd-2', '1000'),
      line('wd-3', '700'),
      line('wd-9', '400', 'EUR', 'returned'),
      line('wd-6', '300'),
    ]);
    const before = (await store.readStream(STREAM)).length;
    const result = await importAs(corrected, 'cli:carol');
    expect(result).toMatchObject({ replayed: false, supersedes: first.statementId, items: 5, matched: 5, discrepancies: [] });

    const appended = (await store.readStream(STREAM)).slice(before);
    // The first statement's discrepancies: the resolved one stays resolved, five close as superseded.
    expect(appended.map((event) => event.type)).toEqual([
      'StatementImported',
      ...Array<string>(5).fill('DiscrepancyResolved'),
      ...Array<string>(5).fill('ItemMatched'),
    ]);
    expect(appended[1]!.data).toMatchObject({
      discrepancyId: first.discrepancies[1]!.discrepancyId,
      supersededBy: result.statementId,
      resolvedBy: 'cli:carol',
      resolution: `superseded by statement ${result.statementId}`,
    });

    await project();
    const statements = (await dataSource.query(
      `select statement_id, supersedes, superseded_by from read_models.reconciliation_statements order by imported_at, statement_id`,
    )) as Array<Record<string, unknown>>;
    expect(statements).toEqual(
      expect.arrayContaining([
        { statement_id: first.statementId, supersedes: null, superseded_by: result.statementId },
        { statement_id: result.statementId, supersedes: first.statementId, superseded_by: null },
      ]),
    );
    const states = (await dataSource.query(
      `select review_state, count(*)::int as n from read_models.reconciliation_items where statement_id = $1 and review_state is not null
        group by review_state order by review_state`,
      [first.statementId],
    )) as Array<Record<string, unknown>>;
    expect(states).toEqual([
      { review_state: 'resolved', n: 1 },
      { review_state: 'superseded', n: 5 },
    ]);

    // The first statement, imported again, stays replaced: a replay that says by what.
    expect(await importAs(FIRST_STATEMENT)).toEqual({ ...first, replayed: true, supersededBy: result.statementId });
    const superseded = await resolveDiscrepancy({
      store,
      channel: CHANNEL,
      date: DATE,
      discrepancyId: first.discrepancies[1]!.discrepancyId,
      reason: 'late',
      principal: 'api-key:ops',
      now: NOW,
      eventId: 'c3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    }).catch((e: unknown) => e);
    expect(isReconciliationRejection(superseded, 'discrepancy_superseded')).toBe(true);
  });

  it('concurrent imports of one stream: each statement is written once, and the last to commit is current', async () => {
    const date = '2026-11-25';
    const stream = reconciliationStream(CHANNEL, date);
    const statements = ['a', 'b', 'c'].map((suffix) => statementFile([[`psp_${suffix}`, `wd-${suffix}`, '1', 'EUR', date, 'settled']]));
    const results = await Promise.all(
      [...statements, ...statements].map((csv) => importStatement({ store, channel: CHANNEL, date, csv, principal: 'cli:race', now: NOW })),
    );
    const recorded = await store.readStream(stream);
    const imported = recorded.filter((event) => event.type === 'StatementImported').map((event) => (event.data as { statementId: string }).statementId);
    expect(new Set(imported).size).toBe(3);
    expect(imported).toHaveLength(3);
    expect(new Set(results.map((r) => r.statementId)).size).toBe(3);
    expect(results.filter((r) => !r.replayed)).toHaveLength(3);
    // Each statement's single finding was written once; earlier ones were superseded in turn.
    expect(recorded.filter((event) => event.type === 'DiscrepancyFound')).toHaveLength(3);
    expect(recorded.filter((event) => event.type === 'DiscrepancyResolved')).toHaveLength(2);
  });

  it('refuses a statement whose findings do not fit one append, and writes nothing', async () => {
    const date = '2026-11-26';
    const lines = Array.from({ length: EVENT_STORE_LIMITS.maxEventsPerAppend }, (_, i) => [`psp_${i}`, `wd-big-${i}`, '1', 'EUR', date, 'settled'] as const);
    const error = await importStatement({ store, channel: CHANNEL, date, csv: statementFile(lines), principal: 'cli:alice', now: NOW }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementTooLarge);
    expect(await store.readStream(reconciliationStream(CHANNEL, date))).toEqual([]);
  });

  it('reads the ledger from the event store, not a read model: a settlement recorded a moment ago is matched', async () => {
    const date = '2026-11-27';
    await recordPayout(store, { withdrawalId: 'wd-fresh', channel: CHANNEL, amount: 5n, outcome: 'settled', at: `${date}T00:00:00.000Z` });
    const result = await importStatement({
      store,
      channel: CHANNEL,
      date,
      csv: statementFile([['psp_wd-fresh', 'wd-fresh', '5', 'EUR', date, 'settled']]),
      principal: 'cli:alice',
      now: NOW,
    });
    expect(result).toMatchObject({ matched: 1, discrepancies: [] });
  });

  it('the read model rebuilds to the same rows whatever the batch boundaries inside an import', async () => {
    await project();
    const dump = async () => {
      const rows: string[] = [];
      for (const [table, order] of [
        ['reconciliation_statements', 'channel, statement_date, statement_id'],
        ['reconciliation_items', 'channel, statement_date, finding_id'],
      ] as const) {
        const result = (await dataSource.query(`select t::text as row from read_models.${table} t order by ${order}`)) as Array<{ row: string }>;
        rows.push(...result.map((r) => `${table} ${r.row}`));
      }
      return rows;
    };
    const live = await dump();
    expect(live.length).toBeGreaterThan(20);
    await rebuildProjection('reconciliation', { store, dataSource, batchSize: 3 });
    expect(await dump()).toEqual(live);
  });
});
