import { Readable } from 'node:stream';
import {
  StreamNotFoundError,
  WrongExpectedVersionError,
  type AppendExpectedRevision,
  type AppendResult,
  type EventData,
  type Filter,
  type ReadPosition,
  type ReadRevision,
} from '@eventstore/db-client';
import type { EventStoreDbClientLike } from '../client';

/**
 * An in-memory stand-in for an EventStoreDB server and its Node client, for unit tests
 * of the adapter where no server can run. It reproduces the behaviours the adapter
 * depends on or defends against, as the server and client 6.2.1 show them:
 *
 * - revisions from 0; positions that grow with gaps, commit == prepare in `$all`;
 * - a stream read reports `prepare` as the position of the append's first event;
 * - an append at an exact (or no-stream) expected revision whose ids are already stored
 *   right after that revision is acknowledged as a retry, whatever its content, and
 *   'any' deduplicates by id likewise;
 * - the acknowledgement of a multi-event append reports the first event's position;
 * - `$all` reads forwards include the event at the start position, backwards exclude it;
 * - subscriptions start at the given position inclusively (the server is exclusive;
 *   inclusive makes tests prove the adapter filters it), and go silent, without ending,
 *   when their client is disposed or they are unsubscribed;
 * - system events (`$` streams and types) are interleaved with ours.
 */
export class InMemoryEventStoreDb {
  readonly log: StoredRecord[] = [];
  readonly clients: InMemoryEventStoreDbClient[] = [];
  hooks: InMemoryHooks = {};
  readonly #streams = new Map<string, StoredRecord[]>();
  readonly #live = new Set<InMemorySubscription>();
  #nextPosition = 0n;

  constructor() {
    this.writeSystemEvent('$epoch-information', '$epoch');
    this.writeSystemEvent('$scavenges', '$scavengeIndexInitialized');
  }

  /** A new client on this server; the adapter's factory hands these out. */
  client(): EventStoreDbClientLike {
    const client = new InMemoryEventStoreDbClient(this);
    this.clients.push(client);
    return client as unknown as EventStoreDbClientLike;
  }

  writeSystemEvent(streamId: string, type: string): void {
    this.#store(streamId, [{ id: cryptoId(), type, data: '{}', metadata: undefined }]);
  }

  /** Appends as the server does, with its expected-revision and idempotency rules. */
  append(
    streamName: string,
    events: ReadonlyArray<{ id: string; type: string; data: string; metadata: string | undefined }>,
    expected: AppendExpectedRevision,
  ): AppendResult {
    const stored = this.#streams.get(streamName) ?? [];
    const current = stored.length === 0 ? -1n : stored[stored.length - 1]!.revision;
    const wrong = () =>
      new WrongExpectedVersionError(undefined, {
        streamName,
        expected,
        current: current < 0n ? 'no_stream' : current,
      });
    if (expected === 'any') {
      const start = stored.findIndex((record) => record.id === events[0]!.id);
      if (start !== -1) return this.#retry(stored, start, events, wrong);
    } else if (expected === 'stream_exists') {
      if (current < 0n) throw wrong();
    } else {
      const revision = expected === 'no_stream' ? -1n : expected;
      if (current > revision) return this.#retry(stored, Number(revision + 1n), events, wrong);
      if (current !== revision) throw wrong();
    }
    const written = this.#store(streamName, events);
    return {
      success: true,
      nextExpectedRevision: written[written.length - 1]!.revision,
      position: { commit: written[0]!.position, prepare: written[0]!.position },
    };
  }

  readStream(streamName: string, direction: 'forwards' | 'backwards', from: ReadRevision, maxCount: number) {
    const stored = this.#streams.get(streamName);
    if (stored === undefined) return { notFound: true as const };
    const records =
      direction === 'forwards'
        ? stored.filter((record) => from !== 'end' && (from === 'start' || record.revision >= from))
        : [...stored].reverse().filter((record) => from === 'end' || (from !== 'start' && record.revision <= from));
    return { notFound: false as const, records: records.slice(0, maxCount) };
  }

  readAll(direction: 'forwards' | 'backwards', from: ReadPosition, maxCount: number): StoredRecord[] {
    const records =
      direction === 'forwards'
        ? this.log.filter((record) => from !== 'end' && (from === 'start' || record.position >= from.commit))
        : [...this.log].reverse().filter((record) => from === 'end' || (from !== 'start' && record.position < from.commit));
    return records.slice(0, maxCount);
  }

