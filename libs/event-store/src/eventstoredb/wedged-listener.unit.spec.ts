import { createServer, type Server, type Socket } from 'node:net';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { EventStoreTimeout } from '../errors';
import type { RecordedEvent } from '../port';
import { events, streamName } from '../testing/event-store.contract';
import { releaseClient } from './client';
import { EventStoreDbEventStore } from './eventstoredb-event-store';
import { withTimeout } from './timeout';

/*
 * The failure ARCHITECTURE.md §3 warns about, reproduced with the real client and no
 * server: a listener that accepts TCP connections and never says a word of HTTP/2.
 * gRPC then waits for the connection forever, so only our own timers end the calls,
 * and only closing the client's channel lets Node exit. The listener's own sockets are
 * unref'd, so whatever still keeps the event loop alive afterwards is the client's.
 */
describe('EventStoreDbEventStore against a listener that never speaks gRPC', () => {
  let listener: Server;
  const sockets = new Set<Socket>();
  let url: string;

  beforeAll(async () => {
    listener = createServer((socket) => {
      socket.unref();
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((ready) => listener.listen(0, '127.0.0.1', ready));
    const address = listener.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    url = `esdb://127.0.0.1:${address.port}?tls=false`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((closed) => listener.close(closed));
  });

  it('fails every call with EventStoreTimeout near the timeout, and leaves nothing that keeps Node running after close', async () => {
    const timeoutMs = 200;
    const before = liveResources();
    const store = EventStoreDbEventStore.connect(url, { timeoutMs });
    try {
      for (const call of [
        () => store.headPosition(),
        () => store.readStream(streamName()),
        () => store.readAll('start', 10),
        () => store.append(streamName(), events(1), { expectedRevision: 'any' }),
      ]) {
        const started = Date.now();
        await expect(call()).rejects.toBeInstanceOf(EventStoreTimeout);
        // Our deadline plus the backstop margin at most, with room for a slow machine.
        expect(Date.now() - started).toBeLessThan(timeoutMs + 500 + 1_000);
      }
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    await settle();
    expect(addedSince(before)).toEqual({});
  });

  it('keeps retrying a subscription that is never confirmed, and ends it on close', async () => {
    const before = liveResources();
    const store = EventStoreDbEventStore.connect(url, { timeoutMs: 200 });
    const subscription = store.subscribeToAll({ from: 'start' });
    const next = subscription[Symbol.asyncIterator]().next();
    let settled: IteratorResult<readonly RecordedEvent[]> | undefined;
    void next.then((result) => (settled = result));
    await new Promise((done) => setTimeout(done, 700));
    expect(settled).toBeUndefined();
    await store.close();
    await expect(next).resolves.toMatchObject({ done: true });
    await settle();
    expect(addedSince(before)).toEqual({});
  });

  it('shows why the backstop exists: the client ignores its own deadline on its first append', async () => {
    const before = liveResources();
    const client = EventStoreDBClient.connectionString(url);
    const append = client.appendToStream(streamName(), jsonEvent({ type: 'Probe', data: {} }), { deadline: 100 });
    // The server-features request that precedes the append carries no deadline at all.
    await expect(withTimeout(append, { operation: 'append', timeoutMs: 1_000 })).rejects.toBeInstanceOf(
      EventStoreTimeout,
    );
    // The queued call holds a referenced timer: until the channel is closed (dispose()
    // alone does not), Node cannot exit.
    expect(liveResources().Timeout ?? 0).toBeGreaterThan(before.Timeout ?? 0);
    await releaseClient(client, 1_000);
    await expect(append).rejects.toMatchObject({ code: 14, details: 'Channel closed before call started' });
    await settle();
    expect(addedSince(before)).toEqual({});
  });
});

/** Counts of the sockets and timers that keep the event loop alive. */
function liveResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of process.getActiveResourcesInfo()) {
    if (resource === 'TCPSocketWrap' || resource === 'Timeout') counts[resource] = (counts[resource] ?? 0) + 1;
  }
  return counts;
}

/** What keeps the event loop alive now beyond what did at `before` (Jest's own timers come and go). */
function addedSince(before: Record<string, number>): Record<string, number> {
  const added: Record<string, number> = {};
  for (const [resource, count] of Object.entries(liveResources())) {
    if (count > (before[resource] ?? 0)) added[resource] = count - (before[resource] ?? 0);
  }
  return added;
}

/** Lets closed handles finish closing. */
function settle(): Promise<void> {
  return new Promise((done) => setImmediate(() => setImmediate(done)));
}
