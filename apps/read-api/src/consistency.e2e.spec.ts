import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  get,
  seedBalance,
  seedReview,
  seedWithdrawal,
  setAllCheckpoints,
  setCheckpoint,
  startReadApi,
  type ReadHarness,
} from './testing/read-api-harness';

/** minPosition: read-your-writes against projections that trail the event store. */
let api: ReadHarness;

beforeAll(async () => {
  api = await startReadApi({ minPositionTimeoutMs: 1_000 });
});
afterAll(async () => {
  await api?.close();
});
beforeEach(async () => {
  await setAllCheckpoints(api.pool, 100);
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('minPosition', () => {
  it('a position already projected answers at once', async () => {
    const accountId = `acc-${randomUUID()}`;
    await seedBalance(api.pool, { accountId, available: '10', position: '90' });
    const started = performance.now();
    const answer = await get(api, `/v1/accounts/${accountId}/balance?minPosition=100`);
    expect(answer.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('waits until the projection checkpoints the position, then answers with the projected row', async () => {
    const accountId = `acc-${randomUUID()}`;
    const started = performance.now();
    const pending = get(api, `/v1/accounts/${accountId}/balance?minPosition=150`);
    await sleep(200);
    // What a projector does: the row and the checkpoint in one transaction.
    const client = await api.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into read_models.account_balances (account_id, owner_id, currency, available, pending, frozen, opened_at, position, updated_at)
         values ($1, 'o', 'EUR', 700, 0, false, now(), 150, now())`,
        [accountId],
      );
      await client.query(`update read_models.projection_checkpoints set position = 150, updated_at = now() where projection = 'balances'`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const answer = await pending;
    const waitedMs = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accountId, available: '700', position: '150' });
    expect(waitedMs).toBeGreaterThanOrEqual(190);
    expect(waitedMs).toBeLessThan(900);
  });

  it('past the timeout it is 503 projection_behind with Retry-After: 1 and both positions', async () => {
    const started = performance.now();
    const answer = await get(api, '/v1/accounts/acc-1/balance?minPosition=101');
    const waitedMs = performance.now() - started;
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.body.error).toMatchObject({
      code: 'projection_behind',
      details: { minPosition: '101', position: '100', projection: 'balances' },
    });
    expect(waitedMs).toBeGreaterThanOrEqual(950);
    expect(waitedMs).toBeLessThan(2_000);
  });

  it('a projection without a checkpoint is behind any position, and says position null', async () => {
    await api.pool.query(`delete from read_models.projection_checkpoints where projection = 'withdrawals'`);
    const answer = await get(api, '/v1/review-queue?minPosition=0');
    expect(answer.status).toBe(503);
    expect(answer.body.error).toMatchObject({ code: 'projection_behind', details: { minPosition: '0', position: null, projection: 'withdrawals' } });
  });

  it('each read waits for its own projection: a lagging journal holds entries but not balances', async () => {
    const accountId = `acc-${randomUUID()}`;
    await seedBalance(api.pool, { accountId });
    await setCheckpoint(api.pool, 'balances', 500);
    const balance = await get(api, `/v1/accounts/${accountId}/balance?minPosition=500`);
    expect(balance.status).toBe(200);
    const entries = await get(api, `/v1/accounts/${accountId}/entries?minPosition=500`);
    expect(entries.status).toBe(503);
    expect(entries.body.error!.details).toMatchObject({ projection: 'journal', position: '100' });
  });

  it('withdrawals and the review queue wait on theirs', async () => {
    const withdrawalId = `w-${randomUUID()}`;
    const waiting = Promise.all([
      get(api, `/v1/withdrawals/${withdrawalId}?minPosition=120`),
      get(api, '/v1/withdrawals?minPosition=120&limit=1'),
      get(api, '/v1/review-queue?minPosition=120&state=all'),
    ]);
    await sleep(200);
    await seedWithdrawal(api.pool, { withdrawalId, accountId: 'acc-1', requestedAt: '2026-11-23T10:00:00Z', position: '120' });
    await seedReview(api.pool, { withdrawalId, requestedAt: '2026-11-23T10:00:00Z', position: '120' });
    await setCheckpoint(api.pool, 'withdrawals', 120);
    const [one, list, queue] = await waiting;
    expect([one.status, one.body.withdrawalId]).toEqual([200, withdrawalId]);
    expect(list.status).toBe(200);
    expect(queue.status).toBe(200);
    expect((queue.body.items as Array<{ withdrawalId: string }>).map((i) => i.withdrawalId)).toContain(withdrawalId);
  });

  it('many concurrent waiters are all released by one checkpoint move', async () => {
    const accountId = `acc-${randomUUID()}`;
    await seedBalance(api.pool, { accountId });
    const waiting = Promise.all(Array.from({ length: 50 }, () => get(api, `/v1/accounts/${accountId}/balance?minPosition=300`)));
    await sleep(200);
    await setCheckpoint(api.pool, 'balances', 300);
    const answers = await waiting;
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 50 }, () => 200));
  });
});
