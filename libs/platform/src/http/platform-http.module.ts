import { Global, Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { ApiKeyAuthenticator, type ApiKeyRecord } from './api-keys';
import { ApiKeyGuard } from './auth';
import { ApiExceptionFilter, type ErrorMapper } from './exception-filter';
import { createLoggerModule, HttpLoggerMiddleware, type LoggerOptions } from './logging';
import { TokenBucketRateLimiter, type RateLimitOptions } from './rate-limit';
import { RequestContextMiddleware } from './request-context';

export interface PlatformHttpOptions {
  /** The accepted keys, from `resolveApiKeys`. */
  apiKeys: ApiKeyRecord[];
  /** Per API key (and per client address for failed authentication). */
  rateLimit: RateLimitOptions;
  logLevel?: string;
  /** Where log lines go; stdout by default. */
  logDestination?: LoggerOptions['destination'];
  /** Tried in order for every error that is not an ApiError; the first answer wins. */
  errorMappers?: ErrorMapper[];
}

/**
 * The HTTP platform of an app: JSON logging, request context, API-key authentication with
 * scopes (deny by default), rate limiting and one error format. Global, so its guard and
 * filter cover every controller of the app. Pair it with `configureHttpApp`.
 */
@Global()
@Module({})
export class PlatformHttpModule implements NestModule {
  static forRoot(options: PlatformHttpOptions): DynamicModule {
    const authenticator = new ApiKeyAuthenticator(options.apiKeys);
    if (authenticator.size === 0) throw new Error('PlatformHttpModule needs at least one API key; see resolveApiKeys');
    const loggerModule = createLoggerModule({ level: options.logLevel, destination: options.logDestination });
    return {
      module: PlatformHttpModule,
      imports: [loggerModule],
      providers: [
        { provide: ApiKeyAuthenticator, useValue: authenticator },
        { provide: TokenBucketRateLimiter, useValue: new TokenBucketRateLimiter(options.rateLimit) },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useValue: new ApiExceptionFilter(options.errorMappers ?? []) },
      ],
      exports: [loggerModule, ApiKeyAuthenticator, TokenBucketRateLimiter],
    };
  }

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  configure(consumer: MiddlewareConsumer): void {
    // On Fastify, configureHttpApp's onRequest hook gives every request its context and log
    // line for the whole of its life; Nest middleware would only add a second pass through
    // Fastify's middleware engine. Fastify apps must therefore call configureHttpApp.
    if (this.adapterHost.httpAdapter?.getType() === 'fastify') return;
    // configureHttpApp mounts the same middleware ahead of the body parser; this covers apps
    // (and tests) that skip it, and re-enters the context for the Nest pipeline either way.
    // Both are idempotent, so a request is given one context and logged once.
    consumer.apply(RequestContextMiddleware, HttpLoggerMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
