import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { failpoint, linkTo, startSpan } from '@ledger/platform';
import type { DataSource } from 'typeorm';
import { commitBatch, type BatchOutcome } from './batch';
import { readCheckpoints } from './checkpoints';
import { CheckpointConflict } from './errors';
import { Leadership } from './leadership';
import { ProjectorMetrics } from './metrics';
import type { Projection } from './projection';

export type ProjectorLogLevel = 'info' | 'warn' | 'error';
export type ProjectorLog = (level: ProjectorLogLevel, message: string, fields?: Record<string, unknown>) => void;

export interface ProjectorOptions {
  store: EventStore;
  /** An initialised DataSource over a migrated read-model schema. */
  dataSource: DataSource;
  /** Projections run together: one subscription, one transaction per batch, one leader. */
  projections: readonly Projection[];
  /** Upper bound of events per batch (and per transaction). */
  batchSize?: number;
  /** How often a standby tries to take the leadership over. */
  standbyRetryMs?: number;
  /** How often the lag gauges are refreshed while leading. */
  lagRefreshMs?: number;
  metrics?: ProjectorMetrics;
  log?: ProjectorLog;
}

export type ProjectorState = 'stopped' | 'standby' | 'leading';

export interface ProjectorStatus {
  state: ProjectorState;
  leader: boolean;
  /** Committed checkpoints by projection (as last read or written by this instance). */
  checkpoints: Record<string, string>;
  /** The log's head at the last lag refresh, or null before the first. */
  head: string | null;
  batchesCommitted: number;
  eventsCommitted: number;
  checkpointConflicts: number;
  lastError: string | null;
}

const BACKOFF_MS_MAX = 5_000;

/**
 * Runs a group of projections against the event log.
 *
 * Leadership: an instance writes only while its dedicated session holds the advisory lock
 * of every projection in the group (`Leadership`); other instances stand by and retry every
 * `standbyRetryMs`. PostgreSQL drops the lock with the session, so a standby takes over
 * within one retry of the leader's process or connection dying.
 *
 * Batches run on that same session: BEGIN on it is the liveness check before every batch,
 * and a leader whose session died cannot commit anything, because its transaction died
 * with the lock. The checkpoint compare-and-set in every batch (`commitBatch`) is the
 * second line: even a writer that wrongly believes it leads cannot apply a position twice
 * or skip one.
 *
 * The projector reads from the lowest checkpoint of the group; each projection gets only the
 * events after its own checkpoint, so projections at different positions (one freshly
 * rebuilt) converge. While one batch is written the next is already being read.
 */
export class Projector {
  readonly metrics: ProjectorMetrics;
  private readonly names: readonly string[];
  private readonly batchSize: number;
  private readonly log: ProjectorLog;
  private state: ProjectorState = 'stopped';
  private checkpoints = new Map<string, bigint>();
  private head: bigint | null = null;
  private batchesCommitted = 0;
  private eventsCommitted = 0;
  private conflicts = 0;
  private lastError: string | null = null;
  private stopper: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly progressWaiters = new Set<() => void>();

  constructor(private readonly options: ProjectorOptions) {
    if (options.projections.length === 0) throw new RangeError('a projector needs at least one projection');
    const names = options.projections.map((projection) => projection.name);
    if (new Set(names).size !== names.length) throw new RangeError(`projection names repeat: ${names.join(', ')}`);
    this.names = names;
    this.batchSize = options.batchSize ?? 1_000;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError('batchSize must be a positive integer');
    this.metrics = options.metrics ?? new ProjectorMetrics();
    this.log = options.log ?? (() => undefined);
  }

  /**
   * Starts the loop in the background and resolves after the first leadership attempt, so
   * `status()` then says whether this instance leads or stands by.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.stopper = new AbortController();
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((done) => (firstAttempt = done));
    this.running = this.run(this.stopper.signal, firstAttempt);
    await attempted;
  }

  /** Stops after the batch in flight commits, and gives the leadership up. */
  async stop(): Promise<void> {
    this.stopper?.abort();
    await this.running;
    this.running = undefined;
  }

  status(): ProjectorStatus {
    return {
      state: this.state,
      leader: this.state === 'leading',
      checkpoints: Object.fromEntries([...this.checkpoints].map(([name, position]) => [name, position.toString()])),
      head: this.head === null ? null : this.head.toString(),
      batchesCommitted: this.batchesCommitted,
      eventsCommitted: this.eventsCommitted,
      checkpointConflicts: this.conflicts,
      lastError: this.lastError,
    };
  }

