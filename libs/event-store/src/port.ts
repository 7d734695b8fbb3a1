/**
 * The event-store port. Every adapter (PostgreSQL, EventStoreDB) implements this
 * interface and passes the one contract suite in `testing/event-store.contract.ts`.
 *
 * Positions and revisions are `bigint`: a stream revision counts from 0 on every
 * adapter, and a global position orders every committed event in the store. A reader
 * that has seen position P never later sees a newly committed event below P.
 */

/** Where an append expects the stream to be. A `bigint` is the exact current revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

/** Metadata carried by every event; the ids tie an event to the request and event that caused it. */
export interface EventMetadata {
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  principal?: string;
  [key: string]: unknown;
}

/** An event as the caller hands it to `append`. The caller chooses the id (a UUID). */
export interface NewEvent<Type extends string = string, Data = unknown> {
  id: string;
  type: Type;
  data: Data;
  metadata?: EventMetadata;
}

/** An event as it was committed. */
export interface RecordedEvent<Type extends string = string, Data = unknown> {
  id: string;
  streamName: string;
  type: Type;
  data: Data;
  metadata: EventMetadata;
  streamRevision: bigint;
  globalPosition: bigint;
  recordedAt: Date;
}

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** The revision of the last event of this append: the expected revision for the next one. */
  nextExpectedRevision: bigint;
  /** The global position of the last event of this append. */
  position: bigint;
  /**
   * True when every event id of the append was already in the stream with the same
   * type and data: nothing was written and the original revision/position are reported.
   */
  idempotent: boolean;
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive). Defaults to 0. */
  fromRevision?: bigint;
  /** At most this many events. Defaults to all. */
  maxCount?: number;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position; `'start'` delivers from the first event. */
  from: bigint | 'start';
  /** Upper bound on the events in one delivered batch. */
  batchSize?: number;
  /** Stops the subscription when aborted; the iterator then ends without error. */
  signal?: AbortSignal;
}

/**
 * A catch-up subscription to the global log that turns into a live tail. It yields
 * non-empty batches in global order; every committed event is delivered exactly once
 * per subscription.
 */
export interface Subscription extends AsyncIterable<readonly RecordedEvent[]> {
  /** Ends the subscription; a pending iteration resolves as done. */
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends events to one stream atomically, checking the expected revision.
   * Throws `WrongExpectedVersion` on a conflict, `InvalidAppend` on bad input (nothing
   * is written), `EventIdConflict` when an event id exists with other content.
   */
  append(streamName: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult>;

  /** Reads a stream forwards. A stream that does not exist reads as an empty list. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** Reads the global log forwards from strictly after `after` (`'start'` = from the beginning). */
  readAll(after: bigint | 'start', limit: number): Promise<RecordedEvent[]>;

  /** Catch-up subscription to the global log with a live tail. */
  subscribeToAll(options: SubscribeOptions): Subscription;

  /** The position of the last committed event, or -1 when the store is empty. */
  headPosition(): Promise<bigint>;

  /** Releases connections. */
  close(): Promise<void>;
}

/** Documented limits checked by every adapter before anything is written. */
export const EVENT_STORE_LIMITS = {
  /** Upper bound of the UTF-8 JSON size of one event's data plus metadata. */
  maxEventBytes: 1_048_576,
  /** Upper bound of the number of events in one append. */
  maxEventsPerAppend: 1_000,
  /**
   * Upper bound of the UTF-8 JSON size of all events of one append. EventStoreDB refuses
   * appends over its MaxAppendSize (1 MiB by default): run it with 8 MiB or more, as
   * docker/docker-compose.yml does, so that this limit is the one that applies.
   */
  maxAppendBytes: 4_194_304,
  /** Upper bound of a stream name's length. */
  maxStreamNameLength: 200,
  /** Upper bound of an event type's length. */
  maxEventTypeLength: 200,
} as const;
