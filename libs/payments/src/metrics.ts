import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CircuitState } from './channel.port';
import type { CallbackRejectionReason } from './errors';

/** Every value of the `outcome` label of `ledger_payouts_total`. */
export type PayoutOutcomeLabel = 'accepted' | 'rejected' | 'unknown' | 'settled' | 'failed' | 'returned';

/** The `operation` label of the request-duration histogram. */
export type ChannelOperation = 'submit' | 'status';

/** The gauge's encoding of a circuit state: 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_VALUES: Readonly<Record<CircuitState, 0 | 1 | 2>> = Object.freeze({ closed: 0, half_open: 1, open: 2 });

const byRegistry = new WeakMap<Registry, PaymentMetrics>();

/**
 * The payment metrics in one registry. Get them with `paymentMetrics(registry)`: the same
 * registry always yields the same instance, so the callback endpoint and the process manager
 * can share one registry (the all-in-one process) without registering a name twice, which
 * prom-client refuses.
 *
 * The circuit-state gauge is read at scrape time from the channels that were watched, so it
 * shows an open circuit that became ready for a trial request even when no request has come
 * since to move cockatiel's own state.
 */
export class PaymentMetrics {
  readonly payouts: Counter<'channel' | 'outcome'>;
  readonly requestDuration: Histogram<'channel' | 'operation'>;
  readonly callbackVerificationFailures: Counter<'channel' | 'reason'>;
  private readonly circuits = new Map<string, () => CircuitState>();

  constructor(readonly registry: Registry) {
    this.payouts = new Counter({
      name: 'ledger_payouts_total',
      help: 'Payout submissions and their outcomes by channel: accepted, rejected, unknown at submit; settled, failed, returned as reported later.',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    });
    const circuits = this.circuits;
    const circuitState: Gauge<'channel'> = new Gauge({
      name: 'ledger_payment_channel_circuit_state',
      help: 'Circuit breaker state per payment channel: 0 closed, 1 half-open (ready for a trial request), 2 open.',
      labelNames: ['channel'],
      registers: [registry],
      collect() {
        for (const [channel, read] of circuits) circuitState.set({ channel }, CIRCUIT_STATE_VALUES[read()]);
      },
    });
    this.requestDuration = new Histogram({
      name: 'ledger_payment_channel_request_duration_seconds',
      help: 'Duration of each HTTP request to a payment provider (one per try), by channel and operation.',
      labelNames: ['channel', 'operation'],
      // From a local sandbox's few milliseconds to a provider that runs into the timeout.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.callbackVerificationFailures = new Counter({
      name: 'ledger_callback_verification_failures_total',
      help: 'Provider callbacks refused, by channel and reason (stale_timestamp, no_matching_signature, invalid_field, ...).',
      labelNames: ['channel', 'reason'],
      registers: [registry],
    });
  }

  recordPayout(channel: string, outcome: PayoutOutcomeLabel): void {
    this.payouts.inc({ channel, outcome });
  }

  observeRequest(channel: string, operation: ChannelOperation, seconds: number): void {
    this.requestDuration.observe({ channel, operation }, seconds);
  }

  /** For the callback endpoint: count a refused callback under its reason (`CallbackRejectedError.reason`). */
  recordCallbackVerificationFailure(channel: string, reason: CallbackRejectionReason | 'unknown_channel'): void {
    this.callbackVerificationFailures.inc({ channel, reason });
  }

  /** Reports a channel's circuit on every scrape. A later call for the same channel replaces the reader. */
  watchCircuit(channel: string, read: () => CircuitState): void {
    this.circuits.set(channel, read);
  }
}

/** The payment metrics registered in `registry`, created on first use. */
export function paymentMetrics(registry: Registry): PaymentMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new PaymentMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
