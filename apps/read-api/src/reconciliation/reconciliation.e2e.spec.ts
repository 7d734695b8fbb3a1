import { randomUUID } from 'node:crypto';
import { foldEvents, withdrawalDecider, withdrawalStream, type WithdrawalCommand, type WithdrawalEvent } from '@ledger/domain';
import { PostgresEventStore } from '@ledger/event-store';
import { createProjections, createReadModelsDataSource, Projector } from '@ledger/read-models';
import { importStatement, resolveDiscrepancy, type ImportStatementResult } from '@ledger/reconciliation';
import type { DataSource } from 'typeorm';
import { failedFields, get, startReadApi, type ReadHarness } from '../testing/read-api-harness';

const CHANNEL = 'bank_one';
const DATE = '2026-11-23';
const HEADER = 'provider_reference,withdrawal_id,amount_minor,currency,settled_date,status';

let api: ReadHarness;
let store: PostgresEventStore;
let dataSource: DataSource;
let projector: Projector | undefined;

beforeAll(async () => {
  api = await startReadApi({ minPositionTimeoutMs: 1_500 });
  store = await PostgresEventStore.create({ connectionString: api.database.url, poolSize: 4 });
  dataSource = createReadModelsDataSource(api.database.url, { poolSize: 3 });
  await dataSource.initialize();
  const at = `${DATE}T12:00:00.000Z`;
  await payout('wd-1', 2_500n, 'settled', at);
  await payout('wd-2', 1_000n, 'settled', at);
  await payout('wd-3', 700n, 'settled', at);
  await payout('wd-4', 900n, 'failed', at);
  await payout('wd-6', 300n, 'settled', at);
});

afterAll(async () => {
  await projector?.stop();
  await store?.close();
  if (dataSource?.isInitialized) await dataSource.destroy();
  await api?.close();
});

/** A payout on bank_one, written through the real withdrawal decider as the payout process manager writes it. */
async function payout(withdrawalId: string, amount: bigint, outcome: 'settled' | 'failed', now: string): Promise<void> {
  const metadata = { now, principal: 'process:payout-manager' };
  const commands: WithdrawalCommand[] = [
    {
      type: 'InitiatePayout',
      data: {
        withdrawalId,
        accountId: `acc-${withdrawalId}`,
        amount,
        currency: 'EUR',
        channel: CHANNEL,
        destination: { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada Lovelace' },
      },
      metadata,
    },
    { type: 'RecordPayoutSubmitted', data: { attempt: 1, providerReference: `psp_${withdrawalId}` }, metadata },
    outcome === 'settled'
      ? { type: 'RecordSettlement', data: { attempt: 1, providerReference: null }, metadata }
      : { type: 'RecordPayoutFailure', data: { attempt: 1, providerReference: null, reason: 'account closed' }, metadata },
  ];
  let state = withdrawalDecider.initialState();
  const events: WithdrawalEvent[] = [];
  for (const command of commands) {
    const decided = withdrawalDecider.decide(command, state);
    state = foldEvents(withdrawalDecider, decided, state);
    events.push(...decided);
  }
  await store.append(withdrawalStream(withdrawalId), events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data })), {
    expectedRevision: 'no_stream',
  });
}

function importLines(lines: string[], principal = 'cli:alice'): Promise<ImportStatementResult> {
  return importStatement({ store, channel: CHANNEL, date: DATE, csv: [HEADER, ...lines].join('\n'), principal, now: new Date().toISOString() });
}

async function startProjector(): Promise<void> {
  projector = new Projector({ store, dataSource, projections: createProjections(['reconciliation']) });
  await projector.start();
}

const line = (withdrawalId: string, amount: string, currency = 'EUR') => `psp_${withdrawalId},${withdrawalId},${amount},${currency},${DATE},settled`;

let first: ImportStatementResult;

