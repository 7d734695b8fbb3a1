import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { IdempotencyStore } from './idempotency-store';
import { migrateIdempotency } from './migrate';
import { IDEMPOTENCY_MIGRATIONS } from './schema';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fp = (n: number) => n.toString(16).padStart(64, '0');
const LEASE_MS = 30_000;

describe('IdempotencyStore', () => {
  let database: TestDatabase;
  let pool: Pool;
  let store: IdempotencyStore;

  beforeAll(async () => {
    database = await createTestDatabase('idempotency_store');
    pool = new Pool({ connectionString: database.url, max: 24 });
    // An idle client cut by the server must not crash the run; the next query reconnects.
    pool.on('error', () => undefined);
    // Several starters at once: the advisory lock lets one migrate and the others find it done.
    await Promise.all([migrateIdempotency(pool), migrateIdempotency(pool), migrateIdempotency(pool)]);
    store = new IdempotencyStore(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  const newKey = () => `key-${randomUUID()}`;

  it('migrates once, however many processes start together', async () => {
    const { rows } = await pool.query('select version from platform.idempotency_migrations');
    expect(rows.map((row) => row.version)).toEqual(IDEMPOTENCY_MIGRATIONS.map((m) => m.version));
    await migrateIdempotency(pool);
  });

  it('starts a new key, then replays the stored response to the same request', async () => {
    const key = newKey();
    const started = await store.begin('scope-a', key, fp(1), LEASE_MS);
    expect(started.kind).toBe('started');
    const lease = started.kind === 'started' ? started.lease : '';
    expect(await store.complete('scope-a', key, 201, { id: 'w1', status: 'requested' }, { location: '/v1/w/w1' }, lease)).toBe(
      true,
    );

    expect(await store.begin('scope-a', key, fp(1), LEASE_MS)).toEqual({
      kind: 'replay',
      status: 201,
      body: { id: 'w1', status: 'requested' },
      headers: { location: '/v1/w/w1' },
    });
  });

  it('keeps the body exactly: key order, top-level arrays and no body at all', async () => {
    const ordered = newKey();
    await store.begin('s', ordered, fp(1), LEASE_MS);
    await store.complete('s', ordered, 200, { zebra: 1, alpha: { b: 2, a: 1 } });
    const replay = await store.begin('s', ordered, fp(1), LEASE_MS);
    expect(replay.kind === 'replay' && JSON.stringify(replay.body)).toBe('{"zebra":1,"alpha":{"b":2,"a":1}}');

    const list = newKey();
    await store.begin('s', list, fp(1), LEASE_MS);
    await store.complete('s', list, 200, [1, 'two']);
    expect(await store.begin('s', list, fp(1), LEASE_MS)).toMatchObject({ kind: 'replay', body: [1, 'two'] });

    const empty = newKey();
    await store.begin('s', empty, fp(1), LEASE_MS);
    await store.complete('s', empty, 204, undefined);
    expect(await store.begin('s', empty, fp(1), LEASE_MS)).toEqual({ kind: 'replay', status: 204, body: undefined, headers: {} });
  });

  it('refuses the key for another request, whether the first is completed or in flight', async () => {
    const completed = newKey();
    await store.begin('s', completed, fp(1), LEASE_MS);
    await store.complete('s', completed, 201, {});
    expect(await store.begin('s', completed, fp(2), LEASE_MS)).toEqual({ kind: 'reused' });

    const inFlight = newKey();
    await store.begin('s', inFlight, fp(1), LEASE_MS);
    expect(await store.begin('s', inFlight, fp(2), LEASE_MS)).toEqual({ kind: 'reused' });
  });

  it('says in use while the same request runs, and reused for another even after its lease ran out', async () => {
    const key = newKey();
    await store.begin('s', key, fp(1), 200);
    expect(await store.begin('s', key, fp(1), LEASE_MS)).toEqual({ kind: 'in_use' });
    await sleep(250);
    expect(await store.begin('s', key, fp(2), LEASE_MS)).toEqual({ kind: 'reused' });
  });

  it('scopes keys: the same key under two API keys is two keys', async () => {
    const key = newKey();
    expect((await store.begin('scope-a', key, fp(1), LEASE_MS)).kind).toBe('started');
    expect((await store.begin('scope-b', key, fp(2), LEASE_MS)).kind).toBe('started');
  });

  it('lets exactly one of many concurrent first requests start', async () => {
    const key = newKey();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.begin('s', key, fp(1), LEASE_MS)));
    expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'in_use')).toHaveLength(19);
  });

  it('answers each of many concurrent requests on its own key, though they share statements', async () => {
    // A burst big enough to be batched: many keys, some asked twice, some for another body.
    const keys = Array.from({ length: 300 }, () => newKey());
    const asks = keys.flatMap((key, index) => [
      { key, fingerprint: fp(index) },
      ...(index % 3 === 0 ? [{ key, fingerprint: fp(index) }] : []),
      ...(index % 5 === 0 ? [{ key, fingerprint: fp(index + 100_000) }] : []),
    ]);
    const outcomes = await Promise.all(asks.map((ask) => store.begin('batch', ask.key, ask.fingerprint, LEASE_MS)));
    for (const [index, key] of keys.entries()) {
      const mine = asks.map((ask, at) => ({ ask, outcome: outcomes[at]! })).filter(({ ask }) => ask.key === key);
      expect(mine.filter(({ outcome }) => outcome.kind === 'started')).toHaveLength(1);
      const started = mine.find(({ outcome }) => outcome.kind === 'started')!;
      for (const { ask, outcome } of mine) {
        if (outcome === started.outcome) continue;
        expect(outcome.kind).toBe(ask.fingerprint === started.ask.fingerprint ? 'in_use' : 'reused');
      }
      if (index % 7 === 0 && started.outcome.kind === 'started') {
        await expect(store.complete('batch', key, 201, { index }, {}, started.outcome.lease)).resolves.toBe(true);
      }
    }
    const completes = await Promise.all(
      keys.map((key, index) => {
        const at = asks.findIndex((ask, i) => ask.key === key && outcomes[i]!.kind === 'started');
        const outcome = outcomes[at]!;
        return outcome.kind === 'started' ? store.complete('batch', key, 201, { index }, {}, outcome.lease) : Promise.resolve(false);
      }),
    );
    // Those completed above are completed already; every other one completes now.
    expect(completes.filter((done, index) => done !== (index % 7 !== 0))).toEqual([]);
    const replay = await store.begin('batch', keys[1]!, fp(1), LEASE_MS);
    expect(replay).toEqual({ kind: 'replay', status: 201, body: { index: 1 }, headers: {} });
  });

  it('after a crash, a retry takes over once the lease ran out', async () => {
    const key = newKey();
    const crashed = await store.begin('s', key, fp(1), 200);
    const crashedLease = crashed.kind === 'started' ? crashed.lease : '';
    expect(await store.begin('s', key, fp(1), LEASE_MS)).toEqual({ kind: 'in_use' });
    await sleep(250);

    const retry = await store.begin('s', key, fp(1), LEASE_MS);
    expect(retry.kind).toBe('started');
    // The crashed attempt, should it wake up, can neither release nor answer for its successor.
    expect(await store.abandon('s', key, crashedLease)).toBe(false);
    expect(await store.complete('s', key, 500, {}, {}, crashedLease)).toBe(false);
    expect(await store.begin('s', key, fp(1), LEASE_MS)).toEqual({ kind: 'in_use' });

    await store.complete('s', key, 201, { ok: true }, {}, retry.kind === 'started' ? retry.lease : '');
    expect(await store.begin('s', key, fp(1), LEASE_MS)).toMatchObject({ kind: 'replay', status: 201 });
  });

  it('lets exactly one of several concurrent retries take over an expired lease', async () => {
    for (let round = 0; round < 5; round++) {
      const key = newKey();
      await store.begin('s', key, fp(1), 100);
      await sleep(150);
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => store.begin('s', key, fp(1), LEASE_MS)));
      expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'in_use')).toHaveLength(11);
    }
  });

  it('abandon lets the next retry run at once', async () => {
    const key = newKey();
    const first = await store.begin('s', key, fp(1), LEASE_MS);
    expect(await store.abandon('s', key, first.kind === 'started' ? first.lease : '')).toBe(true);
    expect((await store.begin('s', key, fp(1), LEASE_MS)).kind).toBe('started');
  });

  it('abandon never removes a completed answer', async () => {
    const key = newKey();
    await store.begin('s', key, fp(1), LEASE_MS);
    await store.complete('s', key, 201, {});
    expect(await store.abandon('s', key)).toBe(false);
    expect((await store.begin('s', key, fp(1), LEASE_MS)).kind).toBe('replay');
  });

  it('treats an expired key as new, whatever it held', async () => {
    const shortLived = new IdempotencyStore(pool, { ttlMs: 100 });
    const key = newKey();
    await shortLived.begin('s', key, fp(1), LEASE_MS);
    await shortLived.complete('s', key, 201, { first: true });
    await sleep(150);
    expect((await shortLived.begin('s', key, fp(2), LEASE_MS)).kind).toBe('started');
  });

  it('purges expired keys and only those', async () => {
    const shortLived = new IdempotencyStore(pool, { ttlMs: 60_000 });
    const doomed = [newKey(), newKey(), newKey()];
    for (const key of doomed) {
      await shortLived.begin('purge', key, fp(1), LEASE_MS);
    }
    await shortLived.complete('purge', doomed[0]!, 201, {});
    const kept = newKey();
    await store.begin('purge', kept, fp(1), LEASE_MS);
    await store.complete('purge', kept, 201, {});

    const inTwoHours = new Date(Date.now() + 2 * 3_600_000);
    expect(await store.purgeExpired(new Date())).toBe(0);
    const purged = await store.purgeExpired(inTwoHours);
    expect(purged).toBeGreaterThanOrEqual(3);
    const { rows } = await pool.query("select key from platform.idempotency_keys where scope = 'purge'");
    expect(rows.map((row) => row.key)).toEqual([kept]);
  });

  it('purges in batches beyond one batch', async () => {
    await pool.query(
      `insert into platform.idempotency_keys (scope, key, fingerprint, state, response_status, expires_at)
       select 'bulk', 'k' || n, $1, 'completed', 201, now() - interval '1 day' from generate_series(1, 2500) n`,
      [fp(1)],
    );
    expect(await store.purgeExpired(new Date())).toBeGreaterThanOrEqual(2500);
    const { rows } = await pool.query("select count(*)::int as n from platform.idempotency_keys where scope = 'bulk'");
    expect(rows[0].n).toBe(0);
  });
});
