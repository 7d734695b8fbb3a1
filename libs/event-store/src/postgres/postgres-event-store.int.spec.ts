import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { PostgresEventStore } from './postgres-event-store';
import { migrateEventStore } from './migrate';
import { MIGRATIONS } from './schema';
import {
  describeEventStoreContract,
  event,
  events,
  isStrictlyIncreasing,
  streamName,
  waitUntil,
} from '../testing/event-store.contract';
import type { RecordedEvent } from '../port';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('event_store');
});
afterAll(async () => {
  await database?.drop();
});

describeEventStoreContract(
  'PostgreSQL',
  async () => ({ store: await PostgresEventStore.create({ connectionString: database.url, poolSize: 20 }) }),
  async ({ store }) => store.close(),
);

describe('PostgreSQL event store', () => {
  let store: PostgresEventStore;

  beforeAll(async () => {
    store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 20 });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('migrations are idempotent and safe to run concurrently', async () => {
    await Promise.all([migrateEventStore(store.pool), migrateEventStore(store.pool), migrateEventStore(store.pool)]);
    const { rows } = await store.pool.query('select version from event_store.migrations order by version');
    expect(rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
  });

  it('lets append_batch cache its plans, with sequential scans ruled out so an empty table cannot fix a bad one', async () => {
    const { rows } = await store.pool.query<{ config: string[] }>(
      `select proconfig as config from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'event_store' and p.proname = 'append_batch'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.config.sort()).toEqual(['enable_seqscan=off', 'plan_cache_mode=auto']);
  });

  it('hands out dense positions: no gaps, even after rejected appends', async () => {
    const head = await store.headPosition();
    const stream = streamName();
    await store.append(stream, events(2), { expectedRevision: 'no_stream' });
    await expect(store.append(stream, events(1), { expectedRevision: 5n })).rejects.toMatchObject({
      code: 'wrong_expected_version',
    });
    await store.append(stream, events(1), { expectedRevision: 1n });
    const read = await store.readAll(head < 0n ? 'start' : head, 100);
    const positions = read.map((e) => e.globalPosition);
    const first = positions[0]!;
    expect(positions).toEqual(positions.map((_p, i) => first + BigInt(i)));
  });

  it('group commit keeps every append in a batch on its own revision check', async () => {
    const stream = streamName();
    await store.append(stream, events(1), { expectedRevision: 'no_stream' });
    // Fired together, these leave in one or two batches; exactly one may win revision 0.
    const racers = await Promise.allSettled(
      Array.from({ length: 20 }, () => store.append(stream, events(1), { expectedRevision: 0n })),
    );
    expect(racers.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = racers.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(19);
    for (const r of rejected) expect(r.reason).toMatchObject({ code: 'wrong_expected_version', actualRevision: 1n });
    // Appends to other streams in the same batches are unaffected.
    const others = await Promise.all(
      Array.from({ length: 20 }, () => store.append(streamName(), events(2), { expectedRevision: 'no_stream' })),
    );
    expect(others.every((r) => r.nextExpectedRevision === 1n)).toBe(true);
    expect(await store.readStream(stream)).toHaveLength(2);
  });

  it('two appends to one stream in the same batch apply in call order', async () => {
    const stream = streamName();
    const [first, second] = await Promise.all([
      store.append(stream, events(1), { expectedRevision: 'no_stream' }),
      store.append(stream, events(1), { expectedRevision: 0n }),
    ]);
    expect(first.nextExpectedRevision).toBe(0n);
    expect(second.nextExpectedRevision).toBe(1n);
  });

  describe('gap safety: commit order versus position order', () => {
    it('a transaction held open after taking its position hides nothing from a subscriber', async () => {
      const head = await store.headPosition();
      const seen: RecordedEvent[] = [];
      const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head });
      const consuming = (async () => {
        for await (const batch of subscription) seen.push(...batch);
      })();

      // A raw session appends and then sits on its open transaction.
      const held = new Client({ connectionString: database.url });
      await held.connect();
      const heldStream = streamName('held');
      const heldEvent = event('Deposited', { held: true });
      await held.query('begin');
      await held.query(
        `select * from event_store.append_batch(array[$1], array['no_stream'], array[1], array[$2::uuid], array['Deposited'], array['{"held":true}'::jsonb], array['{}'::jsonb])`,
        [heldStream, heldEvent.id],
      );

      // Others append while it is open. Their positions come after the held one's, so
      // none may become visible before the held transaction ends.
      const others = Array.from({ length: 10 }, () => streamName('other'));
      const appends = Promise.all(others.map((s) => store.append(s, events(1), { expectedRevision: 'no_stream' })));
      let settled = false;
      void appends.then(() => (settled = true));
      await new Promise((done) => setTimeout(done, 300));
      expect(settled).toBe(false);
      expect(seen.filter((e) => e.streamName === heldStream || others.includes(e.streamName))).toEqual([]);

      await held.query('commit');
      await held.end();
      await appends;
      await waitUntil(() => seen.length >= 11);
      await subscription.close();
      await consuming;

      expect(seen).toHaveLength(11);
      expect(seen[0]!.streamName).toBe(heldStream);
      expect(isStrictlyIncreasing(seen.map((e) => e.globalPosition))).toBe(true);
      expect(new Set(seen.map((e) => e.id)).size).toBe(11);
    });

    it('random commit delays across 8 sessions: every event delivered exactly once, in order', async () => {
      const head = await store.headPosition();
      const seen: RecordedEvent[] = [];
      const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head, batchSize: 7 });
      const consuming = (async () => {
        for await (const batch of subscription) seen.push(...batch);
      })();

      const sessions = 8;
      const perSession = 40;
      const written: string[] = [];
      await Promise.all(
        Array.from({ length: sessions }, async () => {
          const client = new Client({ connectionString: database.url });
          await client.connect();
          try {
            for (let i = 0; i < perSession; i += 1) {
              const id = randomUUID();
              await client.query('begin');
              await client.query(
                `select * from event_store.append_batch(array[$1], array['any'], array[1], array[$2::uuid], array['Deposited'], array['{}'::jsonb], array['{}'::jsonb])`,
                [streamName('race'), id],
              );
              // Sit on the position for a random moment before committing.
              await client.query('select pg_sleep($1)', [Math.random() * 0.004]);
              await client.query('commit');
              written.push(id);
            }
          } finally {
            await client.end();
          }
        }),
      );
      await waitUntil(() => seen.length >= sessions * perSession);
      await subscription.close();
      await consuming;

      expect(seen).toHaveLength(sessions * perSession);
      expect(new Set(seen.map((e) => e.id))).toEqual(new Set(written));
      const positions = seen.map((e) => e.globalPosition);
      expect(isStrictlyIncreasing(positions)).toBe(true);
      // Dense: exactly one event per position from the first to the last.
      expect(positions[positions.length - 1]! - positions[0]!).toBe(BigInt(positions.length - 1));
    });
  });

  it('a subscription survives the listener connection being killed and keeps its place', async () => {
    const head = await store.headPosition();
    const stream = streamName();
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head });
    const consuming = (async () => {
      for await (const batch of subscription) seen.push(...batch.filter((e) => e.streamName === stream));
    })();
    await store.append(stream, events(1), { expectedRevision: 'no_stream' });
    await waitUntil(() => seen.length === 1);
    await store.pool.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'ledger-event-listener' and datname = current_database()`,
    );
    await store.append(stream, events(1), { expectedRevision: 0n });
    await store.append(stream, events(1), { expectedRevision: 1n });
    await waitUntil(() => seen.length === 3);
    await subscription.close();
    await consuming;
    expect(seen.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n]);
  });

  it('close() lets reads already sent finish, even ones waiting for a connection, and refuses later ones', async () => {
    // One connection: the second and third reads wait in the pool's queue, which pg-pool's
    // end() would leave pending forever (found by test/simulation, seed 3).
    const small = await PostgresEventStore.create({ connectionString: database.url, poolSize: 1, migrate: false });
    const reads = [small.readAll('start', 10), small.readStream(streamName()), small.headPosition()].map((read) =>
      (read as Promise<unknown>).then(
        () => 'answered',
        (error: Error) => error.message,
      ),
    );
    await small.close();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([Promise.all(reads), new Promise((done) => (timer = setTimeout(() => done('hung'), 5_000)))]);
    clearTimeout(timer);
    expect(outcome).toEqual(['answered', 'answered', 'answered']);
    await expect(small.readAll('start', 10)).rejects.toThrow('event store is closed');
  });
});
