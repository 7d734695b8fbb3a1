import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The `outcome` label of `ledger_payout_reactions_total`. */
export type ReactionOutcome =
  /** The reaction appended what it had to. */
  | 'applied'
  /** Nothing to do: already done (a replay), stale, or not the process manager's business. */
  | 'noop'
  /** The reaction asked a person: a manual review was requested. */
  | 'review'
  /** A business rule refused the reaction and it was recorded in payouts.conflicts for a person. */
  | 'conflict'
  /** The event names a withdrawal the ledger does not know (a callback for someone else's payout). */
  | 'unknown_withdrawal'
  /** An infrastructure failure; the reaction will run again from the checkpoint. */
  | 'error';

/** Why a manual review was requested: the `reason` label of the alert metric. */
export type ManualReviewReason =
  | 'attempts_exhausted'
  | 'no_channel'
  | 'outcome_unknown_too_long'
  | 'conflicting_callback'
  | 'provider_lost_payout';

const byRegistry = new WeakMap<Registry, PayoutMetrics>();

/**
 * The payout process manager's metrics in `registry`, created on first use: two instances in
 * one process (a leader and a standby in a test, or a restart) share them, because
 * prom-client refuses to register a name twice.
 */
export function payoutMetrics(registry: Registry = new Registry()): PayoutMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new PayoutMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

/**
 * The payout process manager's Prometheus metrics. Payouts by channel and outcome are
 * `ledger_payouts_total` of `@ledger/payments` (the channel adapter counts submits; the
 * process manager counts the outcomes it records); these are the process manager's own.
 */
export class PayoutMetrics {
  readonly reactions: Counter<'type' | 'outcome'>;
  readonly reactionDuration: Histogram<'type'>;
  readonly manualReviewsRequested: Counter<'reason'>;
  readonly conflictsRecorded: Counter<'kind'>;
  readonly statusQueries: Counter<'channel' | 'result'>;
  readonly unresolvedAttempts: Gauge<'status'>;
  readonly lagEvents: Gauge;
  readonly lagSeconds: Gauge;
  readonly checkpointPosition: Gauge;
  readonly reactionsInFlight: Gauge;
  readonly leader: Gauge;

  constructor(readonly registry: Registry = new Registry()) {
    const registers = [registry];
    this.reactions = new Counter({
      name: 'ledger_payout_reactions_total',
      help: 'Events the payout process manager reacted to, by event type and outcome (applied, noop, review, conflict, unknown_withdrawal, error).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.reactionDuration = new Histogram({
      name: 'ledger_payout_reaction_duration_seconds',
      help: 'Time one reaction took, provider calls included.',
      labelNames: ['type'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.manualReviewsRequested = new Counter({
      name: 'ledger_manual_reviews_requested_total',
      help: 'Withdrawals the payout process manager sent to manual review, by reason. Alert on any increase: each one waits for a person.',
      labelNames: ['reason'],
      registers,
    });
    this.conflictsRecorded = new Counter({
      name: 'ledger_payout_conflicts_total',
      help: 'Findings recorded in payouts.conflicts because they could not go to manual review (a contradicting callback after an outcome, a refused money command, an unprocessable event). Alert on any increase.',
      labelNames: ['kind'],
      registers,
    });
    this.statusQueries = new Counter({
      name: 'ledger_payout_status_queries_total',
      help: 'Status queries of payout attempts by channel and result (pending, settled, failed, returned, not_found, not_found_early, unknown).',
      labelNames: ['channel', 'result'],
      registers,
    });
    this.unresolvedAttempts = new Gauge({
      name: 'ledger_payout_attempts_unresolved',
      help: 'Payout attempts waiting for an answer: status unknown (nobody knows whether it paid) or pending (the provider holds it, no outcome yet).',
      labelNames: ['status'],
      registers,
    });
    this.lagEvents = new Gauge({
      name: 'ledger_payout_pm_lag_events',
      help: 'Head position of the event log minus the payout process manager checkpoint.',
      registers,
    });
    this.lagSeconds = new Gauge({
      name: 'ledger_payout_pm_lag_seconds',
      help: 'Age of the oldest event the payout process manager has not finished reacting to; 0 when caught up.',
      registers,
    });
    this.checkpointPosition = new Gauge({
      name: 'ledger_payout_pm_checkpoint_position',
      help: 'Global position up to which every reaction of the payout process manager completed.',
      registers,
    });
    this.reactionsInFlight = new Gauge({
      name: 'ledger_payout_pm_events_in_flight',
      help: 'Events read past the checkpoint whose reactions have not all completed.',
      registers,
    });
    this.leader = new Gauge({
      name: 'ledger_payout_pm_leader',
      help: '1 while this instance holds the payout process manager advisory lock, else 0.',
      registers,
    });
  }
}
