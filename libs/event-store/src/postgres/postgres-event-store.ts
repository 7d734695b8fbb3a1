import { Client, Pool, type PoolConfig } from 'pg';
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
import { PollingSubscription } from '../subscription';
import { assertStreamName, validateAppend, type SerialisedEvent } from '../validation';
import { migrateEventStore } from './migrate';
import { NOTIFY_CHANNEL } from './schema';

export interface PostgresEventStoreOptions {
  connectionString: string;
  /** Connections for appends and reads. The LISTEN connection comes on top. */
  poolSize?: number;
  /** Run the schema migrations on start. Defaults to true. */
  migrate?: boolean;
  /** Upper bound of appends that one group-commit transaction carries. */
  maxAppendsPerBatch?: number;
  /** Group-commit transactions in flight at once; the second prepares while the first commits. */
  maxBatchesInFlight?: number;
  /** A live subscription re-reads at least this often even if no notification arrives. */
  pollIntervalMs?: number;
  /** Server-side statement timeout for every query on the pool. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

interface PendingAppend {
  streamName: string;
  expectedRevision: ExpectedRevision;
  events: SerialisedEvent[];
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface AppendRow {
  append_index: number;
  status: 'ok' | 'idempotent' | 'wrong_expected_version' | 'event_id_conflict';
  last_revision: string | null;
  last_position: string | null;
  conflicting_event_id: string | null;
}

interface EventRow {
  global_position: string;
  stream_name: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

const EVENT_COLUMNS =
  'global_position, stream_name, stream_revision, event_id, event_type, data, metadata, recorded_at';

/**
 * The PostgreSQL adapter of the event-store port (the embedded default).
 *
 * Appends from concurrent callers are grouped into one transaction (group commit): the
 * first append is sent at once; the ones that arrive while it is in flight leave
 * together in the next call of `event_store.append_batch`. Each append keeps its own
 * exact revision check, and one append's conflict does not fail its neighbours.
 */
export class PostgresEventStore implements EventStore {
  private queue: PendingAppend[] = [];
  private batchesInFlight = 0;
  /** Streams with an append in a batch now in flight (at most one batch per stream). */
  private readonly streamsInFlight = new Set<string>();
  private listener: LogListener | undefined;
  private closed = false;
  /** Reads sent to the pool and not yet answered; `close` waits for them. */
  private readsInFlight = 0;

  private constructor(
    readonly pool: Pool,
    private readonly options: Required<
      Pick<PostgresEventStoreOptions, 'maxAppendsPerBatch' | 'maxBatchesInFlight' | 'pollIntervalMs'>
    > &
      PostgresEventStoreOptions,
  ) {}

