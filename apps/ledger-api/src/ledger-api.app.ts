import { HttpException, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import type { EventStore } from '@ledger/event-store';
import { paymentMetrics } from '@ledger/payments';
import {
  ApiError,
  configureHttpApp,
  currentRequestContext,
  createFastifyAdapter,
  DEFAULT_BODY_LIMIT_BYTES,
  describeHttpException,
  IdempotencyModule,
  PlatformHttpModule,
  type ApiKeyRecord,
  type LoggerOptions,
  type RateLimitOptions,
} from '@ledger/platform';
import { CALLBACK_PATH_PREFIX } from './callbacks/callback-body';
import type { CallbackChannel } from './callbacks/callback-channels';
import { HealthController } from './health.controller';
import { LedgerApiModule } from './ledger-api.module';
import { mapCommandError } from './shared/error-mapper';
import { LedgerApiMetrics } from './shared/ledger-api-metrics';
import { MetricsController } from './shared/metrics.controller';
import { EVENT_STORE } from './shared/tokens';

export interface LedgerApiAppOptions {
  store: EventStore;
  /** PostgreSQL for idempotency keys and the withdrawal index. */
  pool: Pool;
  apiKeys: ApiKeyRecord[];
  rateLimit: RateLimitOptions;
  logLevel?: string;
  logDestination?: LoggerOptions['destination'];
  withdrawalAmountLimits?: ReadonlyMap<string, bigint>;
  /** Largest request body, callbacks included; 64 KiB by default. */
  bodyLimitBytes?: number;
  idempotencyLeaseMs?: number;
  /**
   * The payment channels whose callbacks `POST /v1/callbacks/{channel}` takes, each with its
   * `verifyCallback`: `createPaymentChannels(loadPaymentChannels()).channels`, or the very
   * channels the process manager uses when both run in one process. None by default, and
   * then every callback is `404 channel_not_found`.
   */
  paymentChannels?: readonly CallbackChannel[];
  /** Verified callbacks per channel (token bucket); 500/s with bursts of 1,000 by default. */
  callbackRateLimit?: RateLimitOptions;
  /**
   * Where the metrics are registered (/metrics): the command API's own and the payment
   * metrics (`ledger_callback_verification_failures_total`). A registry of its own by default.
   */
  metricsRegistry?: Registry;
}

/**
 * What the idempotency store keeps of a failed request: the rendered error for answers
 * that a retry must see again (domain rejections, conflicts); nothing for a request that
 * never started (validation, a bad key), so the client may correct it under the same key.
 */
function describeError(error: unknown): { status: number; body: unknown } | undefined {
  const apiError = error instanceof ApiError ? error : mapCommandError(error);
  if (apiError) {
    if (apiError.code === 'validation_failed' || apiError.status >= 500) return undefined;
    return { status: apiError.status, body: { error: { code: apiError.code, message: apiError.message, details: apiError.details } } };
  }
  if (error instanceof HttpException) {
    const described = describeHttpException(error);
    const code = (described?.body as { error?: { code?: string } } | undefined)?.error?.code;
    return code === 'validation_failed' ? undefined : described;
  }
  return undefined;
}

@Module({})
class LedgerApiRootModule {
  static create(options: LedgerApiAppOptions): DynamicModule {
    const registry = options.metricsRegistry ?? new Registry();
    const metrics = new LedgerApiMetrics(registry);
    return {
      module: LedgerApiRootModule,
      imports: [
        PlatformHttpModule.forRoot({
          apiKeys: options.apiKeys,
          rateLimit: options.rateLimit,
          logLevel: options.logLevel,
          logDestination: options.logDestination,
          errorMappers: [mapCommandError],
        }),
        IdempotencyModule.forRoot({
          pool: options.pool,
          leaseMs: options.idempotencyLeaseMs,
          scopeOf: () => currentRequestContext()?.principal?.keyId,
          errorFactory: (status, code, message, details) => new ApiError(status, code, message, details),
          describeError,
        }),
        LedgerApiModule.forRoot({ ...options, metrics, paymentMetrics: paymentMetrics(registry) }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: EVENT_STORE, useValue: options.store },
        { provide: LedgerApiMetrics, useValue: metrics },
      ],
    };
  }
}

/** The command API as an HTTP application, ready for `listen`: used by every entry point and the e2e tests. */
export async function createLedgerApiApp(options: LedgerApiAppOptions): Promise<INestApplication> {
  // Fastify: about a third of Express's CPU per request (docs/benchmarks.md, ADR 0009).
  const app = await NestFactory.create(
    LedgerApiRootModule.create(options),
    createFastifyAdapter({ bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES }),
    { bodyParser: false, bufferLogs: true },
  );
  configureHttpApp(app, {
    bodyLimitBytes: options.bodyLimitBytes,
    observe: app.get(LedgerApiMetrics).observe,
    // Callback signatures are over the exact bytes received (ARCHITECTURE.md §9).
    rawBodyPrefixes: [CALLBACK_PATH_PREFIX],
    swagger: {
      title: 'Ledger command API',
      version: '1',
      description: 'Accounts, deposits, withdrawals, manual review and provider callbacks.',
    },
    shutdownHooks: false,
  });
  return app;
}
