import { Gauge, Histogram, type Registry } from 'prom-client';
import type { HttpSample } from '@ledger/platform';
import type { ProjectionLag } from '../shared/checkpoints';

export type ReviewQueueName = 'withdrawals' | 'discrepancies';

/** A projection-lag reading: the lags, and the head they were measured against when known. */
export interface LagSample {
  head: bigint | undefined;
  lags: ProjectionLag[];
}

// Two gauges read the same sample in one scrape; a sample this fresh is reused, not re-queried.
const SAMPLE_REUSE_MS = 250;

/**
 * The read API's Prometheus metrics. Projection lag is computed when scraped, from the
 * checkpoints and the event store's head, so a stalled projector shows as growing lag
 * even though nothing in this process changes: no background timer can go stale.
 *
 * Names carry `ledger_read_api_`: the projector registers `ledger_projection_*` from its
 * own view (ProjectorMetrics), and one process that serves both through `Registry.merge`
 * must not see two metrics of one name.
 */
export class ReadApiMetrics {
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  private cached: { atMs: number; sample: Promise<LagSample> } | undefined;

  constructor(
    readonly registry: Registry,
    private readonly sampleLag: () => Promise<LagSample>,
    /** Open items waiting for a person, by queue; undefined when the database does not answer. */
    private readonly sampleReviewQueue?: () => Promise<Record<ReviewQueueName, number>>,
  ) {
    const reviewQueue: Gauge<'queue'> = new Gauge({
      name: 'ledger_review_queue_open',
      help: 'Items waiting for an operator, at scrape time: withdrawals in manual review, open reconciliation discrepancies.',
      labelNames: ['queue'],
      registers: [registry],
      collect: async () => {
        reviewQueue.reset();
        const sizes = await this.sampleReviewQueue?.().catch(() => undefined);
        for (const [queue, size] of Object.entries(sizes ?? {})) reviewQueue.set({ queue }, size);
      },
    });
    const lagEvents: Gauge<'projection'> = new Gauge({
      name: 'ledger_read_api_projection_lag_events',
      help: 'Events between the event store head and the projection checkpoint, at scrape time.',
      labelNames: ['projection'],
      registers: [registry],
      collect: async () => {
        lagEvents.reset();
        for (const lag of (await this.sample())?.lags ?? []) {
          if (lag.lagEvents !== null) lagEvents.set({ projection: lag.projection }, Number(lag.lagEvents));
        }
      },
    });
    const lagSeconds: Gauge<'projection'> = new Gauge({
      name: 'ledger_read_api_projection_lag_seconds',
      help: 'Seconds since the projection checkpoint last advanced while events wait behind it; 0 when caught up.',
      labelNames: ['projection'],
      registers: [registry],
      collect: async () => {
        lagSeconds.reset();
        for (const lag of (await this.sample())?.lags ?? []) {
          if (lag.lagSeconds !== null) lagSeconds.set({ projection: lag.projection }, lag.lagSeconds);
        }
      },
    });
    const position: Gauge<'projection'> = new Gauge({
      name: 'ledger_read_api_projection_checkpoint_position',
      help: 'Global position of the projection checkpoint.',
      labelNames: ['projection'],
      registers: [registry],
      collect: async () => {
        position.reset();
        for (const lag of (await this.sample())?.lags ?? []) {
          if (lag.position !== null) position.set({ projection: lag.projection }, Number(lag.position));
        }
      },
    });
    const head: Gauge = new Gauge({
      name: 'ledger_read_api_event_store_head_position',
      help: 'Global position of the last event in the event store, as the read API sees it.',
      registers: [registry],
      collect: async () => {
        head.reset();
        const sample = await this.sample();
        if (sample?.head !== undefined) head.set(Number(sample.head));
      },
    });
    this.httpDuration = new Histogram({
      name: 'ledger_read_api_http_request_duration_seconds',
      help: 'Duration of read API HTTP requests, by route pattern and status.',
      labelNames: ['method', 'route', 'status_code'],
      // From a cached balance read to a minPosition wait that runs into its bound.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
  }

  /** Records one answered request (from `configureHttpApp`'s `observe`): route pattern, never the raw path. */
  readonly observe = (sample: HttpSample): void => {
    this.httpDuration.observe({ method: sample.method, route: sample.route, status_code: String(sample.statusCode) }, sample.durationSeconds);
  };

  /** The lag sample, or undefined when the database did not answer: the series are then absent. */
  private async sample(): Promise<LagSample | undefined> {
    const now = Date.now();
    if (!this.cached || now - this.cached.atMs > SAMPLE_REUSE_MS) this.cached = { atMs: now, sample: this.sampleLag() };
    try {
      return await this.cached.sample;
    } catch {
      this.cached = undefined;
      return undefined;
    }
  }
}
