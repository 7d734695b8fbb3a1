import { accountDecider, accountStream, withdrawalDecider, withdrawalStream } from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import { paymentMetrics } from '@ledger/payments';
import { failpoint, inSpan } from '@ledger/platform';
import {
  compareAndSetCheckpoint,
  createReadModelsDataSource,
  Leadership,
  migrateReadModels,
  readCheckpoints,
  type ProjectorLog,
} from '@ledger/read-models';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { CheckpointTracker } from './checkpoint-tracker';
import { ExecutorClosed, KeyedExecutor } from './keyed-executor';
import { migratePayouts } from './migrations';
import { payoutMetrics, type PayoutMetrics, type ReactionOutcome } from './payout-metrics';
import {
  isPoison,
  PAYOUT_TIMER_DEFAULTS,
  PayoutReactions,
  reactionKey,
  type PayoutRouting,
  type PayoutTimerSettings,
} from './payout-reactions';
import { PayoutState, SerializedSession } from './payout-state';
import { ReactionCommands } from './reaction-commands';

/**
 * The name of the process manager's checkpoint in `read_models.projection_checkpoints` and
 * of its advisory lock (`projectionLockKey`): it follows the log like a projection does.
 */
export const PAYOUT_PROCESS_MANAGER_NAME = 'payout_process_manager';

export interface PayoutProcessManagerOptions {
  /** Events per read of the log. */
  batchSize?: number;
  /** Reactions running at once, each for a different withdrawal. */
  concurrency?: number;
  /**
   * Events read past the checkpoint and not yet finished, at most: bounds memory and the
   * replay after a crash when one withdrawal's reaction is slow.
   */
  maxEventsInFlight?: number;
  /** How often a standby tries to take the lead. */
  standbyRetryMs?: number;
  /** How often the timer looks for attempts due a status query. */
  timerScanMs?: number;
  /** Attempts checked per timer scan, at most. */
  timerBatchSize?: number;
  /** How often the lag gauges are refreshed. */
  lagRefreshMs?: number;
  timers?: Partial<PayoutTimerSettings>;
  /** Run the read-model (checkpoint table) and `payouts` migrations on start; default true. */
  migrate?: boolean;
}

export interface CreatePayoutProcessManagerOptions {
  store: EventStore;
  /** A DataSource over the ledger's PostgreSQL (the read models' one does); it stays the caller's. */
  dataSource?: DataSource;
  /** Or a PostgreSQL URL: the process manager opens and closes a DataSource of its own. */
  url?: string;
  /** The channels and their routing: `createPaymentChannels(loadPaymentChannels(env)).router`. */
  routing: PayoutRouting;
  /** Where the metrics are registered; the payout counters of `@ledger/payments` share it. */
  registry?: Registry;
  log?: ProjectorLog;
  /** The process manager's clock; tests move it to expire timers. */
  clock?: () => Date;
  options?: PayoutProcessManagerOptions;
}

export type PayoutProcessManagerState = 'stopped' | 'standby' | 'leading';

export interface PayoutProcessManagerStatus {
  state: PayoutProcessManagerState;
  /** The committed checkpoint, as last read or written by this instance. */
  checkpoint: string;
  eventsInFlight: number;
  reactionsCompleted: number;
  lastError: string | null;
}

export interface PayoutProcessManager {
  /** Migrates, then starts leading or standing by; resolves after the first leadership attempt. */
  start(): Promise<void>;
  /** Lets the reactions in flight finish, commits the checkpoint, gives up the lead, closes what it opened. */
  stop(): Promise<void>;
  /**
   * Resolves once this instance leads, its checkpoint has reached the log's head, nothing
   * is in flight and no attempt is due a status query; the log's head is read again until
   * it stays put, because reactions append events of their own.
   */
  waitForIdle(timeoutMs?: number): Promise<void>;
  status(): PayoutProcessManagerStatus;
  readonly metrics: PayoutMetrics;
}

const DEFAULTS = {
  batchSize: 500,
  concurrency: 16,
  maxEventsInFlight: 2_000,
  standbyRetryMs: 500,
  timerScanMs: 500,
  timerBatchSize: 100,
  lagRefreshMs: 1_000,
} as const;

