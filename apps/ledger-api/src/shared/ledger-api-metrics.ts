import { Counter, Histogram, type Registry } from 'prom-client';
import type { HttpSample } from '@ledger/platform';

/** What became of one provider callback: the `outcome` label of `ledger_callbacks_total`. */
export type CallbackOutcome = 'accepted' | 'duplicate' | 'rejected';

/**
 * The `channel` label of a callback to a path that names no configured channel. Channel
 * names start with a letter, so this one can never be a real channel's; and a caller's
 * made-up names never become labels, which would let anyone create series at will.
 */
export const UNKNOWN_CHANNEL_LABEL = '_unknown';

/**
 * The command API's Prometheus metrics, served at /metrics. Names carry `ledger_command_api_`
 * where the read API's carry `ledger_read_api_`, so one process serving both through
 * `Registry.merge` never sees one name twice. The payment metrics
 * (`ledger_callback_verification_failures_total`) live in the same registry, registered by
 * `@ledger/payments`.
 */
export class LedgerApiMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly callbacks: Counter<'channel' | 'outcome'>;

  constructor(readonly registry: Registry) {
    this.httpDuration = new Histogram({
      name: 'ledger_command_api_http_request_duration_seconds',
      help: 'Duration of command API HTTP requests, by route pattern and status.',
      labelNames: ['method', 'route', 'status_code'],
      // From an idempotent replay to a hot account's queue under conflict retries.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.callbacks = new Counter({
      name: 'ledger_callbacks_total',
      help: 'Provider callbacks by channel and outcome: accepted (recorded), duplicate (a redelivery, nothing recorded), rejected (401/400/404/429).',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    });
  }

  recordCallback(channel: string, outcome: CallbackOutcome): void {
    this.callbacks.inc({ channel, outcome });
  }

  /** Records one answered request (from `configureHttpApp`'s `observe`): route pattern, never the raw path. */
  readonly observe = (sample: HttpSample): void => {
    this.httpDuration.observe({ method: sample.method, route: sample.route, status_code: String(sample.statusCode) }, sample.durationSeconds);
  };
}
