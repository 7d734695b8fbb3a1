import {
  START,
  excludeSystemEvents,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type ReadPosition,
} from '@eventstore/db-client';
import { EventStoreTimeout, EventStoreUnavailable } from '../errors';
import type { RecordedEvent, Subscription } from '../port';
import type { EventStoreDbClientLike } from './client';
import { isTransientEventStoreDbError, mapEventStoreDbError } from './error-mapping';
import { fromAllStreamEvent } from './recorded-event';
import { sleep, withTimeout } from './timeout';

const RETRY_DELAY_MS_MIN = 100;
const RETRY_DELAY_MS_MAX = 5_000;

/** What a subscription needs from the store that opened it. */
export interface SubscriptionHost {
  /** The client to open the next server subscription on. */
  currentClient(): EventStoreDbClientLike;
  readonly timeoutMs: number;
  /** Reports a client that did not answer at all, so the host can replace it. */
  clientUnresponsive(client: EventStoreDbClientLike): void;
  /** The subscription has ended and holds nothing any more. */
  released(subscription: EventStoreDbSubscription): void;
}

export interface EventStoreDbSubscriptionOptions {
  from: bigint | 'start';
  batchSize: number;
  signal?: AbortSignal;
}

/** One server-side catch-up subscription and what has been heard from it. */
interface Source {
  readonly stream: AllStreamSubscription;
  readonly client: EventStoreDbClientLike;
  readonly openedAt: number;
  /** The server has answered (a confirmation or an event): the call is not wedged. */
  confirmed: boolean;
  confirmedAt: number | undefined;
  failed: boolean;
  failure: unknown;
}

/**
 * A catch-up subscription to `$all` that turns into a live tail, delivered as batches.
 *
 * The server filters out system events by type (`$`-prefixed); the client side drops
 * anything else from a `$` stream and anything at or below the last delivered position.
 * That last rule is what makes resubscription exact: after a transient failure (server
 * restart, leader change, dropped connection, a subscription that never confirmed) a
 * new server subscription starts from the last *delivered* position, events received
 * but not yet delivered are simply received again, and whether the server treats the
 * start position as inclusive or exclusive no longer matters. Nothing is skipped and
 * nothing is delivered twice. Retries back off from 100 ms to at most 5 s and continue
 * until the subscription is closed; an error that cannot heal (access denied, an
 * unusable position) ends the iteration with that error.
 *
 * Batches drain whatever the server has already pushed, up to `batchSize`, without
 * waiting for more, so a projection catching up gets full batches and a live tail gets
 * each event as soon as it arrives.
 */
export class EventStoreDbSubscription implements Subscription {
  readonly #host: SubscriptionHost;
  readonly #batchSize: number;
  readonly #signal: AbortSignal | undefined;
  /** Aborted by `close()`: ends waits and backoff sleeps at once. */
  readonly #stop = new AbortController();
  /** Position of the last delivered event; undefined until one is delivered from 'start'. */
  #cursor: bigint | undefined;
  #source: Source | undefined;
  #wake: (() => void) | undefined;
  #failures = 0;
  #iterated = false;
  #closing: Promise<void> | undefined;

  constructor(host: SubscriptionHost, options: EventStoreDbSubscriptionOptions) {
    this.#host = host;
    this.#batchSize = options.batchSize;
    this.#cursor = options.from === 'start' || options.from < 0n ? undefined : options.from;
    this.#signal = options.signal;
    if (this.#signal?.aborted) this.#stop.abort();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<readonly RecordedEvent[]> {
    // Two iterators would share one cursor and split the events between them.
    if (this.#iterated) throw new Error('an EventStoreDB subscription can be iterated only once');
    this.#iterated = true;
    return this.#batches();
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  /** Called by the host after replacing `client`: a server subscription on it will hear nothing more. */
  clientRetired(client: EventStoreDbClientLike): void {
    const source = this.#source;
    if (source?.client === client) this.#fail(source, new EventStoreUnavailable('the EventStoreDB client was replaced'));
  }

  readonly #onAbort = (): void => {
    void this.close();
  };

  get #closed(): boolean {
    return this.#stop.signal.aborted;
  }

  async *#batches(): AsyncGenerator<readonly RecordedEvent[], void, undefined> {
    try {
      for (;;) {
        const batch = await this.#nextBatch();
        if (batch === undefined) return;
        yield batch;
      }
    } finally {
      await this.close();
    }
  }