  static async create(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const poolConfig: PoolConfig = {
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      application_name: options.applicationName ?? 'ledger-event-store',
      statement_timeout: options.statementTimeoutMs ?? 30_000,
    };
    const pool = new Pool(poolConfig);
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const store = new PostgresEventStore(pool, {
      maxAppendsPerBatch: 256,
      maxBatchesInFlight: 2,
      pollIntervalMs: 1_000,
      ...options,
    });
    try {
      if (options.migrate ?? true) await migrateEventStore(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new EventStoreUnavailable(`event store migration failed: ${(error as Error).message}`, { cause: error });
    }
    return store;
  }

  append(streamName: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    let serialised: SerialisedEvent[];
    try {
      serialised = validateAppend(streamName, events, options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new EventStoreUnavailable('event store is closed'));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamName, expectedRevision: options.expectedRevision, events: serialised, resolve, reject });
      this.pump();
    });
  }

  /**
   * Sends what has queued as batches, at most `maxBatchesInFlight` at once. An append whose
   * stream is in a batch still in flight waits for the next batch: two batches on the wire
   * could reach the database in either order, and appends to one stream must apply in the
   * order they were called.
   */
  private pump(): void {
    while (this.queue.length > 0 && this.batchesInFlight < this.options.maxBatchesInFlight) {
      const batch: PendingAppend[] = [];
      const waiting: PendingAppend[] = [];
      for (const pending of this.queue) {
        if (batch.length < this.options.maxAppendsPerBatch && !this.streamsInFlight.has(pending.streamName)) {
          batch.push(pending);
        } else {
          waiting.push(pending);
        }
      }
      if (batch.length === 0) return;
      this.queue = waiting;
      const streams = new Set(batch.map((pending) => pending.streamName));
      for (const stream of streams) this.streamsInFlight.add(stream);
      this.batchesInFlight += 1;
      void this.flush(batch).finally(() => {
        for (const stream of streams) this.streamsInFlight.delete(stream);
        this.batchesInFlight -= 1;
        this.pump();
      });
    }
  }

  private async flush(batch: PendingAppend[]): Promise<void> {
    let rows: AppendRow[];
    try {
      rows = await this.appendBatch(batch);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(toStoreError(error));
        return;
      }
      // A batch can fail as a whole (an event id raced in by another stream, a lost
      // connection). Retry each append alone, in call order, so only the offender fails.
      for (const pending of batch) await this.flush([pending]);
      return;
    }
    for (const row of rows) {
      const pending = batch[row.append_index - 1]!;
      settle(pending, row);
    }
  }

  private async appendBatch(batch: PendingAppend[]): Promise<AppendRow[]> {
    const streams: string[] = [];
    const expected: string[] = [];
    const counts: number[] = [];
    const ids: string[] = [];
    const types: string[] = [];
    const data: string[] = [];
    const metadata: string[] = [];
    for (const pending of batch) {
      streams.push(pending.streamName);
      expected.push(String(pending.expectedRevision));
      counts.push(pending.events.length);
      for (const event of pending.events) {
        ids.push(event.id);
        types.push(event.type);
        data.push(event.data);
        metadata.push(event.metadata);
      }
    }
    const result = await this.pool.query<AppendRow>(
      'select * from event_store.append_batch($1::text[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])',
      [streams, expected, counts, ids, types, data, metadata],
    );
    return result.rows;
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamName(streamName);
    const fromRevision = options.fromRevision ?? 0n;
    const limit = options.maxCount ?? null;
    const result = await this.query<EventRow>(
      `select ${EVENT_COLUMNS} from event_store.events
        where stream_name = $1 and stream_revision >= $2
        order by stream_revision
        limit $3`,
      [streamName, fromRevision.toString(), limit],
    );
    return result.rows.map(toRecordedEvent);
  }

  async readAll(after: bigint | 'start', limit: number): Promise<RecordedEvent[]> {
    const from = after === 'start' ? 0n : after;
    const result = await this.query<EventRow>(
      `select ${EVENT_COLUMNS} from event_store.events
        where global_position > $1
        order by global_position
        limit $2`,
      [from.toString(), limit],
    );
    return result.rows.map(toRecordedEvent);
  }

  async headPosition(): Promise<bigint> {
    const result = await this.query<{ position: string }>('select position from event_store.log_head');
    const position = BigInt(result.rows[0]?.position ?? '0');
    return position === 0n ? -1n : position;
  }

  subscribeToAll(options: SubscribeOptions): Subscription {
    this.listener ??= new LogListener(this.options.connectionString);
    const listener = this.listener;
    return new PollingSubscription({
      from: options.from,
      batchSize: options.batchSize ?? 1_000,
      signal: options.signal,
      read: (after, limit) => this.readAll(after, limit),
      waitForAppend: (after, signal) => listener.waitForPositionAfter(after, this.options.pollIntervalMs, signal),
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // pg-pool's end() never settles a request still waiting for a connection, so every
    // append and read already sent finishes first; later ones are refused.
    while (this.batchesInFlight > 0 || this.queue.length > 0 || this.readsInFlight > 0) await new Promise((done) => setTimeout(done, 5));
    await this.listener?.close();
    await this.pool.end();
  }

  private async query<Row extends object>(text: string, values?: unknown[]) {
    if (this.closed) throw new EventStoreUnavailable('event store is closed');
    this.readsInFlight += 1;
    try {
      return await this.pool.query<Row>(text, values);
    } catch (error) {
      throw toStoreError(error);
    } finally {
      this.readsInFlight -= 1;
    }
  }
}

function settle(pending: PendingAppend, row: AppendRow): void {
  switch (row.status) {
    case 'ok':
    case 'idempotent':
      pending.resolve({
        nextExpectedRevision: BigInt(row.last_revision!),
        position: BigInt(row.last_position!),
        idempotent: row.status === 'idempotent',
      });
      return;
    case 'wrong_expected_version':
      pending.reject(
        new WrongExpectedVersion(pending.streamName, pending.expectedRevision, BigInt(row.last_revision ?? '-1')),
      );
      return;
    case 'event_id_conflict':
      pending.reject(
        new EventIdConflict(
          pending.streamName,
          row.conflicting_event_id ?? '',
          `event id ${row.conflicting_event_id} is already stored with other content, in another stream, or the append repeats only part of an earlier one`,
        ),
      );
      return;
    default: {
      const unknownStatus: never = row.status;
      pending.reject(new EventStoreUnavailable(`unknown append status ${String(unknownStatus)}`));
    }
  }
}

function toStoreError(error: unknown): Error {
  if (error instanceof Error && 'code' in error && typeof (error as { code: unknown }).code === 'string') {
    const code = (error as { code: string }).code;
    // Connection-class errors and shutdowns: the caller may retry once the store is back.
    if (code.startsWith('08') || code === '57P01' || code === '57P03' || code === 'ECONNREFUSED') {
      return new EventStoreUnavailable(`event store unavailable: ${error.message}`, { cause: error });
    }
  }
  return error instanceof Error ? error : new EventStoreUnavailable(String(error));
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    streamName: row.stream_name,
    type: row.event_type,
    data: row.data,
    metadata: row.metadata,
    streamRevision: BigInt(row.stream_revision),
    globalPosition: BigInt(row.global_position),
    recordedAt: row.recorded_at,
  };
}