describe('GET /v1/reconciliation/{channel}/{date}', () => {
  it('waits for the reconciliation projection to reach minPosition, then reports every finding of the statement', async () => {
    first = await importLines([line('wd-1', '2500'), line('wd-2', '1200'), line('wd-3', '700', 'USD'), line('wd-4', '900'), line('wd-5', '50'), line('wd-1', '2500')]);
    const pending = get(api, `/v1/reconciliation/${CHANNEL}/${DATE}?minPosition=${first.position}`);
    // The projector starts only now: the read above is already waiting for it.
    await new Promise((done) => setTimeout(done, 100));
    await startProjector();
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(BigInt(answer.body.position as string)).toBeGreaterThanOrEqual(first.position);
    expect(answer.body).toMatchObject({
      channel: CHANNEL,
      date: DATE,
      statement: { statementId: first.statementId, current: true, itemCount: 6, matchedCount: 1, discrepancyCount: 6, supersedes: null, importedBy: 'cli:alice' },
      summary: {
        outcomes: {
          matched: 1,
          missing_in_ledger: 1,
          missing_in_statement: 1,
          amount_mismatch: 1,
          currency_mismatch: 1,
          status_mismatch: 1,
          duplicate_line: 1,
        },
        review: { open: 6, resolved: 0, superseded: 0 },
      },
    });
    const items = answer.body.items as Array<Record<string, unknown>>;
    expect(items.map((item) => [item.outcome, item.line, item.withdrawalId])).toEqual([
      ['matched', 2, 'wd-1'],
      ['amount_mismatch', 3, 'wd-2'],
      ['currency_mismatch', 4, 'wd-3'],
      ['status_mismatch', 5, 'wd-4'],
      ['missing_in_ledger', 6, 'wd-5'],
      ['duplicate_line', 7, 'wd-1'],
      ['missing_in_statement', null, 'wd-6'],
    ]);
    expect(items[1]).toEqual({
      findingId: first.discrepancies[0]!.discrepancyId,
      outcome: 'amount_mismatch',
      itemId: `${first.statementId.slice(0, 16)}-L3`,
      discrepancyId: first.discrepancies[0]!.discrepancyId,
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
      foundAt: expect.any(String),
      reviewState: 'open',
      resolvedAt: null,
      resolvedBy: null,
      resolution: null,
      position: expect.stringMatching(/^[0-9]+$/),
    });
    expect(answer.body.statements).toHaveLength(1);
  });

  it('is 503 projection_behind when minPosition is not reached in time', async () => {
    const answer = await get(api, `/v1/reconciliation/${CHANNEL}/${DATE}?minPosition=${first.position + 1_000n}`);
    expect([answer.status, answer.body.error!.code]).toEqual([503, 'projection_behind']);
    expect(answer.body.error!.details).toMatchObject({ projection: 'reconciliation' });
    expect(answer.headers.get('retry-after')).toBe('1');
  });

  it('after a corrected statement shows the new one, keeps the first readable, and lists both imports', async () => {
    const resolved = await resolveDiscrepancy({
      store,
      channel: CHANNEL,
      date: DATE,
      discrepancyId: first.discrepancies[0]!.discrepancyId,
      reason: 'provider fee; confirmed',
      principal: 'api-key:ops',
      now: new Date().toISOString(),
      eventId: randomUUID(),
    });
    const corrected = await importLines([line('wd-1', '2500'), line('wd-2', '1000'), line('wd-3', '700'), line('wd-6', '300')], 'cli:bob');
    expect(corrected.position).toBeGreaterThan(resolved.position);
    const answer = await get(api, `/v1/reconciliation/${CHANNEL}/${DATE}?minPosition=${corrected.position}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      statement: { statementId: corrected.statementId, current: true, supersedes: first.statementId, matchedCount: 4, discrepancyCount: 0 },
      summary: { review: { open: 0, resolved: 0, superseded: 0 } },
    });
    expect((answer.body.statements as Array<Record<string, unknown>>).map((s) => [s.statementId, s.current, s.supersededBy])).toEqual([
      [first.statementId, false, corrected.statementId],
      [corrected.statementId, true, null],
    ]);

    const earlier = await get(api, `/v1/reconciliation/${CHANNEL}/${DATE}?statementId=${first.statementId}`);
    expect(earlier.status).toBe(200);
    expect(earlier.body).toMatchObject({
      statement: { statementId: first.statementId, current: false, supersededBy: corrected.statementId },
      summary: { review: { open: 0, resolved: 1, superseded: 5 } },
    });
    expect((earlier.body.items as Array<Record<string, unknown>>)[1]).toMatchObject({
      reviewState: 'resolved',
      resolvedBy: 'api-key:ops',
      resolution: 'provider fee; confirmed',
    });
    expect((earlier.body.items as Array<Record<string, unknown>>)[2]).toMatchObject({
      reviewState: 'superseded',
      resolvedBy: 'cli:bob',
      resolution: `superseded by statement ${corrected.statementId}`,
    });
  });

  it('is 404 reconciliation_not_found for a day without a statement and statement_not_found for an unknown statement', async () => {
    const none = await get(api, `/v1/reconciliation/${CHANNEL}/2026-11-20`);
    expect([none.status, none.body.error!.code]).toEqual([404, 'reconciliation_not_found']);
    const unknown = await get(api, `/v1/reconciliation/${CHANNEL}/${DATE}?statementId=${'0'.repeat(64)}`);
    expect([unknown.status, unknown.body.error!.code]).toEqual([404, 'statement_not_found']);
  });

  it.each([
    ['a malformed statementId', `/v1/reconciliation/${CHANNEL}/${DATE}?statementId=ABC`, 'statementId'],
    ['a malformed minPosition', `/v1/reconciliation/${CHANNEL}/${DATE}?minPosition=01`, 'minPosition'],
    ['an unknown parameter', `/v1/reconciliation/${CHANNEL}/${DATE}?verbose=1`, 'verbose'],
  ])('%s is 400 validation_failed', async (_name, path, field) => {
    const answer = await get(api, path);
    expect([answer.status, answer.body.error!.code]).toEqual([400, 'validation_failed']);
    expect(failedFields(answer)).toContain(field);
  });
});

describe('GET /v1/reconciliation/discrepancies (the reconciliation review queue)', () => {
  let open: ImportStatementResult;

  beforeAll(async () => {
    // A second channel and day with open discrepancies: four lines the ledger does not know.
    const date = '2026-11-24';
    open = await importStatement({
      store,
      channel: 'bank_two',
      date,
      csv: [HEADER, ...['x1', 'x2', 'x3', 'x4'].map((id) => `psp_${id},${id},10,EUR,${date},settled`)].join('\n'),
      principal: 'cli:alice',
      now: new Date().toISOString(),
    });
  });

  it('lists open discrepancies oldest first, in pages, with the cursor it returned', async () => {
    const seen: Array<Record<string, unknown>> = [];
    let cursor: string | null = null;
    do {
      const query: string = `state=open&limit=3&minPosition=${open.position}${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await get(api, `/v1/reconciliation/discrepancies?${query}`);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as Array<Record<string, unknown>>));
      cursor = page.body.nextCursor as string | null;
    } while (cursor !== null);
    expect(seen.map((d) => [d.channel, d.date, d.kind, d.withdrawalId, d.state])).toEqual([
      ['bank_two', '2026-11-24', 'missing_in_ledger', 'x1', 'open'],
      ['bank_two', '2026-11-24', 'missing_in_ledger', 'x2', 'open'],
      ['bank_two', '2026-11-24', 'missing_in_ledger', 'x3', 'open'],
      ['bank_two', '2026-11-24', 'missing_in_ledger', 'x4', 'open'],
    ]);
    expect(seen[0]).toMatchObject({ discrepancyId: open.discrepancies[0]!.discrepancyId, statementId: open.statementId, amountStatement: '10', amountLedger: null, line: 2 });
  });

  it('filters by state, channel and kind', async () => {
    const ask = async (query: string) => {
      const answer = await get(api, `/v1/reconciliation/discrepancies?${query}&minPosition=${open.position}`);
      expect(answer.status).toBe(200);
      return (answer.body.items as Array<Record<string, unknown>>).map((d) => [d.channel, d.kind, d.state]);
    };
    expect(await ask('state=resolved')).toEqual([[CHANNEL, 'amount_mismatch', 'resolved']]);
    expect(await ask('state=superseded&kind=duplicate_line')).toEqual([[CHANNEL, 'duplicate_line', 'superseded']]);
    expect(await ask(`state=all&channel=${CHANNEL}`)).toHaveLength(6);
    expect(await ask('state=open&channel=bank_one')).toEqual([]);
  });

  it.each([
    ['an unknown state', 'state=closed', 'state'],
    ['an unknown kind', 'kind=typo', 'kind'],
    ['a malformed channel', 'channel=Bank', 'channel'],
    ['a malformed cursor', 'cursor=abc!', 'cursor'],
    ['a cursor of another list', `cursor=${Buffer.from(JSON.stringify(['r', '2026-11-23T10:00:00.000000Z', 'w-1'])).toString('base64url')}`, 'cursor'],
    ['a limit over 500', 'limit=501', 'limit'],
  ])('%s is 400 validation_failed', async (_name, query, field) => {
    const answer = await get(api, `/v1/reconciliation/discrepancies?${query}`);
    expect([answer.status, answer.body.error!.code]).toEqual([400, 'validation_failed']);
    expect(failedFields(answer)).toContain(field);
  });

  it('needs the ledger:read scope', async () => {
    expect((await get(api, '/v1/reconciliation/discrepancies', api.keys.writer)).status).toBe(403);
    expect((await get(api, '/v1/reconciliation/discrepancies', null)).status).toBe(401);
  });
});