const BACKOFF_MS_MAX = 5_000;

/**
 * The payout process manager (ARCHITECTURE.md §6, docs/payouts.md): follows the event log
 * from its own checkpoint and turns withdrawal events into provider calls and commands.
 *
 * - One active instance: the leader holds the advisory lock of
 *   `payout_process_manager` on a dedicated session; others stand by and take over within
 *   one `standbyRetryMs` of the leader's session dying. The checkpoint and the `payouts`
 *   tables are written on that session, so a leader that lost it writes nothing more.
 * - Reactions run on a `KeyedExecutor`: in log order per withdrawal, up to `concurrency`
 *   withdrawals at once, so a slow provider holds up its own withdrawals only.
 * - The checkpoint is the low-water mark of finished reactions (`CheckpointTracker`): a
 *   restart replays every event whose reaction may not have finished, and reactions are
 *   idempotent, so the replay appends nothing twice.
 * - Timers: status queries of attempts waiting for an answer come from `payouts.attempts`,
 *   scanned every `timerScanMs`, and run on the same executor, in line with the reactions to
 *   the same withdrawal.
 */
export function createPayoutProcessManager(options: CreatePayoutProcessManagerOptions): PayoutProcessManager {
  if ((options.dataSource === undefined) === (options.url === undefined)) {
    throw new TypeError('createPayoutProcessManager needs exactly one of dataSource or url');
  }
  return new PayoutProcessManagerImpl(options);
}

class PayoutProcessManagerImpl implements PayoutProcessManager {
  readonly metrics: PayoutMetrics;
  private readonly dataSource: DataSource;
  private readonly ownsDataSource: boolean;
  private readonly settings: Required<Omit<PayoutProcessManagerOptions, 'timers'>> & { timers: PayoutTimerSettings };
  private readonly log: ProjectorLog;
  private readonly clock: () => Date;
  private state: PayoutProcessManagerState = 'stopped';
  private checkpoint = 0n;
  private tracker: CheckpointTracker | undefined;
  private executor: KeyedExecutor | undefined;
  private reactionsCompleted = 0;
  private lastError: string | null = null;
  private stopper: AbortController | undefined;
  private running: Promise<void> | undefined;
  /** Set by a lead term while its timers have an attempt due; idle waits for none. */
  private attemptsDue = true;
  private readonly progressWaiters = new Set<() => void>();