  /**
   * Resolves once every projection of the group has committed `position` (by default the
   * log's head at the time of the call). Only a leading instance gets there; a standby waits.
   */
  async waitFor(position?: bigint, timeoutMs = 30_000): Promise<void> {
    const target = position ?? (await this.options.store.headPosition());
    const reached = () => this.names.every((name) => (this.checkpoints.get(name) ?? 0n) >= target);
    const deadline = Date.now() + timeoutMs;
    while (!reached()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`projections did not reach ${target.toString()} within ${timeoutMs} ms: ${JSON.stringify(this.status())}`);
      }
      await new Promise<void>((done) => {
        const wake = () => {
          clearTimeout(timer);
          this.progressWaiters.delete(wake);
          done();
        };
        const timer = setTimeout(wake, Math.min(remaining, 100));
        this.progressWaiters.add(wake);
      });
    }
  }

  private async run(signal: AbortSignal, firstAttempt: () => void): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let leadership: Leadership | null = null;
      try {
        leadership = await Leadership.tryAcquire(this.options.dataSource, this.names);
      } catch (error) {
        this.recordError('leadership attempt failed', error);
      }
      firstAttempt();
      if (leadership === null) {
        this.setState('standby');
        await sleep(this.options.standbyRetryMs ?? 500, signal);
        continue;
      }
      this.setState('leading');
      this.log('info', 'leading', { projections: this.names });
      const lag = this.startLagRefresh(signal);
      try {
        await this.lead(leadership, signal);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.recordError('leadership ended by an error', error);
      } finally {
        lag.stop();
        await leadership.release();
        this.setState(signal.aborted ? 'stopped' : 'standby');
      }
      // After a failure, step back long enough for a healthier standby to take over.
      if (failures > 0) await sleep(Math.min(BACKOFF_MS_MAX, 250 * 2 ** failures), signal);
    }
    this.setState('stopped');
  }

  /** Projects until stopped; returns normally only when `signal` is aborted. */
  private async lead(leadership: Leadership, signal: AbortSignal): Promise<void> {
    const session = leadership.session;
    while (!signal.aborted) {
      let checkpoints = await readCheckpoints(session, this.names);
      this.setCheckpoints(checkpoints);
      const from = [...checkpoints.values()].reduce((low, position) => (position < low ? position : low));
      const reading = new AbortController();
      const stopReading = () => reading.abort();
      signal.addEventListener('abort', stopReading, { once: true });
      const subscription = this.options.store.subscribeToAll({
        from: from === 0n ? 'start' : from,
        batchSize: this.batchSize,
        signal: reading.signal,
      });
      const batches = subscription[Symbol.asyncIterator]();
      try {
        let next = batches.next();
        for (;;) {
          const result = await next;
          if (result.done || signal.aborted) return;
          // Read the following batch while this one is written.
          next = batches.next();
          next.catch(() => undefined);
          if (!leadership.alive) throw new Error('the leadership session was lost');
          const outcome = await tracedBatch(result.value, () =>
            commitBatch({
              session,
              projections: this.options.projections,
              batch: result.value,
              checkpoints,
            }),
          );
          // A test SIGKILLs the process here: the batch is committed, the next is not begun.
          failpoint('projector.after-commit');
          checkpoints = outcome.checkpoints;
          this.recordBatch(result.value, outcome);
        }
      } catch (error) {
        if (!(error instanceof CheckpointConflict)) {
          for (const name of this.names) this.metrics.batchFailures.inc({ projection: name });
          throw error;
        }
        // Someone else moved a checkpoint (a rebuild swapped its tables in): start again from
        // what is committed. Nothing of the rolled-back batch was written.
        this.conflicts += 1;
        this.metrics.checkpointConflicts.inc({ projection: String(error.details.projection) });
        this.log('warn', 'checkpoint moved by another writer; re-reading', { ...error.details });
      } finally {
        signal.removeEventListener('abort', stopReading);
        reading.abort();
        await subscription.close();
      }
    }
  }

  private recordBatch(batch: readonly RecordedEvent[], outcome: BatchOutcome): void {
    this.batchesCommitted += 1;
    this.eventsCommitted += batch.length;
    for (const [name, events] of outcome.eventsApplied) {
      const labels = { projection: name };
      this.metrics.batchSize.observe(labels, events);
      this.metrics.eventsApplied.inc(labels, events);
      this.metrics.applyDuration.observe(labels, outcome.applySeconds.get(name) ?? 0);
      const illegal = outcome.illegalTransitions.get(name) ?? 0;
      if (illegal > 0) {
        this.metrics.illegalTransitions.inc(labels, illegal);
        this.log('error', 'withdrawal events contradict the state machine; recorded, not applied', {
          projection: name,
          count: illegal,
          lastPosition: batch[batch.length - 1]!.globalPosition.toString(),
        });
      }
    }
    this.setCheckpoints(outcome.checkpoints);
  }

  private setCheckpoints(checkpoints: ReadonlyMap<string, bigint>): void {
    this.checkpoints = new Map(checkpoints);
    for (const [name, position] of checkpoints) {
      const labels = { projection: name };
      this.metrics.checkpointPosition.set(labels, Number(position));
      // Between refreshes the last known head bounds the lag; a projection that reached it
      // has nothing older waiting either.
      if (this.head !== null) {
        this.metrics.lagEvents.set(labels, Math.max(0, Number(this.head - position)));
        if (position >= this.head) this.metrics.lagSeconds.set(labels, 0);
      }
    }
    for (const wake of [...this.progressWaiters]) wake();
  }

  private setState(state: ProjectorState): void {
    this.state = state;
    for (const name of this.names) this.metrics.leader.set({ projection: name }, state === 'leading' ? 1 : 0);
  }

  private recordError(message: string, error: unknown): void {
    this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.log('error', message, { error: this.lastError });
  }

  /**
   * Refreshes the lag gauges on a timer, off the batch path: the head, and the age of the
   * oldest event not applied yet (one read of one event). Refreshes never overlap.
   */
  private startLagRefresh(signal: AbortSignal): { stop(): void } {
    let busy = false;
    const refresh = async () => {
      if (busy || signal.aborted) return;
      busy = true;
      try {
        const head = await this.options.store.headPosition();
        this.head = head < 0n ? 0n : head;
        const lowest = [...this.checkpoints.values()].reduce((low, p) => (p < low ? p : low), this.head);
        const oldest: RecordedEvent | undefined =
          lowest < this.head ? (await this.options.store.readAll(lowest === 0n ? 'start' : lowest, 1))[0] : undefined;
        for (const [name, position] of this.checkpoints) {
          const labels = { projection: name };
          this.metrics.lagEvents.set(labels, Math.max(0, Number(this.head - position)));
          const behind = position < this.head && oldest !== undefined;
          this.metrics.lagSeconds.set(labels, behind ? Math.max(0, (Date.now() - oldest.recordedAt.getTime()) / 1_000) : 0);
        }
      } catch (error) {
        this.log('warn', 'lag refresh failed', { error: error instanceof Error ? error.message : String(error) });
      } finally {
        busy = false;
      }
    };
    void refresh();
    const timer = setInterval(() => void refresh(), this.options.lagRefreshMs ?? 1_000);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
  });
}

/** Traces a batch serves at most this many links to: a batch of 1,000 events need not name 1,000 traces. */
const BATCH_LINKS_MAX = 32;

/**
 * Runs one batch in a `projection batch` span linked to the traces of the events in it (the
 * commands that appended them): a batch serves many traces at once, so it links rather than
 * nests, and a reader of one trace still finds the batch that made its write visible.
 */
async function tracedBatch<T>(batch: readonly RecordedEvent[], run: () => Promise<T>): Promise<T> {
  const links = [...new Set(batch.map((event) => event.metadata.traceparent).filter((traceparent) => traceparent !== undefined))]
    .slice(0, BATCH_LINKS_MAX)
    .map((traceparent) => linkTo(traceparent))
    .filter((link) => link !== undefined);
  const span = startSpan('projection batch', undefined, {
    links,
    attributes: {
      'ledger.events': batch.length,
      'ledger.position_first': batch[0]?.globalPosition.toString() ?? '',
      'ledger.position_last': batch[batch.length - 1]?.globalPosition.toString() ?? '',
    },
  });
  try {
    return await run();
  } finally {
    span.end();
  }
}