  /** The next non-empty batch, or undefined once the subscription is closed. */
  async #nextBatch(): Promise<RecordedEvent[] | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      let source = this.#source;
      if (source === undefined) {
        try {
          source = this.#open();
        } catch (error) {
          await this.#recover(undefined, error);
          continue;
        }
      }
      const batch = this.#drain(source);
      if (batch.length > 0) return batch;
      if (source.failed) {
        await this.#recover(source, source.failure);
        continue;
      }
      await this.#waitForActivity(source);
    }
  }

  #open(): Source {
    const client = this.#host.currentClient();
    const fromPosition: ReadPosition =
      this.#cursor === undefined ? START : { commit: this.#cursor, prepare: this.#cursor };
    // No `deadline` here: the client gives subscriptions an infinite one, and a finite
    // one would end a healthy live tail. The confirmation timer below guards the start.
    const stream = client.subscribeToAll(
      { fromPosition, resolveLinkTos: false, filter: excludeSystemEvents() },
      { highWaterMark: this.#batchSize },
    );
    const source: Source = {
      stream,
      client,
      openedAt: Date.now(),
      confirmed: false,
      confirmedAt: undefined,
      failed: false,
      failure: undefined,
    };
    this.#source = source;
    stream.on('confirmation', () => {
      this.#confirm(source);
      this.#wakeFor(source);
    });
    stream.on('readable', () => this.#wakeFor(source));
    stream.on('error', (error: Error) => this.#fail(source, error));
    stream.on('end', () => this.#fail(source, new EventStoreUnavailable('EventStoreDB ended the subscription')));
    stream.on('close', () => this.#fail(source, new EventStoreUnavailable('the subscription stream closed')));
    return source;
  }

  /** Takes what the server has already pushed, up to one batch, without waiting. */
  #drain(source: Source): RecordedEvent[] {
    const batch: RecordedEvent[] = [];
    while (batch.length < this.#batchSize) {
      const item = source.stream.read() as AllStreamResolvedEvent | null;
      if (item === null) break;
      this.#confirm(source);
      const event = fromAllStreamEvent(item);
      if (event === undefined) continue;
      if (this.#cursor !== undefined && event.globalPosition <= this.#cursor) continue;
      batch.push(event);
      this.#cursor = event.globalPosition;
    }
    return batch;
  }

  /**
   * Sleeps until the server pushes something, fails, or the subscription closes. Until
   * the server has answered at all, the wait is bounded by the host's timeout: a
   * subscription that is never confirmed is as wedged as any other unanswered call.
   */
  #waitForActivity(source: Source): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      if (!source.confirmed) {
        const remaining = source.openedAt + this.#host.timeoutMs - Date.now();
        timer = setTimeout(() => {
          if (!source.confirmed) {
            this.#fail(source, new EventStoreTimeout('subscribeToAll', this.#host.timeoutMs));
            this.#host.clientUnresponsive(source.client);
          }
          done();
        }, Math.max(0, remaining));
      }
    });
  }

  #confirm(source: Source): void {
    if (source.confirmed) return;
    source.confirmed = true;
    source.confirmedAt = Date.now();
  }

  /** Drops a failed server subscription; backs off and lets the loop resubscribe, or throws for good. */
  async #recover(source: Source | undefined, failure: unknown): Promise<void> {
    if (source !== undefined) {
      if (this.#source === source) this.#source = undefined;
      void this.#release(source);
      // Only a subscription that stayed up for a while resets the backoff: a server that
      // confirms and then fails at once is not hammered every 100 ms.
      if (source.confirmedAt !== undefined && Date.now() - source.confirmedAt > RETRY_DELAY_MS_MAX) this.#failures = 0;
    }
    if (this.#closed) return;
    if (!isTransientEventStoreDbError(failure)) {
      throw mapEventStoreDbError(failure, 'subscribeToAll', this.#host.timeoutMs);
    }
    this.#failures += 1;
    await sleep(Math.min(RETRY_DELAY_MS_MAX, RETRY_DELAY_MS_MIN * 2 ** (this.#failures - 1)), this.#stop.signal);
  }

  #fail(source: Source, failure: unknown): void {
    if (!source.failed) {
      source.failed = true;
      source.failure = failure;
    }
    this.#wakeFor(source);
  }

  #wakeFor(source: Source): void {
    if (this.#source === source) this.#wake?.();
  }

  async #release(source: Source): Promise<void> {
    // Destroying our end first discards anything buffered; cancelling the gRPC call then
    // tells the server. The listeners stay attached, so a late error is absorbed.
    source.stream.destroy();
    await withTimeout(source.stream.unsubscribe(), {
      operation: 'subscribeToAll',
      timeoutMs: this.#host.timeoutMs,
    }).catch(() => undefined);
  }

  async #shutDown(): Promise<void> {
    this.#stop.abort();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#wake?.();
    const source = this.#source;
    this.#source = undefined;
    if (source !== undefined) await this.#release(source);
    this.#host.released(this);
  }
}
