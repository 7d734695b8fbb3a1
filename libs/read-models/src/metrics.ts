import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ProjectorMetricsOptions {
  /** Where to register; a new registry by default, so two projectors in one process do not collide. */
  registry?: Registry;
  /** Prefix of every metric name. */
  prefix?: string;
}

/**
 * The projector's Prometheus metrics, labelled by projection. The read API exposes
 * `registry` (alone or merged with its own through `Registry.merge`) at `/metrics`.
 *
 * Lag in events is `head - checkpoint`. On PostgreSQL positions are dense, so that is the
 * number of events not yet applied; on EventStoreDB positions are log offsets, so it is a
 * distance, not a count, and only its trend means something. Lag in seconds is how long the
 * oldest event not yet applied has been in the log: 0 when caught up.
 */
export class ProjectorMetrics {
  readonly registry: Registry;
  readonly lagEvents: Gauge<'projection'>;
  readonly lagSeconds: Gauge<'projection'>;
  readonly checkpointPosition: Gauge<'projection'>;
  readonly leader: Gauge<'projection'>;
  readonly batchSize: Histogram<'projection'>;
  readonly applyDuration: Histogram<'projection'>;
  readonly eventsApplied: Counter<'projection'>;
  readonly checkpointConflicts: Counter<'projection'>;
  readonly illegalTransitions: Counter<'projection'>;
  readonly batchFailures: Counter<'projection'>;

  constructor(options: ProjectorMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const prefix = options.prefix ?? 'ledger_';
    const registers = [this.registry];
    const labelNames = ['projection'] as const;
    this.lagEvents = new Gauge({
      name: `${prefix}projection_lag_events`,
      help: 'Head position of the event log minus the projection checkpoint.',
      labelNames,
      registers,
    });
    this.lagSeconds = new Gauge({
      name: `${prefix}projection_lag_seconds`,
      help: 'Age of the oldest event the projection has not applied yet; 0 when caught up.',
      labelNames,
      registers,
    });
    this.checkpointPosition = new Gauge({
      name: `${prefix}projection_checkpoint_position`,
      help: 'Global position of the last event the projection committed.',
      labelNames,
      registers,
    });
    this.leader = new Gauge({
      name: `${prefix}projection_leader`,
      help: '1 while this instance holds the projection advisory lock and writes it, else 0.',
      labelNames,
      registers,
    });
    this.batchSize = new Histogram({
      name: `${prefix}projection_batch_size_events`,
      help: 'Events applied per committed batch.',
      labelNames,
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
      registers,
    });
    this.applyDuration = new Histogram({
      name: `${prefix}projection_apply_duration_seconds`,
      help: 'Time a projection spent applying one batch inside its transaction.',
      labelNames,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.eventsApplied = new Counter({
      name: `${prefix}projection_events_applied_total`,
      help: 'Events applied and committed.',
      labelNames,
      registers,
    });
    this.checkpointConflicts = new Counter({
      name: `${prefix}projection_checkpoint_conflicts_total`,
      help: 'Batches rolled back because the checkpoint was not where this writer expected it.',
      labelNames,
      registers,
    });
    this.illegalTransitions = new Counter({
      name: `${prefix}projection_illegal_transitions_total`,
      help: 'Withdrawal events that contradict the state machine: recorded, not applied; each needs a person.',
      labelNames,
      registers,
    });
    this.batchFailures = new Counter({
      name: `${prefix}projection_batch_failures_total`,
      help: 'Batches that failed and were rolled back for a reason other than a checkpoint conflict.',
      labelNames,
      registers,
    });
  }
}
