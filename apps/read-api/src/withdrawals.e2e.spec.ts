import { randomUUID } from 'node:crypto';
import { WITHDRAWAL_STATUSES } from '@ledger/domain';
import {
  failedFields,
  get,
  seedHistory,
  seedReview,
  seedWithdrawal,
  setAllCheckpoints,
  startReadApi,
  walk,
  type ReadHarness,
} from './testing/read-api-harness';

let api: ReadHarness;

beforeAll(async () => {
  api = await startReadApi();
  await setAllCheckpoints(api.pool, 1_000_000);
});
afterAll(async () => {
  await api?.close();
});

const id = (prefix: string) => `${prefix}-${randomUUID()}`;

describe('GET /v1/withdrawals/{id}', () => {
  it('answers the status and the full history, applied and ignored entries in log order', async () => {
    const withdrawalId = id('w');
    const accountId = id('acc');
    await seedWithdrawal(api.pool, {
      withdrawalId,
      accountId,
      amount: '1050',
      status: 'settled',
      channel: 'bank_one',
      providerReference: 'prov-77',
      attempt: 1,
      requestedAt: '2026-11-23T10:00:00.000Z',
      position: '40',
    });
    await seedHistory(api.pool, [
      { withdrawalId, position: 40, eventType: 'ProviderCallbackReceived', fromStatus: 'settled', toStatus: 'processing', applied: false, note: 'would move backwards', recordedAt: '2026-11-23T10:00:03Z' },
      { withdrawalId, position: 12, eventType: 'WithdrawalRequested', fromStatus: null, toStatus: 'requested', applied: true, recordedAt: '2026-11-23T10:00:00Z' },
      { withdrawalId, position: 20, eventType: 'PayoutInitiated', fromStatus: 'requested', toStatus: 'processing', applied: true, recordedAt: '2026-11-23T10:00:01Z' },
      { withdrawalId, position: 31, eventType: 'Settled', fromStatus: 'processing', toStatus: 'settled', applied: true, recordedAt: '2026-11-23T10:00:02.5Z' },
    ]);
    const answer = await get(api, `/v1/withdrawals/${withdrawalId}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      withdrawalId,
      accountId,
      amount: '1050',
      currency: 'EUR',
      status: 'settled',
      channel: 'bank_one',
      providerReference: 'prov-77',
      attempt: 1,
      requestedAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
      position: '40',
      history: [
        { position: '12', eventType: 'WithdrawalRequested', fromStatus: null, toStatus: 'requested', applied: true, note: null, recordedAt: '2026-11-23T10:00:00.000Z' },
        { position: '20', eventType: 'PayoutInitiated', fromStatus: 'requested', toStatus: 'processing', applied: true, note: null, recordedAt: '2026-11-23T10:00:01.000Z' },
        { position: '31', eventType: 'Settled', fromStatus: 'processing', toStatus: 'settled', applied: true, note: null, recordedAt: '2026-11-23T10:00:02.500Z' },
        { position: '40', eventType: 'ProviderCallbackReceived', fromStatus: 'settled', toStatus: 'processing', applied: false, note: 'would move backwards', recordedAt: '2026-11-23T10:00:03.000Z' },
      ],
    });
  });

  it('a withdrawal without history has an empty one; an unknown one is 404 withdrawal_not_found', async () => {
    const withdrawalId = id('w');
    await seedWithdrawal(api.pool, { withdrawalId, accountId: 'acc-1', requestedAt: '2026-11-23T10:00:00Z' });
    const answer = await get(api, `/v1/withdrawals/${withdrawalId}`);
    expect([answer.status, answer.body.history, answer.body.channel]).toEqual([200, [], null]);
    const unknown = await get(api, `/v1/withdrawals/${id('w')}`);
    expect([unknown.status, unknown.body.error!.code]).toEqual([404, 'withdrawal_not_found']);
  });

  it('a malformed id is 400 validation_failed', async () => {
    const answer = await get(api, '/v1/withdrawals/w%3Bdrop');
    expect([answer.status, failedFields(answer)]).toEqual([400, ['id']]);
  });
});

describe('GET /v1/withdrawals', () => {
  // Its own account and time range per test, so filters see only that test's rows.
  async function seedMany(count: number, options: { statuses?: readonly string[]; accounts?: readonly string[]; baseMs: number }) {
    const seeded: Array<{ withdrawalId: string; accountId: string; status: string; requestedAt: string }> = [];
    for (let i = 0; i < count; i += 1) {
      // Ties on requested_at (every third shares one) and sub-millisecond differences:
      // the keyset must order by (requested_at, withdrawal_id) at full precision.
      const micros = Math.floor(i / 3) * 250;
      const at = new Date(options.baseMs + Math.floor(micros / 1000)).toISOString().replace('Z', `${String(micros % 1000).padStart(3, '0')}Z`);
      const row = {
        withdrawalId: `w-${String(i).padStart(4, '0')}-${randomUUID()}`,
        accountId: options.accounts?.[i % options.accounts.length] ?? 'acc-x',
        status: options.statuses?.[i % options.statuses.length] ?? 'requested',
        requestedAt: at,
      };
      await seedWithdrawal(api.pool, row);
      seeded.push(row);
    }
    return seeded;
  }

  it.each([1, 4, 50, 500])('pages of %i walk every withdrawal of the range exactly once, in (requestedAt, withdrawalId) order', async (limit) => {
    const baseMs = Date.parse('2027-01-01T00:00:00Z') + limit * 86_400_000;
    const seeded = await seedMany(40, { baseMs });
    const from = new Date(baseMs).toISOString();
    const to = new Date(baseMs + 3_600_000).toISOString();
    const pages = await walk(api, `/v1/withdrawals?from=${from}&to=${to}&limit=${limit}`);
    const ids = pages.flat().map((w) => w.withdrawalId);
    expect(ids).toEqual(seeded.map((w) => w.withdrawalId));
    expect(new Set(ids).size).toBe(40);
  });

  it('filters by status, account and time range together', async () => {
    const baseMs = Date.parse('2028-03-01T00:00:00Z');
    const accountA = id('acc');
    const accountB = id('acc');
    const seeded = await seedMany(30, { baseMs, statuses: ['requested', 'settled', 'failed'], accounts: [accountA, accountB] });
    const bySettledA = await walk(api, `/v1/withdrawals?status=settled&accountId=${accountA}&limit=2`);
    expect(bySettledA.flat().map((w) => w.withdrawalId)).toEqual(
      seeded.filter((w) => w.status === 'settled' && w.accountId === accountA).map((w) => w.withdrawalId),
    );
    const byAccount = await walk(api, `/v1/withdrawals?accountId=${accountB}`);
    expect(byAccount.flat().map((w) => w.withdrawalId)).toEqual(seeded.filter((w) => w.accountId === accountB).map((w) => w.withdrawalId));
    // A half-open range: from is inclusive, to is exclusive.
    const from = seeded[3]!.requestedAt;
    const to = seeded[9]!.requestedAt;
    const ranged = await walk(api, `/v1/withdrawals?accountId=${accountA}&from=${from}&to=${to}`);
    expect(ranged.flat().map((w) => w.withdrawalId)).toEqual(
      seeded.filter((w, i) => w.accountId === accountA && i >= 3 && i < 9).map((w) => w.withdrawalId),
    );
    const summary = ranged.flat()[0]!;
    expect(Object.keys(summary).sort()).toEqual(
      ['accountId', 'amount', 'attempt', 'channel', 'currency', 'position', 'providerReference', 'requestedAt', 'status', 'updatedAt', 'withdrawalId'].sort(),
    );
  });

  it('accepts instants from year 1 to 9999 with up to nine fractional digits', async () => {
    const answer = await get(api, '/v1/withdrawals?from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59.123456789Z&limit=1');
    expect(answer.status).toBe(200);
  });

  it('accepts every status of the domain', async () => {
    for (const status of WITHDRAWAL_STATUSES) {
      const answer = await get(api, `/v1/withdrawals?status=${status}&limit=1`);
      expect(answer.status).toBe(200);
    }
  });

  it.each([
    ['an unknown status', 'status=paid', 'status'],
    ['an upper-case status', 'status=SETTLED', 'status'],
    ['a malformed accountId', 'accountId=a%20b', 'accountId'],
    ['a date without time', 'from=2026-11-23', 'from'],
    ['a local time without zone', 'from=2026-11-23T10:00:00', 'from'],
    ['an impossible date', 'to=2026-02-30T00:00:00Z', 'to'],
    ['an hour 24', 'to=2026-02-01T24:00:00Z', 'to'],
    ['from after to', 'from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z', 'to'],
    ['a limit of 0', 'limit=0', 'limit'],
    ['a limit over 500', 'limit=501', 'limit'],
    ['a malformed cursor', 'cursor=%%%', 'cursor'],
    ['a cursor of the entries list', `cursor=${Buffer.from(JSON.stringify(['e', '1', 0])).toString('base64url')}`, 'cursor'],
    ['a cursor with a millisecond timestamp', `cursor=${Buffer.from(JSON.stringify(['w', '2026-11-23T10:00:00.000Z', 'w-1'])).toString('base64url')}`, 'cursor'],
    ['an unknown parameter', 'sort=desc', 'sort'],
    ['a repeated status', 'status=settled&status=failed', 'status'],
  ])('%s is 400 validation_failed', async (_name, query, field) => {
    const answer = await get(api, `/v1/withdrawals?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error!.code).toBe('validation_failed');
    expect(failedFields(answer)).toContain(field);
  });
});