  constructor(private readonly options: CreatePayoutProcessManagerOptions) {
    this.ownsDataSource = options.dataSource === undefined;
    this.dataSource = options.dataSource ?? createReadModelsDataSource(options.url!, { poolSize: 3, applicationName: 'ledger-payouts' });
    const given = options.options ?? {};
    this.settings = {
      batchSize: given.batchSize ?? DEFAULTS.batchSize,
      concurrency: given.concurrency ?? DEFAULTS.concurrency,
      maxEventsInFlight: given.maxEventsInFlight ?? DEFAULTS.maxEventsInFlight,
      standbyRetryMs: given.standbyRetryMs ?? DEFAULTS.standbyRetryMs,
      timerScanMs: given.timerScanMs ?? DEFAULTS.timerScanMs,
      timerBatchSize: given.timerBatchSize ?? DEFAULTS.timerBatchSize,
      lagRefreshMs: given.lagRefreshMs ?? DEFAULTS.lagRefreshMs,
      migrate: given.migrate ?? true,
      timers: { ...PAYOUT_TIMER_DEFAULTS, ...given.timers },
    };
    for (const [name, value] of Object.entries(this.settings)) {
      if (typeof value === 'number' && (!Number.isInteger(value) || value < 1)) throw new RangeError(`${name} must be a positive integer`);
    }
    this.metrics = payoutMetrics(options.registry);
    this.log = options.log ?? (() => undefined);
    this.clock = options.clock ?? (() => new Date());
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!this.dataSource.isInitialized) await this.dataSource.initialize();
    if (this.settings.migrate) {
      await migrateReadModels(this.dataSource);
      await migratePayouts(this.dataSource);
    }
    this.stopper = new AbortController();
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((done) => (firstAttempt = done));
    this.running = this.run(this.stopper.signal, firstAttempt);
    await attempted;
  }

  async stop(): Promise<void> {
    this.stopper?.abort();
    await this.running;
    this.running = undefined;
    if (this.ownsDataSource && this.dataSource.isInitialized) await this.dataSource.destroy();
  }

  status(): PayoutProcessManagerStatus {
    return {
      state: this.state,
      checkpoint: this.checkpoint.toString(),
      eventsInFlight: this.tracker?.inFlight ?? 0,
      reactionsCompleted: this.reactionsCompleted,
      lastError: this.lastError,
    };
  }

  async waitForIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quietRounds = 0;
    while (quietRounds < 2) {
      const head = await this.options.store.headPosition();
      const idle =
        this.state === 'leading' &&
        this.checkpoint >= head &&
        (this.tracker?.inFlight ?? 0) === 0 &&
        (this.executor?.size ?? 0) === 0 &&
        !this.attemptsDue;
      quietRounds = idle ? quietRounds + 1 : 0;
      if (quietRounds >= 2) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `the payout process manager was not idle within ${timeoutMs} ms (head ${head}): ${JSON.stringify(this.status())}`,
        );
      }
      await new Promise<void>((done) => {
        const wake = () => {
          clearTimeout(timer);
          this.progressWaiters.delete(wake);
          done();
        };
        const timer = setTimeout(wake, Math.min(remaining, 50));
        this.progressWaiters.add(wake);
      });
    }
  }

  private async run(signal: AbortSignal, firstAttempt: () => void): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let leadership: Leadership | null = null;
      try {
        leadership = await Leadership.tryAcquire(this.dataSource, [PAYOUT_PROCESS_MANAGER_NAME]);
      } catch (error) {
        this.recordError('leadership attempt failed', error);
      }
      firstAttempt();
      if (leadership === null) {
        this.setState('standby');
        await sleep(this.settings.standbyRetryMs, signal);
        continue;
      }
      this.setState('leading');
      this.log('info', 'leading', { processManager: PAYOUT_PROCESS_MANAGER_NAME });
      try {
        await this.lead(leadership, signal);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.recordError('payout process manager term ended by an error; replaying from the checkpoint', error);
      } finally {
        await leadership.release();
        this.setState(signal.aborted ? 'stopped' : 'standby');
      }
      // After a failure, step back long enough for a healthier standby to take over.
      if (failures > 0) await sleep(Math.min(BACKOFF_MS_MAX, 250 * 2 ** failures), signal);
    }
    this.setState('stopped');
  }

  /**
   * One term as leader: read from the checkpoint, dispatch reactions, advance the
   * checkpoint over what finished, run the timers. Returns when `signal` is aborted (after
   * the reactions in flight finished); throws when a reaction failed for a reason a replay
   * may fix, after the others in flight finished and the checkpoint was committed.
   */
  private async lead(leadership: Leadership, signal: AbortSignal): Promise<void> {
    const session = new SerializedSession(leadership.session);
    const state = new PayoutState(session);
    const reactions = new PayoutReactions({
      store: this.options.store,
      accounts: new ReactionCommands(this.options.store, accountDecider, accountStream),
      withdrawals: new ReactionCommands(this.options.store, withdrawalDecider, withdrawalStream),
      state,
      routing: this.options.routing,
      metrics: this.metrics,
      // The outcomes it records join the channels' submit counts in `ledger_payouts_total`.
      paymentMetrics: paymentMetrics(this.metrics.registry),
      timers: this.settings.timers,
      clock: this.clock,
      log: this.log,
    });
    this.checkpoint = (await readCheckpoints(session, [PAYOUT_PROCESS_MANAGER_NAME])).get(PAYOUT_PROCESS_MANAGER_NAME)!;
    this.metrics.checkpointPosition.set(Number(this.checkpoint));
    const tracker = new CheckpointTracker(this.checkpoint);
    const executor = new KeyedExecutor(this.settings.concurrency);
    this.tracker = tracker;
    this.executor = executor;
    this.attemptsDue = true;

    // The term ends on stop, or on the first reaction that fails for a reason a replay may fix.
    const term = new AbortController();
    const endTerm = () => term.abort();
    signal.addEventListener('abort', endTerm, { once: true });
    // A stop that came while this term was starting has fired already.
    if (signal.aborted) term.abort();
    let failure: unknown;
    const fail = (error: unknown) => {
      failure ??= error;
      term.abort();
    };

    // The checkpoint follows the tracker's mark, one compare-and-set at a time.
    let flushing: Promise<void> | undefined;
    const flush = (): Promise<void> => {
      flushing ??= (async () => {
        try {
          while (tracker.safe > this.checkpoint) {
            const next = tracker.safe;
            await compareAndSetCheckpoint(session, PAYOUT_PROCESS_MANAGER_NAME, this.checkpoint, next);
            this.checkpoint = next;
            this.metrics.checkpointPosition.set(Number(next));
            this.wakeProgress();
          }
        } finally {
          flushing = undefined;
        }
      })();
      return flushing;
    };
    const unsubscribe = tracker.onAdvance(() => void flush().catch(fail));

    const timers = this.startTimers(state, reactions, executor, term.signal, fail);
    const lag = this.startLagRefresh(term.signal);
    const subscription = this.options.store.subscribeToAll({
      from: this.checkpoint === 0n ? 'start' : this.checkpoint,
      batchSize: this.settings.batchSize,
      signal: term.signal,
    });
    try {
      for await (const batch of subscription) {
        for (const event of batch) {
          await tracker.waitForRoom(this.settings.maxEventsInFlight, term.signal);
          if (term.signal.aborted) break;
          tracker.add(event.globalPosition);
          this.dispatch(event, reactions, executor, tracker, fail);
        }
        this.metrics.reactionsInFlight.set(tracker.inFlight);
        if (term.signal.aborted) break;
      }
    } catch (error) {
      if (!term.signal.aborted) fail(error);
    } finally {
      term.abort();
      signal.removeEventListener('abort', endTerm);
      await subscription.close();
      timers.stop();
      lag.stop();
      // Queued reactions are dropped (the checkpoint is behind them); running ones finish.
      await executor.close();
      await timers.done;
      unsubscribe();
      if (leadership.alive) await flush().catch((error: unknown) => (failure ??= error));
      this.metrics.reactionsInFlight.set(0);
      this.tracker = undefined;
      this.executor = undefined;
    }
    if (failure !== undefined) throw failure;
  }

  private dispatch(
    event: RecordedEvent,
    reactions: PayoutReactions,
    executor: KeyedExecutor,
    tracker: CheckpointTracker,
    fail: (error: unknown) => void,
  ): void {
    const key = reactionKey(event);
    if (key === null) {
      tracker.complete(event.globalPosition);
      return;
    }
    const started = performance.now();
    executor
      .run(key, async () => {
        let outcome: ReactionOutcome;
        try {
          outcome = await inSpan(
            `payout reaction ${event.type}`,
            event.metadata.traceparent,
            { 'ledger.event_type': event.type, 'ledger.position': event.globalPosition.toString(), 'ledger.stream': event.streamName },
            () => reactions.react(event),
          );
        } catch (error) {
          if (!isPoison(error)) throw error;
          outcome = 'conflict';
          await reactions.recordConflict(event, key, 'reaction_failed', errorCode(error), { error: describe(error) });
        }
        this.metrics.reactions.inc({ type: event.type, outcome });
        this.metrics.reactionDuration.observe({ type: event.type }, (performance.now() - started) / 1_000);
        // A test kills the process here: the reaction is done, the checkpoint not yet moved.
        failpoint('payouts.after-reaction');
      })
      .then(
        () => {
          this.reactionsCompleted += 1;
          tracker.complete(event.globalPosition);
        },
        (error: unknown) => {
          if (error instanceof ExecutorClosed) return;
          this.metrics.reactions.inc({ type: event.type, outcome: 'error' });
          this.log('error', 'reaction failed; it runs again from the checkpoint', {
            type: event.type,
            eventId: event.id,
            position: event.globalPosition.toString(),
            withdrawalId: key,
            error: describe(error),
          });
          fail(error);
        },
      );
  }

  /**
   * Every `timerScanMs`, the attempts due a status query go onto the executor, behind the
   * reactions already queued for their withdrawal. A check that fails is logged and comes
   * round again at the next scan: the row is still due.
   */
  private startTimers(
    state: PayoutState,
    reactions: PayoutReactions,
    executor: KeyedExecutor,
    signal: AbortSignal,
    fail: (error: unknown) => void,
  ): { stop(): void; done: Promise<void> } {
    const scheduled = new Set<string>();
    const checks = new Set<Promise<void>>();
    let timer: NodeJS.Timeout | undefined;
    let scanning: Promise<void> = Promise.resolve();
    const scan = async () => {
      if (signal.aborted) return;
      try {
        const now = this.clock();
        const due = await state.dueAttempts(now, this.settings.timerBatchSize);
        const open = await state.openAttempts();
        this.metrics.unresolvedAttempts.set({ status: 'unknown' }, open.unknown);
        this.metrics.unresolvedAttempts.set({ status: 'pending' }, open.pending);
        this.attemptsDue = due.length > 0 || scheduled.size > 0;
        for (const row of due) {
          const id = `${row.withdrawalId}#${row.attempt}`;
          if (scheduled.has(id) || signal.aborted) continue;
          scheduled.add(id);
          const started = performance.now();
          const check = executor
            .run(row.withdrawalId, async () => {
              const outcome = await reactions.checkAttempt(row);
              this.metrics.reactions.inc({ type: 'StatusCheck', outcome });
              this.metrics.reactionDuration.observe({ type: 'StatusCheck' }, (performance.now() - started) / 1_000);
            })
            .catch((error: unknown) => {
              if (error instanceof ExecutorClosed) return;
              this.metrics.reactions.inc({ type: 'StatusCheck', outcome: 'error' });
              this.log('warn', 'status check failed; it runs again at the next scan', {
                withdrawalId: row.withdrawalId,
                attempt: row.attempt,
                error: describe(error),
              });
            })
            .finally(() => {
              scheduled.delete(id);
              checks.delete(check);
            });
          checks.add(check);
        }
      } catch (error) {
        // The leadership session is gone or broken: the term cannot go on.
        fail(error);
      }
    };
    const loop = () => {
      scanning = scan().finally(() => {
        if (!signal.aborted) timer = setTimeout(loop, this.settings.timerScanMs);
      });
    };
    loop();
    return {
      stop: () => clearTimeout(timer),
      get done() {
        return scanning.then(() => Promise.all([...checks])).then(() => undefined);
      },
    };
  }

  /** Refreshes the lag gauges on a timer, off the reaction path; refreshes never overlap. */
  private startLagRefresh(signal: AbortSignal): { stop(): void } {
    let busy = false;
    const refresh = async () => {
      if (busy || signal.aborted) return;
      busy = true;
      try {
        const head = await this.options.store.headPosition();
        const checkpoint = this.checkpoint;
        this.metrics.lagEvents.set(Math.max(0, Number(head - checkpoint)));
        const oldest = checkpoint < head ? (await this.options.store.readAll(checkpoint === 0n ? 'start' : checkpoint, 1))[0] : undefined;
        this.metrics.lagSeconds.set(oldest ? Math.max(0, (Date.now() - oldest.recordedAt.getTime()) / 1_000) : 0);
      } catch (error) {
        this.log('warn', 'lag refresh failed', { error: describe(error) });
      } finally {
        busy = false;
      }
    };
    void refresh();
    const timer = setInterval(() => void refresh(), this.settings.lagRefreshMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  private wakeProgress(): void {
    for (const wake of [...this.progressWaiters]) wake();
  }

  private setState(state: PayoutProcessManagerState): void {
    this.state = state;
    this.metrics.leader.set(state === 'leading' ? 1 : 0);
  }

  private recordError(message: string, error: unknown): void {
    this.lastError = describe(error);
    this.log('error', message, { error: this.lastError });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown';
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
