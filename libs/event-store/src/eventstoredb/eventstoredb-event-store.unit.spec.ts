import { AccessDeniedError, UnavailableError } from '@eventstore/db-client';
import { EventIdConflict, EventStoreTimeout, EventStoreUnavailable, WrongExpectedVersion } from '../errors';
import type { RecordedEvent } from '../port';
import { describeEventStoreContract, event, events, streamName, waitUntil } from '../testing/event-store.contract';
import { EventStoreDbEventStore } from './eventstoredb-event-store';
import { InMemoryEventStoreDb } from './testing/in-memory-eventstoredb';

/*
 * No EventStoreDB server runs here, so the adapter is exercised against an in-memory
 * server that reproduces the behaviours it relies on (see in-memory-eventstoredb.ts).
 * The same contract runs against a real server in eventstoredb-event-store.int.spec.ts
 * when EVENTSTORE_URL is set.
 */
describeEventStoreContract(
  'EventStoreDB adapter over an in-memory server',
  async () => {
    const server = new InMemoryEventStoreDb();
    return { store: EventStoreDbEventStore.fromClientFactory(() => server.client(), { timeoutMs: 2_000 }) };
  },
  async ({ store }) => store.close(),
);

describe('EventStoreDbEventStore (in-memory server)', () => {
  let server: InMemoryEventStoreDb;
  let store: EventStoreDbEventStore;

  beforeEach(() => {
    server = new InMemoryEventStoreDb();
    store = EventStoreDbEventStore.fromClientFactory(() => server.client(), { timeoutMs: 300 });
  });
  afterEach(async () => {
    await store.close();
  });

  describe('appends racing another writer between the check and the write', () => {
    it('reports a concurrent duplicate id with other content as a conflict, not as success', async () => {
      const stream = streamName();
      await store.append(stream, events(1), { expectedRevision: 'no_stream' });
      const ours = event('Deposited', { amount: '100' });
      // EventStoreDB acknowledges our exact-revision append as a retry of this one.
      server.hooks.beforeAppend = once(() => {
        server.append(stream, [{ id: ours.id, type: 'Deposited', data: '{"amount":"999"}', metadata: '{}' }], 0n);
      });
      await expect(store.append(stream, [ours], { expectedRevision: 0n })).rejects.toMatchObject({
        code: 'event_id_conflict',
        eventId: ours.id,
      });
      const read = await store.readStream(stream);
      expect(read.map((e) => e.data)).toEqual([{ index: 0 }, { amount: '999' }]);
    });

    it('reports a concurrent identical duplicate with its revision and position', async () => {
      const stream = streamName();
      const ours = event('Deposited', { amount: '100' });
      server.hooks.beforeAppend = once(() => {
        server.append(stream, [{ id: ours.id, type: 'Deposited', data: '{"amount":"100"}', metadata: '{}' }], 'no_stream');
      });
      const result = await store.append(stream, [ours], { expectedRevision: 'no_stream' });
      const [stored] = await store.readStream(stream);
      expect(result).toEqual({ nextExpectedRevision: 0n, position: stored!.globalPosition, idempotent: false });
      expect(await store.readStream(stream)).toHaveLength(1);
    });

    it("retries an 'any' append that lost the race, and writes it once", async () => {
      const stream = streamName();
      await store.append(stream, events(1), { expectedRevision: 'no_stream' });
      server.hooks.beforeAppend = once(() => {
        server.append(stream, [{ id: globalThis.crypto.randomUUID(), type: 'Racer', data: '{}', metadata: '{}' }], 'any');
      });
      const mine = event('Deposited', { mine: true });
      const result = await store.append(stream, [mine], { expectedRevision: 'any' });
      expect(result.nextExpectedRevision).toBe(2n);
      expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['Deposited', 'Racer', 'Deposited']);
    });

    it('turns a lost race at an exact revision into WrongExpectedVersion with the new revision', async () => {
      const stream = streamName();
      await store.append(stream, events(1), { expectedRevision: 'no_stream' });
      server.hooks.beforeAppend = once(() => {
        server.append(stream, [{ id: globalThis.crypto.randomUUID(), type: 'Racer', data: '{}', metadata: '{}' }], 0n);
      });
      const attempt = store.append(stream, events(1), { expectedRevision: 0n });
      await expect(attempt).rejects.toBeInstanceOf(WrongExpectedVersion);
      await expect(attempt).rejects.toMatchObject({ actualRevision: 1n, expectedRevision: 0n });
    });
  });

  describe('the idempotency window', () => {
    it('reports the position of the last event of a multi-event append, not the first', async () => {
      const stream = streamName();
      const result = await store.append(stream, events(3), { expectedRevision: 'no_stream' });
      const read = await store.readStream(stream);
      expect(result.position).toBe(read[2]!.globalPosition);
      expect(read[0]!.globalPosition).not.toBe(read[2]!.globalPosition);
    });

    it('does not see a duplicate older than the window (documented limit)', async () => {
      await store.close();
      store = EventStoreDbEventStore.fromClientFactory(() => server.client(), { idempotencyWindow: 2 });
      const stream = streamName();
      const old = event('Deposited', { n: 0 });
      await store.append(stream, [old], { expectedRevision: 'no_stream' });
      await store.append(stream, events(3), { expectedRevision: 0n });
      for (let i = 0; i < 3; i += 1) server.writeSystemEvent('$stats-127.0.0.1:2113', '$statsCollected');
      const again = await store.append(stream, [old], { expectedRevision: 'any' });
      expect(again.idempotent).toBe(false);
      expect((await store.readStream(stream)).filter((e) => e.id === old.id)).toHaveLength(2);
    });

    it('finds an id stored in another stream among the newest events of the log', async () => {
      const first = streamName();
      const reused = event('Deposited', { n: 1 });
      await store.append(first, [reused], { expectedRevision: 'no_stream' });
      const attempt = store.append(streamName(), [reused], { expectedRevision: 'no_stream' });
      await expect(attempt).rejects.toBeInstanceOf(EventIdConflict);
      await expect(attempt).rejects.toMatchObject({ eventId: reused.id });
    });
  });

  describe('system events', () => {
    it('are invisible to readAll and headPosition, however many trail the log', async () => {
      const stream = streamName();
      const { position } = await store.append(stream, events(2), { expectedRevision: 'no_stream' });
      for (let i = 0; i < 250; i += 1) server.writeSystemEvent(`$$${stream}`, '$metadata');
      expect(await store.headPosition()).toBe(position);
      const all = await store.readAll('start', 1_000);
      expect(all.map((e) => e.streamName)).toEqual([stream, stream]);
      expect(await store.readAll(position, 10)).toEqual([]);
    });

    it('leave headPosition at -1 when nothing else was ever written', async () => {
      expect(await store.headPosition()).toBe(-1n);
    });

    it('are skipped between the pages of readAll without ending it early', async () => {
      const a = streamName();
      await store.append(a, events(1), { expectedRevision: 'no_stream' });
      for (let i = 0; i < 1_200; i += 1) server.writeSystemEvent('$settings', '$settings');
      const b = streamName();
      await store.append(b, events(1), { expectedRevision: 'no_stream' });
      const read = await store.readAll('start', 2);
      expect(read.map((e) => e.streamName)).toEqual([a, b]);
      expect(await store.readAll(read[0]!.globalPosition, 5)).toEqual([read[1]]);
    });
  });

  describe('timeouts', () => {
    it('rejects an append that never answers within the timeout and replaces the client', async () => {
      server.hooks.beforeAppend = () => new Promise<void>(() => undefined);
      const started = Date.now();
      await expect(store.append(streamName(), events(1), { expectedRevision: 'any' })).rejects.toBeInstanceOf(
        EventStoreTimeout,
      );
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(server.clients).toHaveLength(2);
    });

    it('rejects a read that never answers within the timeout, reporting the configured deadline', async () => {
      server.hooks.hangReads = true;
      await expect(store.readStream(streamName())).rejects.toMatchObject({
        code: 'event_store_timeout',
        operation: 'readStream',
        timeoutMs: 300,
      });
      server.hooks.hangReads = false;
      // The replacement client serves the next call.
      await expect(store.readStream(streamName())).resolves.toEqual([]);
      expect(server.clients).toHaveLength(2);
    });

    it('releases every client on close, and refuses calls after it', async () => {
      server.hooks.hangReads = true;
      await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreTimeout);
      await store.close();
      expect(server.clients.every((client) => (client as unknown as { disposed: boolean }).disposed)).toBe(true);
      await expect(store.readAll('start', 1)).rejects.toBeInstanceOf(EventStoreUnavailable);
      expect(() => store.subscribeToAll({ from: 'start' })).toThrow(EventStoreUnavailable);
    });
  });

  describe('subscriptions', () => {
    it('batches what is already available, up to batchSize', async () => {
      const stream = streamName();
      await store.append(stream, events(7), { expectedRevision: 'no_stream' });
      const subscription = store.subscribeToAll({ from: 'start', batchSize: 5 });
      const iterator = subscription[Symbol.asyncIterator]();
      const first = await iterator.next();
      const second = await iterator.next();
      await subscription.close();
      expect((first.value as RecordedEvent[]).length).toBe(5);
      expect((second.value as RecordedEvent[]).length).toBe(2);
    });

    it('resubscribes after a transient failure from the last delivered position, skipping and repeating nothing', async () => {
      const stream = streamName();
      await store.append(stream, events(3), { expectedRevision: 'no_stream' });
      const subscription = store.subscribeToAll({ from: 'start', batchSize: 2 });
      const seen: RecordedEvent[] = [];
      const consumed = (async () => {
        for await (const batch of subscription) {
          seen.push(...batch);
          if (seen.length >= 8) break;
        }
      })();
      await waitUntil(() => seen.length >= 3);
      server.failSubscriptions(new UnavailableError());
      for (let i = 0; i < 5; i += 1) await store.append(stream, events(1), { expectedRevision: BigInt(2 + i) });
      await consumed;
      expect(seen.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    });

    it('replaces a client whose subscription is never confirmed, and carries on with the new one', async () => {
      server.hooks.silentSubscriptions = true;
      const subscription = store.subscribeToAll({ from: 'start' });
      const iterator = subscription[Symbol.asyncIterator]();
      const next = iterator.next();
      await waitUntil(() => server.clients.length === 2, 2_000);
      server.hooks.silentSubscriptions = false;
      const stream = streamName();
      await store.append(stream, events(1), { expectedRevision: 'no_stream' });
      const received = await next;
      await subscription.close();
      expect((received.value as RecordedEvent[]).map((e) => e.streamName)).toEqual([stream]);
    });

    it('ends with the mapped error when the failure cannot heal', async () => {
      server.hooks.failNextSubscription = new AccessDeniedError();
      const subscription = store.subscribeToAll({ from: 'start' });
      const iterator = subscription[Symbol.asyncIterator]();
      await expect(iterator.next()).rejects.toBeInstanceOf(EventStoreUnavailable);
      expect(server.liveSubscriptions).toBe(0);
    });

    it('starts strictly after the given position, though the server may include it', async () => {
      const stream = streamName();
      await store.append(stream, events(3), { expectedRevision: 'no_stream' });
      const [, second] = await store.readStream(stream);
      const subscription = store.subscribeToAll({ from: second!.globalPosition });
      const iterator = subscription[Symbol.asyncIterator]();
      const batch = await iterator.next();
      await subscription.close();
      expect((batch.value as RecordedEvent[]).map((e) => e.streamRevision)).toEqual([2n]);
    });

    it('ends without error when its signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      const subscription = store.subscribeToAll({ from: 'start', signal: controller.signal });
      await expect(subscription[Symbol.asyncIterator]().next()).resolves.toMatchObject({ done: true });
    });

    it('refuses a second iterator over the same subscription', async () => {
      const subscription = store.subscribeToAll({ from: 'start' });
      subscription[Symbol.asyncIterator]();
      expect(() => subscription[Symbol.asyncIterator]()).toThrow(/only once/);
      await subscription.close();
    });
  });

  describe('arguments', () => {
    it('rejects options the adapter cannot honour before contacting the server', async () => {
      expect(() => EventStoreDbEventStore.fromClientFactory(() => server.client(), { timeoutMs: 0 })).toThrow(RangeError);
      expect(() => EventStoreDbEventStore.fromClientFactory(() => server.client(), { idempotencyWindow: 1.5 })).toThrow(
        RangeError,
      );
      await expect(store.readAll('start', -1)).rejects.toThrow(RangeError);
      await expect(store.readStream(streamName(), { fromRevision: -1n })).rejects.toThrow(RangeError);
      expect(() => store.subscribeToAll({ from: 'start', batchSize: 0 })).toThrow(RangeError);
    });
  });
});

/** A hook that acts on its first call only. */
function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