describe('GET /v1/review-queue', () => {
  it('lists open items by default, resolved or all on request, oldest request first, across pages', async () => {
    const base = Date.parse('2029-05-01T00:00:00Z');
    const seeded: Array<{ withdrawalId: string; resolved: boolean }> = [];
    for (let i = 0; i < 12; i += 1) {
      const resolved = i % 3 === 0;
      const withdrawalId = `r-${String(i).padStart(2, '0')}-${randomUUID()}`;
      await seedReview(api.pool, {
        withdrawalId,
        requestedAt: new Date(base + Math.floor(i / 2) * 1000).toISOString(),
        resolvedAt: resolved ? new Date(base + 60_000).toISOString() : null,
        decision: resolved ? 'retry' : null,
        resolvedBy: resolved ? 'api-key:ops' : null,
        position: String(100 + i),
      });
      seeded.push({ withdrawalId, resolved });
    }
    const open = await walk(api, '/v1/review-queue?limit=2');
    expect(open.flat().map((r) => r.withdrawalId)).toEqual(seeded.filter((r) => !r.resolved).map((r) => r.withdrawalId));
    const resolved = await walk(api, '/v1/review-queue?state=resolved&limit=3');
    expect(resolved.flat().map((r) => r.withdrawalId)).toEqual(seeded.filter((r) => r.resolved).map((r) => r.withdrawalId));
    const all = await walk(api, '/v1/review-queue?state=all&limit=5');
    expect(all.flat().map((r) => r.withdrawalId)).toEqual(seeded.map((r) => r.withdrawalId));
    expect(resolved.flat()[0]).toEqual({
      withdrawalId: seeded[0]!.withdrawalId,
      reason: 'three payout attempts failed',
      fromStatus: 'failed',
      requestedAt: '2029-05-01T00:00:00.000Z',
      resolvedAt: '2029-05-01T00:01:00.000Z',
      decision: 'retry',
      resolvedBy: 'api-key:ops',
      position: '100',
    });
  });

  it.each([
    ['an unknown state', 'state=closed', 'state'],
    ['a malformed cursor', 'cursor=abc!', 'cursor'],
    ['a cursor of the withdrawals list', `cursor=${Buffer.from(JSON.stringify(['w', '2026-11-23T10:00:00.000000Z', 'w-1'])).toString('base64url')}`, 'cursor'],
    ['a limit over 500', 'limit=1000', 'limit'],
  ])('%s is 400 validation_failed', async (_name, query, field) => {
    const answer = await get(api, `/v1/review-queue?${query}`);
    expect([answer.status, answer.body.error!.code]).toEqual([400, 'validation_failed']);
    expect(failedFields(answer)).toContain(field);
  });
});

describe('GET /v1/reconciliation/{channel}/{date}', () => {
  it('is 404 reconciliation_not_found until reconciliation exists', async () => {
    const answer = await get(api, '/v1/reconciliation/bank_one/2026-11-23');
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'reconciliation_not_found', details: { channel: 'bank_one', date: '2026-11-23' } });
  });

  it.each([
    ['an upper-case channel', '/v1/reconciliation/Bank/2026-11-23', 'channel'],
    ['an impossible date', '/v1/reconciliation/bank_one/2026-02-30', 'date'],
    ['a date with time', '/v1/reconciliation/bank_one/2026-11-23T00:00:00Z', 'date'],
    ['a malformed minPosition', '/v1/reconciliation/bank_one/2026-11-23?minPosition=x', 'minPosition'],
  ])('%s is 400 validation_failed', async (_name, path, field) => {
    const answer = await get(api, path);
    expect([answer.status, answer.body.error!.code]).toEqual([400, 'validation_failed']);
    expect(failedFields(answer)).toContain(field);
  });
});