  openSubscription(subscription: InMemorySubscription, from: ReadPosition): void {
    for (const record of this.log) {
      if (from === 'end') break;
      if (from === 'start' || record.position >= from.commit) subscription.offer(record);
    }
    this.#live.add(subscription);
  }

  closeSubscription(subscription: InMemorySubscription): void {
    this.#live.delete(subscription);
  }

  /** Breaks every live subscription with `error`, as a server restart or network failure would. */
  failSubscriptions(error: Error): void {
    for (const subscription of [...this.#live]) {
      this.#live.delete(subscription);
      subscription.destroy(error);
    }
  }

  get liveSubscriptions(): number {
    return this.#live.size;
  }

  #retry(
    stored: StoredRecord[],
    start: number,
    events: ReadonlyArray<{ id: string }>,
    wrong: () => WrongExpectedVersionError,
  ): AppendResult {
    const original = stored.slice(start, start + events.length);
    if (original.length !== events.length || original.some((record, index) => record.id !== events[index]!.id)) {
      throw wrong();
    }
    return {
      success: true,
      nextExpectedRevision: original[original.length - 1]!.revision,
      position: { commit: original[0]!.position, prepare: original[0]!.position },
    };
  }

  #store(
    streamId: string,
    events: ReadonlyArray<{ id: string; type: string; data: string; metadata: string | undefined }>,
  ): StoredRecord[] {
    const stored = this.#streams.get(streamId) ?? [];
    this.#streams.set(streamId, stored);
    let revision = stored.length === 0 ? -1n : stored[stored.length - 1]!.revision;
    const written: StoredRecord[] = [];
    let transactionPosition: bigint | undefined;
    for (const event of events) {
      revision += 1n;
      // Positions grow by the record's size, as in the transaction file.
      const position = this.#nextPosition;
      this.#nextPosition += 128n + BigInt(event.data.length);
      transactionPosition ??= position;
      const record: StoredRecord = {
        streamId,
        id: event.id,
        type: event.type,
        revision,
        position,
        transactionPosition,
        created: new Date(),
        data: event.data,
        metadata: event.metadata,
      };
      stored.push(record);
      this.log.push(record);
      written.push(record);
    }
    for (const subscription of this.#live) for (const record of written) subscription.offer(record);
    return written;
  }
}

export interface StoredRecord {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  position: bigint;
  transactionPosition: bigint;
  created: Date;
  data: string;
  metadata: string | undefined;
}

export interface InMemoryHooks {
  /** Runs before each append reaches the server: may wait, never settle, throw, or write a racing append. */
  beforeAppend?: (streamName: string) => Promise<void> | void;
  /** Reads that never answer, as over a connection that never completed. */
  hangReads?: boolean;
  /** Subscriptions that are opened but never confirmed and never deliver. */
  silentSubscriptions?: boolean;
  /** The next `subscribeToAll` fails at once with this error; the hook then clears itself. */
  failNextSubscription?: Error;
}

/** The client side: one per adapter client; its `dispose` silences its subscriptions like the real one. */
export class InMemoryEventStoreDbClient {
  disposed = false;
  readonly #server: InMemoryEventStoreDb;
  readonly #subscriptions = new Set<InMemorySubscription>();

  constructor(server: InMemoryEventStoreDb) {
    this.#server = server;
  }

