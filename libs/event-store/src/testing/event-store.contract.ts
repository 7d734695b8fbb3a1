import { randomUUID } from 'node:crypto';
import { EventIdConflict, InvalidAppend, WrongExpectedVersion } from '../errors';
import { EVENT_STORE_LIMITS, type EventStore, type NewEvent, type RecordedEvent } from '../port';

/**
 * The one contract every event-store adapter passes. It assumes nothing about what the
 * store already holds (EventStoreDB cannot be wiped between runs): each test writes to
 * streams of its own and reads the global log from the head it saw at its start.
 */
export interface ContractSubject {
  store: EventStore;
}

export function describeEventStoreContract(
  adapterName: string,
  open: () => Promise<ContractSubject>,
  close: (subject: ContractSubject) => Promise<void>,
): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let subject: ContractSubject;
    let store: EventStore;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      if (subject) await close(subject);
    });

    describe('append and readStream', () => {
      it('numbers a new stream from revision 0 and reads it back in order', async () => {
        const stream = streamName();
        const events = [event('Opened', { n: 1 }), event('Deposited', { n: 2 }), event('Deposited', { n: 3 })];
        const result = await store.append(stream, events, { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(2n);
        expect(result.idempotent).toBe(false);

        const read = await store.readStream(stream);
        expect(read.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n]);
        expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
        expect(read.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
        expect(read.every((e) => e.streamName === stream)).toBe(true);
        expect(read[2]!.globalPosition).toBe(result.position);
        expect(read[0]!.globalPosition < read[1]!.globalPosition).toBe(true);
        expect(read[1]!.globalPosition < read[2]!.globalPosition).toBe(true);
      });

      it('round-trips metadata, nested data and the recording time', async () => {
        const stream = streamName();
        const metadata = {
          correlationId: randomUUID(),
          causationId: randomUUID(),
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          principal: 'api-key:test',
        };
        const data = { amount: '1050', currency: 'EUR', destination: { iban: 'DE89370400440532013000' }, tags: ['a'] };
        const before = Date.now();
        await store.append(stream, [{ ...event('Opened', data), metadata }], { expectedRevision: 'any' });
        const [read] = await store.readStream(stream);
        expect(read!.data).toEqual(data);
        expect(read!.metadata).toEqual(metadata);
        expect(read!.type).toBe('Opened');
        expect(read!.recordedAt).toBeInstanceOf(Date);
        // The server clock may differ a little from ours; a minute is plenty.
        expect(Math.abs(read!.recordedAt.getTime() - before)).toBeLessThan(60_000);
      });

      it('reads a stream that does not exist as empty', async () => {
        await expect(store.readStream(streamName())).resolves.toEqual([]);
      });

      it('reads from a revision and at most maxCount events', async () => {
        const stream = streamName();
        await store.append(stream, events(5), { expectedRevision: 'no_stream' });
        const read = await store.readStream(stream, { fromRevision: 2n, maxCount: 2 });
        expect(read.map((e) => e.streamRevision)).toEqual([2n, 3n]);
      });
    });

    describe('expected revision', () => {
      it('accepts the exact current revision and rejects any other with the actual one', async () => {
        const stream = streamName();
        await store.append(stream, events(2), { expectedRevision: 'no_stream' });
        const ok = await store.append(stream, events(1), { expectedRevision: 1n });
        expect(ok.nextExpectedRevision).toBe(2n);

        const stale = store.append(stream, events(1), { expectedRevision: 1n });
        await expect(stale).rejects.toBeInstanceOf(WrongExpectedVersion);
        await expect(stale).rejects.toMatchObject({ actualRevision: 2n, expectedRevision: 1n, streamName: stream });
        await expect(store.append(stream, events(1), { expectedRevision: 7n })).rejects.toMatchObject({
          code: 'wrong_expected_version',
          actualRevision: 2n,
        });
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('no_stream fails on an existing stream; stream_exists fails on a missing one', async () => {
        const stream = streamName();
        await expect(store.append(stream, events(1), { expectedRevision: 'stream_exists' })).rejects.toMatchObject({
          code: 'wrong_expected_version',
          actualRevision: -1n,
        });
        await store.append(stream, events(1), { expectedRevision: 'no_stream' });
        await expect(store.append(stream, events(1), { expectedRevision: 'no_stream' })).rejects.toMatchObject({
          code: 'wrong_expected_version',
          actualRevision: 0n,
        });
        const exists = await store.append(stream, events(1), { expectedRevision: 'stream_exists' });
        expect(exists.nextExpectedRevision).toBe(1n);
      });

      it('an exact revision on a missing stream is a conflict', async () => {
        await expect(store.append(streamName(), events(1), { expectedRevision: 0n })).rejects.toMatchObject({
          code: 'wrong_expected_version',
          actualRevision: -1n,
        });
      });

      it('any appends whether or not the stream exists', async () => {
        const stream = streamName();
        expect((await store.append(stream, events(2), { expectedRevision: 'any' })).nextExpectedRevision).toBe(1n);
        expect((await store.append(stream, events(1), { expectedRevision: 'any' })).nextExpectedRevision).toBe(2n);
      });
    });

    describe('idempotent appends by event id', () => {
      it('a repeated append is a no-op that reports the original revision and position', async () => {
        const stream = streamName();
        const batch = events(2);
        const first = await store.append(stream, batch, { expectedRevision: 'no_stream' });
        await store.append(stream, events(1), { expectedRevision: 1n });

        for (const expectedRevision of ['no_stream', 'any', 0n] as const) {
          const again = await store.append(stream, batch, { expectedRevision });
          expect(again).toEqual({ ...first, idempotent: true });
        }
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('the same id with other data is a conflict and writes nothing', async () => {
        const stream = streamName();
        const original = event('Deposited', { amount: '100' });
        await store.append(stream, [original], { expectedRevision: 'no_stream' });
        const forged = { ...original, data: { amount: '999' } };
        await expect(store.append(stream, [forged], { expectedRevision: 'any' })).rejects.toBeInstanceOf(
          EventIdConflict,
        );
        const sameTypeOtherType = { ...original, type: 'Withdrawn' };
        await expect(store.append(stream, [sameTypeOtherType], { expectedRevision: 0n })).rejects.toMatchObject({
          code: 'event_id_conflict',
          eventId: original.id,
        });
        expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ amount: '100' }]);
      });

      it('repeating only part of an earlier append, or an id from another stream, is a conflict', async () => {
        const stream = streamName();
        const batch = events(2);
        await store.append(stream, batch, { expectedRevision: 'no_stream' });
        await expect(store.append(stream, [batch[0]!, event('Deposited', {})], { expectedRevision: 'any' })).rejects.toMatchObject({
          code: 'event_id_conflict',
        });
        await expect(store.append(streamName(), [batch[1]!], { expectedRevision: 'any' })).rejects.toMatchObject({
          code: 'event_id_conflict',
        });
        expect(await store.readStream(stream)).toHaveLength(2);
      });
    });

    describe('bad input is rejected with a typed error and writes nothing', () => {
      const cases: Array<[string, (stream: string) => [string, NewEvent[], unknown]]> = [
        ['an empty event list', (s) => [s, [], { expectedRevision: 'any' }]],
        ['an unknown expected revision', (s) => [s, events(1), { expectedRevision: 'latest' }]],
        ['a negative expected revision', (s) => [s, events(1), { expectedRevision: -1n }]],
        ['a number as expected revision', (s) => [s, events(1), { expectedRevision: 0 }]],
        ['no options', (s) => [s, events(1), undefined]],
        ['an empty stream name', () => ['', events(1), { expectedRevision: 'any' }]],
        ['a system stream name', () => ['$all', events(1), { expectedRevision: 'any' }]],
        ['a stream name without an id', () => ['account', events(1), { expectedRevision: 'any' }]],
        ['a stream name with a space', () => ['account-a b', events(1), { expectedRevision: 'any' }]],
        ['an upper-case category', () => ['Account-1', events(1), { expectedRevision: 'any' }]],
        [
          'an over-long stream name',
          () => [`account-${'x'.repeat(EVENT_STORE_LIMITS.maxStreamNameLength)}`, events(1), { expectedRevision: 'any' }],
        ],
        ['a malformed event id', (s) => [s, [{ ...event('Opened', {}), id: 'not-a-uuid' }], { expectedRevision: 'any' }]],
        ['an event id twice in one append', (s) => {
          const e = event('Opened', {});
          return [s, [e, { ...e }], { expectedRevision: 'any' }];
        }],
        ['a malformed event type', (s) => [s, [event('opened event', {})], { expectedRevision: 'any' }]],
        ['data that is not an object', (s) => [s, [event('Opened', 42)], { expectedRevision: 'any' }]],
        [
          'an event over the size limit',
          (s) => [s, [event('Opened', { blob: 'x'.repeat(EVENT_STORE_LIMITS.maxEventBytes) })], { expectedRevision: 'any' }],
        ],
        [
          'an append over the total size limit',
          (s) => {
            const count = Math.ceil(EVENT_STORE_LIMITS.maxAppendBytes / (EVENT_STORE_LIMITS.maxEventBytes / 2)) + 1;
            const blob = 'x'.repeat(EVENT_STORE_LIMITS.maxEventBytes / 2);
            return [s, Array.from({ length: count }, () => event('Opened', { blob })), { expectedRevision: 'any' }];
          },
        ],
        [
          'too many events in one append',
          (s) => [s, events(EVENT_STORE_LIMITS.maxEventsPerAppend + 1), { expectedRevision: 'any' }],
        ],
      ];

      it.each(cases)('%s', async (_name, build) => {
        const stream = streamName();
        const headBefore = await store.headPosition();
        const [target, batch, options] = build(stream);
        const attempt = store.append(target, batch, options as never);
        await expect(attempt).rejects.toBeInstanceOf(InvalidAppend);
        expect(await store.headPosition()).toBe(headBefore);
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('readAll and headPosition', () => {
      it('reads the global log in order from strictly after a position, with a limit', async () => {
        const head = await store.headPosition();
        const a = streamName();
        const b = streamName();
        await store.append(a, events(2), { expectedRevision: 'no_stream' });
        await store.append(b, events(2), { expectedRevision: 'no_stream' });
        const newHead = await store.headPosition();
        expect(newHead > head).toBe(true);

        const read = await readAllFrom(store, head);
        const ours = read.filter((e) => e.streamName === a || e.streamName === b);
        expect(ours.map((e) => `${e.streamName}@${e.streamRevision}`)).toEqual([
          `${a}@0`,
          `${a}@1`,
          `${b}@0`,
          `${b}@1`,
        ]);
        expect(isStrictlyIncreasing(read.map((e) => e.globalPosition))).toBe(true);
        expect(read[read.length - 1]!.globalPosition).toBe(newHead);

        const limited = await store.readAll(head < 0n ? 'start' : head, 1);
        expect(limited).toHaveLength(1);
        const next = await store.readAll(limited[0]!.globalPosition, 1);
        expect(next[0]!.globalPosition > limited[0]!.globalPosition).toBe(true);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a position and then tails live appends, each exactly once, in order', async () => {
        const head = await store.headPosition();
        const stream = streamName();
        await store.append(stream, events(3), { expectedRevision: 'no_stream' });

        const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head, batchSize: 2 });
        const seen: RecordedEvent[] = [];
        const done = (async () => {
          for await (const batch of subscription) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(2);
            seen.push(...batch.filter((e) => e.streamName === stream));
            if (seen.length >= 6) break;
          }
        })();
        await waitUntil(() => seen.length >= 3);
        // Live: appended after the subscription has drained the log.
        for (let i = 0; i < 3; i += 1) {
          await store.append(stream, events(1), { expectedRevision: BigInt(2 + i) });
        }
        await done;
        await subscription.close();
        expect(seen.map((e) => e.streamRevision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
      });

      it('wakes a live subscriber within milliseconds of a commit', async () => {
        const head = await store.headPosition();
        const stream = streamName();
        const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head });
        const iterator = subscription[Symbol.asyncIterator]();
        const next = iterator.next();
        await new Promise((done) => setTimeout(done, 100));
        const appendedAt = Date.now();
        await store.append(stream, events(1), { expectedRevision: 'no_stream' });
        const received = await next;
        const latencyMs = Date.now() - appendedAt;
        await subscription.close();
        expect(received.done).toBe(false);
        expect((received.value as readonly RecordedEvent[]).some((e) => e.streamName === stream)).toBe(true);
        // The poll fallback is a second; a notification is far quicker.
        expect(latencyMs).toBeLessThan(500);
      });

      it('ends when closed or when its signal aborts', async () => {
        const head = await store.headPosition();
        const controller = new AbortController();
        const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head, signal: controller.signal });
        const drained = (async () => {
          let batches = 0;
          for await (const _batch of subscription) batches += 1;
          return batches;
        })();
        await new Promise((done) => setTimeout(done, 50));
        controller.abort();
        await expect(drained).resolves.toBe(0);

        const other = store.subscribeToAll({ from: head < 0n ? 'start' : head });
        const iterator = other[Symbol.asyncIterator]();
        const pending = iterator.next();
        await other.close();
        await expect(pending).resolves.toMatchObject({ done: true });
      });
    });

    describe('concurrency', () => {
      it('50 writers on one stream with exact revisions: no lost or duplicated revision', async () => {
        const stream = streamName();
        const writers = 50;
        const attempts = { conflicts: 0 };
        await Promise.all(
          Array.from({ length: writers }, (_unused, writer) =>
            appendWithRetry(store, stream, event('Deposited', { writer }), attempts),
          ),
        );
        const read = await store.readStream(stream);
        expect(read.map((e) => e.streamRevision)).toEqual(Array.from({ length: writers }, (_u, i) => BigInt(i)));
        expect(new Set(read.map((e) => (e.data as { writer: number }).writer)).size).toBe(writers);
        // Fifty writers racing for one revision must have collided; the check is not vacuous.
        expect(attempts.conflicts).toBeGreaterThan(0);
      });

      it('a subscriber sees every event of concurrent writers on many streams exactly once, in order', async () => {
        const head = await store.headPosition();
        const streams = Array.from({ length: 16 }, () => streamName());
        const perStream = 20;
        const expected = streams.length * perStream;
        const subscription = store.subscribeToAll({ from: head < 0n ? 'start' : head, batchSize: 50 });
        const seen: RecordedEvent[] = [];
        const consumed = (async () => {
          for await (const batch of subscription) {
            seen.push(...batch.filter((e) => streams.includes(e.streamName)));
            if (seen.length >= expected) break;
          }
        })();
        await Promise.all(
          streams.map(async (stream) => {
            for (let i = 0; i < perStream; i += 1) {
              await store.append(stream, events(1), { expectedRevision: i === 0 ? 'no_stream' : BigInt(i - 1) });
            }
          }),
        );
        await consumed;
        await subscription.close();
        expect(seen).toHaveLength(expected);
        expect(new Set(seen.map((e) => e.id)).size).toBe(expected);
        expect(isStrictlyIncreasing(seen.map((e) => e.globalPosition))).toBe(true);
        for (const stream of streams) {
          const revisions = seen.filter((e) => e.streamName === stream).map((e) => e.streamRevision);
          expect(revisions).toEqual(Array.from({ length: perStream }, (_u, i) => BigInt(i)));
        }
      });
    });
  });
}

