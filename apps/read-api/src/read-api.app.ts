import { Inject, Module, type DynamicModule, type INestApplication, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import {
  configureHttpApp,
  createFastifyAdapter,
  PlatformHttpModule,
  type ApiKeyRecord,
  type LoggerOptions,
  type RateLimitOptions,
} from '@ledger/platform';
import { AccountQueries } from './accounts/account.queries';
import { AccountsController } from './accounts/accounts.controller';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { ReadApiMetrics, type LagSample } from './metrics/read-api-metrics';
import { ReconciliationController } from './reconciliation/reconciliation.controller';
import { ReviewQueueController } from './review-queue/review-queue.controller';
import { ReviewQueueQueries } from './review-queue/review-queue.queries';
import { CheckpointReader, lagOf } from './shared/checkpoints';
import { mapReadError } from './shared/error-mapper';
import { ProjectionWaiter } from './shared/projection-waiter';
import { DEFAULT_READ_MODEL_PROJECTIONS, READ_API_SETTINGS, READ_POOL, type ReadApiSettings, type ReadModelProjections } from './shared/tokens';
import { WithdrawalQueries } from './withdrawals/withdrawal.queries';
import { WithdrawalsController } from './withdrawals/withdrawals.controller';

export interface ReadApiAppOptions {
  /** PostgreSQL holding the `read_models` schema. The caller owns it and ends it after `app.close()`. */
  pool: Pool;
  apiKeys: ApiKeyRecord[];
  rateLimit: RateLimitOptions;
  logLevel?: string;
  logDestination?: LoggerOptions['destination'];
  /**
   * Projections that readiness and the lag metrics watch, by their names in
   * `projection_checkpoints`. Default: the projections of `readModelProjections`.
   */
  projections?: string[];
  /** Which projection maintains each read model, for `minPosition` waits. Default: balances, journal, withdrawals, review_queue. */
  readModelProjections?: Partial<ReadModelProjections>;
  /** How long a read with `minPosition` may wait for its projection before 503 projection_behind. Default 2,000 ms. */
  minPositionTimeoutMs?: number;
  /** How often waiting reads re-check the checkpoints. Default 10 ms. */
  minPositionPollIntervalMs?: number;
  /** Readiness fails when a projection is more than this many events behind the head. Default 1,000. */
  readyMaxLagEvents?: number | bigint;
  /** The event store's head position (-1 when empty), for readiness and the lag metrics. Without it both skip lag. */
  headPosition?: () => Promise<bigint>;
  /** Where the metrics are registered; a registry of its own by default. */
  metricsRegistry?: Registry;
}

export const DEFAULT_MIN_POSITION_TIMEOUT_MS = 2_000;
export const DEFAULT_READY_MAX_LAG_EVENTS = 1_000n;

function resolveSettings(options: ReadApiAppOptions): ReadApiSettings {
  const readModelProjections = { ...DEFAULT_READ_MODEL_PROJECTIONS, ...options.readModelProjections };
  const projections = options.projections ?? [...new Set(Object.values(readModelProjections))];
  if (projections.length === 0 || projections.some((name) => typeof name !== 'string' || name.length === 0)) {
    throw new Error('projections must be a non-empty list of projection names');
  }
  const minPositionTimeoutMs = options.minPositionTimeoutMs ?? DEFAULT_MIN_POSITION_TIMEOUT_MS;
  if (!Number.isInteger(minPositionTimeoutMs) || minPositionTimeoutMs < 0 || minPositionTimeoutMs > 60_000) {
    throw new Error(`minPositionTimeoutMs must be a whole number from 0 to 60000, got ${minPositionTimeoutMs}`);
  }
  const minPositionPollIntervalMs = options.minPositionPollIntervalMs ?? 10;
  if (!Number.isInteger(minPositionPollIntervalMs) || minPositionPollIntervalMs < 1 || minPositionPollIntervalMs > 1_000) {
    throw new Error(`minPositionPollIntervalMs must be a whole number from 1 to 1000, got ${minPositionPollIntervalMs}`);
  }
  const readyMaxLagEvents = BigInt(options.readyMaxLagEvents ?? DEFAULT_READY_MAX_LAG_EVENTS);
  if (readyMaxLagEvents < 0n) throw new Error(`readyMaxLagEvents must not be negative, got ${readyMaxLagEvents}`);
  return {
    projections: [...new Set(projections)],
    readModelProjections,
    minPositionTimeoutMs,
    minPositionPollIntervalMs,
    readyMaxLagEvents,
    headPosition: options.headPosition,
  };
}

@Module({})
class ReadApiRootModule implements OnModuleDestroy {
  constructor(@Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter) {}

  static create(options: ReadApiAppOptions): DynamicModule {
    const settings = resolveSettings(options);
    const checkpoints = new CheckpointReader(options.pool);
    const sampleLag = async (): Promise<LagSample> => {
      const read = await checkpoints.read(settings.projections);
      // An event store that does not answer leaves lag unknown (absent), not the scrape failed.
      const head = settings.headPosition ? await settings.headPosition().catch(() => undefined) : undefined;
      return { head, lags: lagOf(settings.projections, read, head, Date.now()) };
    };
    return {
      module: ReadApiRootModule,
      imports: [
        PlatformHttpModule.forRoot({
          apiKeys: options.apiKeys,
          rateLimit: options.rateLimit,
          logLevel: options.logLevel,
          logDestination: options.logDestination,
          errorMappers: [mapReadError],
        }),
      ],
      controllers: [AccountsController, WithdrawalsController, ReviewQueueController, ReconciliationController, HealthController, MetricsController],
      providers: [
        { provide: READ_POOL, useValue: options.pool },
        { provide: READ_API_SETTINGS, useValue: settings },
        { provide: CheckpointReader, useValue: checkpoints },
        {
          provide: ProjectionWaiter,
          useValue: new ProjectionWaiter(checkpoints, { timeoutMs: settings.minPositionTimeoutMs, pollIntervalMs: settings.minPositionPollIntervalMs }),
        },
        { provide: AccountQueries, useValue: new AccountQueries(options.pool) },
        { provide: WithdrawalQueries, useValue: new WithdrawalQueries(options.pool) },
        { provide: ReviewQueueQueries, useValue: new ReviewQueueQueries(options.pool) },
        {
          provide: ReadApiMetrics,
          useValue: new ReadApiMetrics(options.metricsRegistry ?? new Registry(), sampleLag, async () => {
            const { rows } = await options.pool.query<{ withdrawals: string; discrepancies: string }>(
              `select (select count(*) from read_models.review_queue where resolved_at is null) as withdrawals,
                      (select count(*) from read_models.reconciliation_items where review_state = 'open') as discrepancies`,
            );
            return { withdrawals: Number(rows[0]!.withdrawals), discrepancies: Number(rows[0]!.discrepancies) };
          }),
        },
      ],
    };
  }

  onModuleDestroy(): void {
    // Reads still waiting for a projection are answered now, before the pool goes away.
    this.waiter.close();
  }
}

/**
 * The reporting read API as an HTTP application, ready for `listen`: used by the entry point
 * and the e2e tests. It runs on Fastify: reads are many and small, and Express's per-request
 * cost alone was more than the balance-read target allows (docs/benchmarks.md).
 */
export async function createReadApiApp(options: ReadApiAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create(ReadApiRootModule.create(options), createFastifyAdapter(), { bodyParser: false, bufferLogs: true });
  configureHttpApp(app, {
    observe: app.get(ReadApiMetrics).observe,
    swagger: { title: 'Ledger read API', version: '1', description: 'Balances, journal entries, withdrawals and the review queue from the read models.' },
    shutdownHooks: false,
  });
  return app;
}
