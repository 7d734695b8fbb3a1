import { HttpException, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import type { EventStore } from '@ledger/event-store';
import {
  ApiError,
  configureHttpApp,
  currentRequestContext,
  describeHttpException,
  IdempotencyModule,
  PlatformHttpModule,
  type ApiKeyRecord,
  type LoggerOptions,
  type RateLimitOptions,
} from '@ledger/platform';
import { HealthController } from './health.controller';
import { LedgerApiModule } from './ledger-api.module';
import { mapCommandError } from './shared/error-mapper';
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
  bodyLimitBytes?: number;
  idempotencyLeaseMs?: number;
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
        LedgerApiModule.forRoot(options),
      ],
      controllers: [HealthController],
      providers: [{ provide: EVENT_STORE, useValue: options.store }],
    };
  }
}

/** The command API as an HTTP application, ready for `listen`: used by every entry point and the e2e tests. */
export async function createLedgerApiApp(options: LedgerApiAppOptions): Promise<INestApplication> {
  const app = await NestFactory.create(LedgerApiRootModule.create(options), { bodyParser: false, bufferLogs: true });
  configureHttpApp(app, {
    bodyLimitBytes: options.bodyLimitBytes,
    swagger: { title: 'Ledger command API', version: '1', description: 'Accounts, deposits and withdrawals.' },
    shutdownHooks: false,
  });
  return app;
}