export function streamName(category = 'contract'): string {
  return `${category}-${randomUUID()}`;
}

export function event(type: string, data: unknown): NewEvent {
  return { id: randomUUID(), type, data, metadata: {} };
}

export function events(count: number): NewEvent[] {
  return Array.from({ length: count }, (_unused, index) => event('Deposited', { index }));
}

/** Load the current revision, append at exactly that revision, and retry on a conflict. */
export async function appendWithRetry(
  store: EventStore,
  stream: string,
  newEvent: NewEvent,
  counters: { conflicts: number },
  maxAttempts = 500,
): Promise<void> {
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    const current = await store.readStream(stream);
    const expectedRevision = current.length === 0 ? 'no_stream' : current[current.length - 1]!.streamRevision;
    try {
      await store.append(stream, [newEvent], { expectedRevision });
      return;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion)) throw error;
      counters.conflicts += 1;
    }
  }
  throw new Error(`gave up after ${maxAttempts} conflicts on ${stream}`);
}

export async function readAllFrom(store: EventStore, head: bigint): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  let after: bigint | 'start' = head < 0n ? 'start' : head;
  for (;;) {
    const batch = await store.readAll(after, 500);
    if (batch.length === 0) return all;
    all.push(...batch);
    after = batch[batch.length - 1]!.globalPosition;
  }
}

export function isStrictlyIncreasing(values: readonly bigint[]): boolean {
  return values.every((value, index) => index === 0 || value > values[index - 1]!);
}

export async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 10));
  }
}