  async appendToStream(
    streamName: string,
    events: EventData | EventData[],
    options: { expectedRevision?: AppendExpectedRevision } = {},
  ): Promise<AppendResult> {
    await this.#server.hooks.beforeAppend?.(streamName);
    const list = Array.isArray(events) ? events : [events];
    return this.#server.append(
      streamName,
      list.map((event) => ({
        id: event.id,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: event.metadata === undefined ? undefined : JSON.stringify(event.metadata),
      })),
      options.expectedRevision ?? 'any',
    );
  }

  readStream(
    streamName: string,
    options: { direction?: 'forwards' | 'backwards'; fromRevision?: ReadRevision; maxCount?: number | bigint } = {},
  ): InMemoryRead {
    if (this.#server.hooks.hangReads) return new InMemoryRead([], { hang: true });
    const result = this.#server.readStream(
      streamName,
      options.direction ?? 'forwards',
      options.fromRevision ?? 'start',
      Number(options.maxCount ?? Number.MAX_SAFE_INTEGER),
    );
    if (result.notFound) return new InMemoryRead([], { error: new StreamNotFoundError(undefined, streamName) });
    return new InMemoryRead(
      result.records.map((record) => ({
        event: toEvent(record, { commit: record.position, prepare: record.transactionPosition }),
      })),
    );
  }

  readAll(
    options: { direction?: 'forwards' | 'backwards'; fromPosition?: ReadPosition; maxCount?: number | bigint } = {},
  ): InMemoryRead {
    if (this.#server.hooks.hangReads) return new InMemoryRead([], { hang: true });
    const records = this.#server.readAll(
      options.direction ?? 'forwards',
      options.fromPosition ?? 'start',
      Number(options.maxCount ?? Number.MAX_SAFE_INTEGER),
    );
    return new InMemoryRead(
      records.map((record) => ({
        event: toEvent(record, { commit: record.position, prepare: record.position }),
        commitPosition: record.position,
      })),
    );
  }

  subscribeToAll(
    options: { fromPosition?: ReadPosition; filter?: Filter } = {},
    readableOptions: { highWaterMark?: number } = {},
  ): InMemorySubscription {
    const regex = options.filter && 'regex' in options.filter ? new RegExp(options.filter.regex) : undefined;
    const subscription = new InMemorySubscription(this.#server, regex, readableOptions.highWaterMark ?? 16);
    this.#subscriptions.add(subscription);
    const failure = this.#server.hooks.failNextSubscription;
    if (failure !== undefined) {
      this.#server.hooks.failNextSubscription = undefined;
      setImmediate(() => subscription.destroy(failure));
      return subscription;
    }
    if (!this.#server.hooks.silentSubscriptions) {
      this.#server.openSubscription(subscription, options.fromPosition ?? 'start');
      setImmediate(() => subscription.emit('confirmation'));
    }
    return subscription;
  }

  dispose = async (): Promise<void> => {
    this.disposed = true;
    // The real client cancels its gRPC calls; the subscription streams built on them
    // ignore a client-side cancellation and simply hear nothing more.
    for (const subscription of this.#subscriptions) this.#server.closeSubscription(subscription);
  };
}

/** A finite read: its items, then its end; or an error (StreamNotFound) instead; or, hanging, nothing ever. */
export class InMemoryRead extends Readable {
  readonly #items: unknown[];
  readonly #error: Error | undefined;
  readonly #hang: boolean;

  constructor(items: unknown[], options: { error?: Error; hang?: boolean } = {}) {
    super({ objectMode: true });
    this.#items = [...items];
    this.#error = options.error;
    this.#hang = options.hang ?? false;
  }

  override _read(): void {
    if (this.#error !== undefined) {
      this.destroy(this.#error);
      return;
    }
    if (this.#hang) return;
    while (this.#items.length > 0) {
      if (!this.push(this.#items.shift())) return;
    }
    this.push(null);
  }

  async cancel(): Promise<void> {
    this.destroy();
  }
}

/** A live subscription: what is offered is queued and pushed as the reader asks. */
export class InMemorySubscription extends Readable {
  readonly #server: InMemoryEventStoreDb;
  readonly #regex: RegExp | undefined;
  readonly #queue: StoredRecord[] = [];
  #reading = false;

  constructor(server: InMemoryEventStoreDb, regex: RegExp | undefined, highWaterMark: number) {
    super({ objectMode: true, highWaterMark });
    this.#server = server;
    this.#regex = regex;
  }

  offer(record: StoredRecord): void {
    if (this.#regex !== undefined && !this.#regex.test(record.type)) return;
    this.#queue.push(record);
    if (this.#reading) this.#flush();
  }

  override _read(): void {
    this.#reading = true;
    this.#flush();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#server.closeSubscription(this);
    callback(error);
  }

  async unsubscribe(): Promise<void> {
    this.#server.closeSubscription(this);
  }

  #flush(): void {
    while (this.#queue.length > 0) {
      const record = this.#queue.shift()!;
      this.#reading = this.push({
        event: toEvent(record, { commit: record.position, prepare: record.position }),
        commitPosition: record.position,
      });
      if (!this.#reading) return;
    }
  }
}

function toEvent(record: StoredRecord, position: { commit: bigint; prepare: bigint }) {
  return {
    streamId: record.streamId,
    id: record.id,
    isJson: true,
    revision: record.revision,
    type: record.type,
    created: record.created,
    data: JSON.parse(record.data) as unknown,
    metadata: record.metadata === undefined ? undefined : (JSON.parse(record.metadata) as unknown),
    position,
  };
}

function cryptoId(): string {
  return globalThis.crypto.randomUUID();
}
