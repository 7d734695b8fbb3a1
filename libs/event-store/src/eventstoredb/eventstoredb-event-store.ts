import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  START,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult as EsdbAppendResult,
  type JSONEventData,
  type JSONType,
  type ReadPosition,
  type ResolvedEvent,
  type StreamingRead,
} from '@eventstore/db-client';
import { EventIdConflict, EventStoreUnavailable, WrongExpectedVersion } from '../errors';
import type {
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../port';
import { assertStreamName, validateAppend, type SerialisedEvent } from '../validation';
import { releaseClient, type EventStoreDbClientFactory, type EventStoreDbClientLike } from './client';
import {
  DEFAULT_EVENTSTOREDB_TIMEOUT_MS,
  isStreamNotFound,
  isWrongExpectedVersionError,
  mapEventStoreDbError,
} from './error-mapping';
import { EventStoreDbSubscription, type SubscriptionHost } from './eventstoredb-subscription';
import { checkGlobalTail, checkStreamTail, type ProposedEvent } from './idempotency';
import {
  canonicalJson,
  eventOf,
  isSystemEvent,
  positionOf,
  toRecordedEvent,
  type EsdbRecordedEvent,
} from './recorded-event';
import { withTimeout } from './timeout';

export interface EventStoreDbEventStoreOptions {
  /**
   * Upper bound, in milliseconds, of every call to the server (each page of a long
   * read is one call). Defaults to 5000.
   */
  timeoutMs?: number;
  /**
   * How many of the newest events of the target stream, and of the whole log, an
   * append searches for its event ids (never fewer than the append's own length).
   * Defaults to 1000. See the class comment for what this window does and does not
   * guarantee.
   */
  idempotencyWindow?: number;
}

const DEFAULT_IDEMPOTENCY_WINDOW = 1_000;
const DEFAULT_BATCH_SIZE = 500;
/** Events per call when a read is paged: bounded pages keep each call within the timeout. */
const READ_PAGE_SIZE = 500;
/** `$all` is read backwards in these steps to find the newest non-system event. */
const HEAD_PAGE_SIZE = 100;
/** An append that keeps losing the race for its stream's revision gives up after this many tries. */
const MAX_APPEND_ATTEMPTS = 16;
/**
 * Where the client has a deadline of its own (appends), our backstop fires this much
 * later, so it only ever fires when the client's deadline machinery itself failed.
 */
const BACKSTOP_MARGIN_MS = 500;
/** setTimeout's largest delay; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One client call in progress, with what the timeout backstop needs to clean it up. */
interface PendingCall<T> {
  promise: Promise<T>;
  /** Cancels the call on the wire and releases its buffers. */
  cancel?: () => void;
  /** True once the server has sent anything for this call. */
  responded?: () => boolean;
}

/**
 * The EventStoreDB adapter of the event-store port, over `@eventstore/db-client`.
 *
 * Revisions are EventStoreDB's own (from 0); a global position is an event's commit
 * position, which equals its prepare position because every gRPC append commits
 * implicitly. System events (`$` streams and `$` types) are invisible through the port.
 *
 * Timeouts. Every call to the server is bounded by `timeoutMs`: by the client's
 * `deadline` where it honours one (appends), and always by a timer of our own, because
 * the client's first call (the server-features request) carries no deadline and its
 * reads run with an infinite one. A call that times out without the server having
 * answered at all means the client's connection is wedged (a listener that accepts TCP
 * but never speaks gRPC, or a half-open connection): the client is replaced, and the
 * old one is released once the calls already running on it have timed out, since its
 * cached, never-settling server-features request would otherwise poison every later
 * append.
 *
 * Appends and idempotency. EventStoreDB deduplicates only a retry at the same expected
 * revision, compares ids but not content, and keeps no index by event id. The port's
 * rule (a repeated event id with the same type and data is a no-op reporting the
 * original revision and position; with other content, in another stream, or as part of
 * another append, it is an `EventIdConflict`) is therefore enforced here:
 *
 * 1. The newest W events of the stream are read, W = max(idempotencyWindow, events in
 *    the append). If the append's ids are there, the append is judged by the same rule
 *    as PostgreSQL's (all ids, consecutive, in order, same type and data: idempotent,
 *    reporting the original last event; any other overlap: conflict) whatever the
 *    expected revision.
 * 2. The expected revision is checked against the stream's current revision from that
 *    read; a mismatch is `WrongExpectedVersion` with that actual revision (-1n: no stream).
 * 3. The newest W events of `$all` are read; an id found in another stream is a conflict.
 * 4. The events are written conditional on the exact revision read in step 1, also for
 *    'any' and 'stream_exists', so no event can slip into the stream between the check
 *    and the write. A lost race starts again at step 1 (at most 16 times; then
 *    `EventStoreUnavailable`, nothing written).
 * 5. The written revisions are read back. This confirms they hold this append's content
 *    (EventStoreDB acknowledges an append whose ids a concurrent writer has just stored
 *    at those revisions, even with other data: that is reported as `EventIdConflict`)
 *    and yields the position of the last event, which the append acknowledgement does
 *    not reliably report for multi-event appends.
 *
 * What this guarantees: an append never writes an id that is among its stream's newest
 * W events; it never reports success unless the stream holds exactly its events at the
 * reported revisions; a `WrongExpectedVersion` carries a revision the stream really had
 * during the call. What it does not:
 * - an id older than the stream's newest W events is not seen: repeating such an old
 *   append writes its events again (the stream then holds the id twice);
 * - an id in another stream is found only among the newest W events of the whole log,
 *   and not atomically with the write: two concurrent appends of one id to two streams
 *   can both succeed;
 * - when the expected revision does not match, an id stored in another stream is
 *   reported as `WrongExpectedVersion`, not `EventIdConflict` (nothing is written either
 *   way; the retry at the right revision gets the conflict);
 * - `idempotent: true` is reported when the original was stored before this append's
 *   check; when a concurrent duplicate with identical content wins the race, this append
 *   reports the right revision and position but `idempotent: false`;
 * - an original append that straddles the edge of the window is reported as a conflict
 *   ("only part of the append is stored"), never as a success.
 * The price is four round trips per append (stream tail, `$all` tail, write, read-back)
 * and up to 2W events read.
 *
 * EventStoreDB also caps the size of one append (server option MaxAppendSize, 1 MiB by
 * default, 16 MiB at most), below what the port's limits allow; a larger append fails
 * with `InvalidAppend('event_too_large')` and writes nothing.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly #createClient: EventStoreDbClientFactory;
  readonly #timeoutMs: number;
  readonly #window: number;
  #client: EventStoreDbClientLike;
  /** Replaced clients, each with the timer that releases it once its calls have timed out. */
  readonly #retiring = new Map<EventStoreDbClientLike, NodeJS.Timeout>();
  readonly #subscriptions = new Set<EventStoreDbSubscription>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #subscriptionHost: SubscriptionHost;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(createClient: EventStoreDbClientFactory, options: EventStoreDbEventStoreOptions) {
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? DEFAULT_EVENTSTOREDB_TIMEOUT_MS);
    if (this.#timeoutMs + BACKSTOP_MARGIN_MS > MAX_TIMER_MS) {
      throw new RangeError(`timeoutMs must be at most ${MAX_TIMER_MS - BACKSTOP_MARGIN_MS}`);
    }
    this.#window = positiveInteger('idempotencyWindow', options.idempotencyWindow ?? DEFAULT_IDEMPOTENCY_WINDOW);
    this.#createClient = createClient;
    this.#client = createClient();
    this.#subscriptionHost = {
      timeoutMs: this.#timeoutMs,
      currentClient: () => this.#client,
      clientUnresponsive: (client) => this.#replaceClient(client),
      released: (subscription) => this.#subscriptions.delete(subscription),
    };
  }

  /**
   * An adapter for the server named by an `esdb://` or `esdb+discover://` connection
   * string (EVENTSTORE_URL). A malformed string throws the client's own error here; the
   * server is first contacted by the first call, which is bounded by the timeout like
   * every other (callers that want to fail fast at start call `headPosition()`).
   */
  static connect(connectionString: string, options: EventStoreDbEventStoreOptions = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(() => EventStoreDBClient.connectionString(connectionString), options);
  }

  /**
   * Like `connect`, with a factory for the client: for a client built from explicit
   * settings (certificates held in memory, say), and for tests. The factory is called
   * again whenever a wedged client has to be replaced.
   */
  static fromClientFactory(
    createClient: EventStoreDbClientFactory,
    options: EventStoreDbEventStoreOptions = {},
  ): EventStoreDbEventStore {
    return new EventStoreDbEventStore(createClient, options);
  }

  append(streamName: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    let serialised: SerialisedEvent[];
    try {
      serialised = validateAppend(streamName, events, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#run('append', () => this.#append(streamName, serialised, options.expectedRevision));
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamName(streamName);
    const fromRevision = options.fromRevision ?? 0n;
    if (typeof fromRevision !== 'bigint' || fromRevision < 0n) {
      throw new RangeError(`fromRevision must be a non-negative bigint, got ${String(fromRevision)}`);
    }
    const maxCount = options.maxCount;
    if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 0)) {
      throw new RangeError(`maxCount must be a non-negative integer, got ${String(maxCount)}`);
    }
    return this.#run('readStream', async () => {
      const events: RecordedEvent[] = [];
      let next = fromRevision;
      for (;;) {
        const wanted = maxCount === undefined ? READ_PAGE_SIZE : Math.min(READ_PAGE_SIZE, maxCount - events.length);
        if (wanted <= 0) return events;
        const page = await this.#readStreamForwards('readStream', streamName, next, wanted, false);
        for (const event of page) events.push(toRecordedEvent(event, positionOf(event)));
        if (page.length < wanted) return events;
        next = page[page.length - 1]!.revision + 1n;
      }
    });
  }

  async readAll(after: bigint | 'start', limit: number): Promise<RecordedEvent[]> {
    if (after !== 'start' && typeof after !== 'bigint') {
      throw new RangeError(`after must be 'start' or a bigint position, got ${String(after)}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`limit must be a non-negative integer, got ${String(limit)}`);
    }
    if (limit === 0) return [];
    return this.#run('readAll', async () => {
      const events: RecordedEvent[] = [];
      // The scan cursor moves over system events too; only non-system events are returned.
      let cursor = after === 'start' || after < 0n ? undefined : after;
      for (;;) {
        // Reading from a position includes the event at it, hence one more than needed.
        const wanted = Math.min(READ_PAGE_SIZE, limit - events.length + 1);
        const fromPosition: ReadPosition = cursor === undefined ? START : { commit: cursor, prepare: cursor };
        const page = await this.#collect('readAll', (client) =>
          client.readAll({ direction: FORWARDS, fromPosition, maxCount: wanted, deadline: this.#timeoutMs }),
        );
        let advanced = false;
        for (const resolved of page) {
          const event = eventOf(resolved);
          const position = positionOf(event, resolved.commitPosition);
          if (cursor !== undefined && position <= cursor) continue;
          cursor = position;
          advanced = true;
          if (!isSystemEvent(event) && events.length < limit) events.push(toRecordedEvent(event, position));
        }
        if (events.length >= limit || page.length < wanted) return events;
        if (!advanced) throw new EventStoreUnavailable('reading $all forwards made no progress');
      }
    });
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${String(batchSize)}`);
    }
    if (options.from !== 'start' && typeof options.from !== 'bigint') {
      throw new RangeError(`from must be 'start' or a bigint position, got ${String(options.from)}`);
    }
    if (this.#closed) throw new EventStoreUnavailable('event store is closed');
    const subscription = new EventStoreDbSubscription(this.#subscriptionHost, {
      from: options.from,
      batchSize,
      signal: options.signal,
    });
    // One born aborted never opens anything, so there is nothing for close() to end.
    if (!options.signal?.aborted) this.#subscriptions.add(subscription);
    return subscription;
  }

  headPosition(): Promise<bigint> {
    return this.#run('headPosition', async () => {
      let cursor: bigint | undefined;
      for (;;) {
        // Reading backwards from a position excludes the event at it.
        const fromPosition: ReadPosition = cursor === undefined ? END : { commit: cursor, prepare: cursor };
        const page = await this.#collect('headPosition', (client) =>
          client.readAll({ direction: BACKWARDS, fromPosition, maxCount: HEAD_PAGE_SIZE, deadline: this.#timeoutMs }),
        );
        let advanced = false;
        for (const resolved of page) {
          const event = eventOf(resolved);
          const position = positionOf(event, resolved.commitPosition);
          if (cursor !== undefined && position >= cursor) continue;
          cursor = position;
          advanced = true;
          if (!isSystemEvent(event)) return position;
        }
        if (page.length < HEAD_PAGE_SIZE) return -1n;
        if (!advanced) throw new EventStoreUnavailable('reading $all backwards made no progress');
      }
    });
  }

  /**
   * Ends every subscription, lets calls already running finish (each is bounded by the
   * timeout), then releases every client. Later calls fail with `EventStoreUnavailable`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #append(
    streamName: string,
    serialised: readonly SerialisedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const proposed: ProposedEvent[] = serialised.map((event) => ({
      id: event.id,
      type: event.type,
      canonicalData: canonicalJson(JSON.parse(event.data)),
    }));
    const eventData: JSONEventData[] = serialised.map((event) => ({
      id: event.id,
      contentType: 'application/json',
      type: event.type,
      data: JSON.parse(event.data) as JSONType,
      metadata: JSON.parse(event.metadata) as JSONType,
    }));
    const window = Math.max(this.#window, serialised.length);

    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt += 1) {
      const tail = await this.#readStreamTail(streamName, window);
      const current = tail.length === 0 ? -1n : tail[0]!.revision;

      const inStream = checkStreamTail(proposed, tail);
      if (inStream.kind === 'idempotent') {
        return {
          nextExpectedRevision: inStream.last.revision,
          position: positionOf(inStream.last),
          idempotent: true,
        };
      }
      if (inStream.kind === 'conflict') {
        throw new EventIdConflict(
          streamName,
          inStream.eventId,
          `event id ${inStream.eventId} cannot be appended to ${streamName}: ${inStream.detail}; nothing was written`,
        );
      }

      const condition = writeCondition(expected, current);
      if (condition === undefined) throw new WrongExpectedVersion(streamName, expected, current);

      const elsewhere = checkGlobalTail(proposed, await this.#readGlobalTail(window), streamName);
      if (elsewhere.kind === 'other_stream') {
        throw new EventIdConflict(
          streamName,
          elsewhere.eventId,
          `event id ${elsewhere.eventId} is already stored in stream ${elsewhere.streamName}; nothing was written`,
        );
      }
      if (elsewhere.kind === 'same_stream') continue;

      let written: EsdbAppendResult;
      try {
        written = await this.#call(
          'append',
          (client) => ({
            promise: client.appendToStream(streamName, eventData, {
              expectedRevision: condition,
              deadline: this.#timeoutMs,
              requiresLeader: true,
            }),
          }),
          true,
        );
      } catch (error) {
        // Another append got in since the tail was read: judge again from a fresh read.
        if (isWrongExpectedVersionError(error)) continue;
        throw error;
      }
      // With throwOnAppendFailure=false in the connection string, a conflict is a result.
      if (!written.success) continue;
      return await this.#confirmAppend(streamName, proposed, written.nextExpectedRevision);
    }
    throw new EventStoreUnavailable(
      `append to ${streamName} lost the race for the stream's revision ${MAX_APPEND_ATTEMPTS} times in a row; nothing was written`,
    );
  }

  /** Step 5 of an append: the acknowledged revisions must hold exactly this append. */
  async #confirmAppend(streamName: string, proposed: readonly ProposedEvent[], last: bigint): Promise<AppendResult> {
    const first = last - BigInt(proposed.length) + 1n;
    const stored = first < 0n ? [] : await this.#readStreamForwards('append', streamName, first, proposed.length, true);
    const sameEvents =
      stored.length === proposed.length &&
      stored.every((event, index) => event.id.toLowerCase() === proposed[index]!.id && event.revision === first + BigInt(index));
    if (!sameEvents) {
      throw new EventStoreUnavailable(
        `EventStoreDB acknowledged the append to ${streamName} at revision ${last}, ` +
          'but reading those revisions back found other events; the outcome of the append is unknown',
      );
    }
    const differs = stored.findIndex(
      (event, index) =>
        event.type !== proposed[index]!.type || canonicalJson(event.data) !== proposed[index]!.canonicalData,
    );
    if (differs !== -1) {
      // EventStoreDB took our append for a retry of one that a concurrent writer had just
      // stored with these ids but other content.
      throw new EventIdConflict(
        streamName,
        proposed[0]!.id,
        `event id ${proposed[differs]!.id} was stored in ${streamName} concurrently with other content; nothing was written`,
      );
    }
    return { nextExpectedRevision: last, position: positionOf(stored[stored.length - 1]!), idempotent: false };
  }

  /** The newest `count` events of a stream, newest first; none when it does not exist. */
  async #readStreamTail(streamName: string, count: number): Promise<EsdbRecordedEvent[]> {
    try {
      const tail = await this.#collect('append', (client) =>
        client.readStream(streamName, {
          direction: BACKWARDS,
          fromRevision: END,
          maxCount: count,
          deadline: this.#timeoutMs,
          requiresLeader: true,
        }),
      );
      return tail.map(eventOf);
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
  }

  /** The newest `count` records of the whole log, system events included, newest first. */
  async #readGlobalTail(count: number): Promise<EsdbRecordedEvent[]> {
    const tail = await this.#collect('append', (client) =>
      client.readAll({
        direction: BACKWARDS,
        fromPosition: END,
        maxCount: count,
        deadline: this.#timeoutMs,
        requiresLeader: true,
      }),
    );
    return tail.map(eventOf);
  }

  /** One page of a stream, forwards from a revision; a stream that does not exist reads as empty. */
  async #readStreamForwards(
    operation: string,
    streamName: string,
    fromRevision: bigint,
    maxCount: number,
    requiresLeader: boolean,
  ): Promise<EsdbRecordedEvent[]> {
    try {
      const page = await this.#collect(operation, (client) =>
        client.readStream(streamName, {
          direction: FORWARDS,
          fromRevision,
          maxCount,
          // The client overrides a read's deadline with an infinite one (6.2.1), so
          // only our backstop bounds it; passed anyway for clients that honour it.
          deadline: this.#timeoutMs,
          requiresLeader,
        }),
      );
      return page.map(eventOf);
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
  }

  /** Runs one streaming read to its end under the timeout, cancelling it on the wire if the timeout fires. */
  #collect<E extends ResolvedEvent | AllStreamResolvedEvent>(
    operation: string,
    open: (client: EventStoreDbClientLike) => StreamingRead<E>,
  ): Promise<E[]> {
    return this.#call(
      operation,
      (client) => {
        const read = open(client);
        let received = 0;
        const promise = (async () => {
          const items: E[] = [];
          for await (const item of read) {
            received += 1;
            items.push(item);
          }
          return items;
        })();
        return {
          promise,
          cancel: () => {
            read.cancel().catch(() => undefined);
            read.destroy();
          },
          responded: () => received > 0,
        };
      },
      false,
    );
  }

  /**
   * Runs one client call on the current client under the timeout backstop. Errors of
   * the call are passed on unmapped, so callers can act on the client's own types.
   */
  #call<T>(
    operation: string,
    start: (client: EventStoreDbClientLike) => PendingCall<T>,
    clientHasDeadline: boolean,
  ): Promise<T> {
    const client = this.#client;
    const pending = start(client);
    return withTimeout(pending.promise, {
      operation,
      timeoutMs: clientHasDeadline ? this.#timeoutMs + BACKSTOP_MARGIN_MS : this.#timeoutMs,
      reportedTimeoutMs: this.#timeoutMs,
      onTimeout: () => {
        pending.cancel?.();
        if (!(pending.responded?.() ?? false)) this.#replaceClient(client);
      },
    });
  }

  /** Runs a port operation: refused once closed, tracked so `close()` can wait for it, errors mapped. */
  #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new EventStoreUnavailable('event store is closed'));
    const running = work().catch((error: unknown) => {
      throw mapEventStoreDbError(error, operation, this.#timeoutMs);
    });
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  /**
   * Swaps in a new client after `stale` failed to answer at all. Calls already running
   * on `stale` keep it until they time out; only then is it released, and subscriptions
   * on it resubscribe on the new client at once.
   */
  #replaceClient(stale: EventStoreDbClientLike): void {
    if (this.#closed || this.#client !== stale) return;
    let fresh: EventStoreDbClientLike;
    try {
      fresh = this.#createClient();
    } catch {
      // Keep the old client rather than none; the next timeout tries again.
      return;
    }
    this.#client = fresh;
    const timer = setTimeout(() => {
      if (this.#retiring.delete(stale)) void releaseClient(stale, this.#timeoutMs);
    }, this.#timeoutMs + BACKSTOP_MARGIN_MS);
    // Releasing a replaced client is housekeeping; it must not keep the process alive.
    timer.unref();
    this.#retiring.set(stale, timer);
    for (const subscription of this.#subscriptions) subscription.clientRetired(stale);
  }

  async #shutDown(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#subscriptions].map((subscription) => subscription.close()));
    await Promise.allSettled([...this.#inFlight]);
    const clients = [this.#client];
    for (const [client, timer] of this.#retiring) {
      clearTimeout(timer);
      clients.push(client);
    }
    this.#retiring.clear();
    await Promise.allSettled(clients.map((client) => releaseClient(client, this.#timeoutMs)));
  }
}

/**
 * The revision the write is made conditional on, given what the caller expects and the
 * revision just read; undefined when the caller's expectation already fails.
 */
function writeCondition(expected: ExpectedRevision, current: bigint): AppendExpectedRevision | undefined {
  const exists = current >= 0n;
  switch (expected) {
    case 'any':
      return exists ? current : 'no_stream';
    case 'stream_exists':
      return exists ? current : undefined;
    case 'no_stream':
      return exists ? undefined : 'no_stream';
    default:
      return expected === current ? current : undefined;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