/**
 * One LISTEN connection per store wakes every live subscription when an append commits.
 * Notifications carry the new head position; a lost connection is re-opened, and the
 * subscriptions' poll interval covers anything said while it was down.
 */
class LogListener {
  private client: Client | undefined;
  private connecting: Promise<void> | undefined;
  private latestPosition = -1n;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly connectionString: string) {}

  async waitForPositionAfter(after: bigint | 'start', timeoutMs: number, signal: AbortSignal): Promise<void> {
    await this.ensureConnected().catch(() => undefined);
    if (this.latestPosition > (after === 'start' ? 0n : after) || signal.aborted) return;
    await new Promise<void>((done) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        this.waiters.delete(finish);
        done();
      };
      const timer = setTimeout(finish, timeoutMs);
      signal.addEventListener('abort', finish, { once: true });
      this.waiters.add(finish);
    });
  }

  private ensureConnected(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.client) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new Client({ connectionString: this.connectionString, application_name: 'ledger-event-listener' });
      client.on('notification', (message) => {
        if (message.payload) {
          const position = BigInt(message.payload);
          if (position > this.latestPosition) this.latestPosition = position;
        }
        for (const wake of [...this.waiters]) wake();
      });
      client.on('error', () => {
        // Drop the client; the next wait reconnects, and polling covers the gap.
        if (this.client === client) this.client = undefined;
        void client.end().catch(() => undefined);
      });
      try {
        await client.connect();
        await client.query(`listen ${NOTIFY_CHANNEL}`);
        if (this.closed) {
          await client.end();
          return;
        }
        this.client = client;
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.waiters]) wake();
    await this.connecting?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
