import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Module, RequestMethod, type DynamicModule, type NestMiddleware } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { pino, stdTimeFunctions, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino';
import { ConfigError } from '../config';
import { principalName } from './api-keys';
import { currentRequestContext, ensureRequestContext, type RequestContext } from './request-context';

export interface LoggerOptions {
  /** pino level: fatal, error, warn, info (default), debug, trace or silent. */
  level?: string;
  /** Where the JSON lines go; stdout by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

const LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Paths pino removes before a line is written: credentials never reach the logs. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
];

/** Injection token of the request-logging middleware. */
export const HTTP_LOGGER = Symbol('ledger.httpLogger');

type Next = (error?: unknown) => void;
export type RequestLogger = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

const LOGGED = Symbol('ledger.requestLogged');

/**
 * One line per request, written when the answer is finished (`request completed`) or the
 * client went away first (`request aborted`). Request lines are `info`, 4xx answers `warn`,
 * 5xx `error`. The level is checked before anything is built, so a service logging at
 * `warn` pays a listener per request and nothing else for its successful requests.
 *
 * It replaces pino-http, which made a child logger per request and serialized the request
 * even when the line was then dropped: a fifth of the read API's CPU at `warn`
 * (docs/benchmarks.md). The request ids reach every other line through the logger's mixin.
 *
 * Idempotent per request: `configureHttpApp` mounts it first in the Express stack, so
 * requests the body parser refuses (413, malformed JSON) are logged too, and
 * PlatformHttpModule mounts it again for apps that skip `configureHttpApp`.
 */
export function createRequestLogger(logger: Logger): RequestLogger {
  return (req, res, next) => {
    const marked = req as IncomingMessage & { [LOGGED]?: true };
    if (marked[LOGGED]) return next();
    marked[LOGGED] = true;
    const context = ensureRequestContext(req, res);
    const startedAt = performance.now();
    const write = (message: string, level: Level): void => {
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          ...contextFields(context),
          req: { method: req.method, url: req.url, headers: req.headers },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - startedAt),
        },
        message,
      );
    };
    res.once('finish', () => write('request completed', levelFor(res.statusCode)));
    res.once('close', () => {
      if (!res.writableFinished) write('request aborted', 'warn');
    });
    next();
  };
}

function levelFor(statusCode: number): Level {
  return statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/** The ids every line written while serving a request carries, and the principal once known. */
function contextFields(context: RequestContext): Record<string, string> {
  const fields: Record<string, string> = {
    requestId: context.requestId,
    correlationId: context.correlationId,
    traceparent: context.traceparent,
  };
  if (context.principal) fields.principal = principalName(context.principal);
  return fields;
}

@Injectable()
export class HttpLoggerMiddleware implements NestMiddleware {
  constructor(@Inject(HTTP_LOGGER) private readonly requestLogger: RequestLogger) {}

  use(req: IncomingMessage, res: ServerResponse, next: Next): void {
    this.requestLogger(req, res, next);
  }
}

@Module({})
class HttpLoggingModule {}

/**
 * JSON logs through nestjs-pino: one line per request (`createRequestLogger`) and, on every
 * line written while a request is served, its ids and, once known, its principal (a pino
 * mixin reading the request context, so nothing is built for lines below the level);
 * credentials redacted and account numbers masked on every line. The module exports
 * nestjs-pino's `Logger` and `PinoLogger`, and under HTTP_LOGGER the request-logging
 * middleware.
 */
export function createLoggerModule(options: LoggerOptions = {}): DynamicModule {
  const level = (options.level ?? 'info') as LevelWithSilent;
  if (!LEVELS.includes(level)) throw new ConfigError(`log level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(options.level)}`);
  const pinoOptions = {
    level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { log: maskAccountNumbers },
    mixin: () => {
      const context = currentRequestContext();
      return context ? contextFields(context) : {};
    },
  };
  const logger = options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);

  // nestjs-pino supplies Nest's logger over ours; with `useExisting` its middleware only
  // binds a per-request logger, which we do not need (the mixin adds the ids), so it is
  // mounted on no route.
  const loggerModule = LoggerModule.forRoot({
    pinoHttp: { logger },
    useExisting: true,
    exclude: [{ path: '{*path}', method: RequestMethod.ALL }],
  });
  return {
    module: HttpLoggingModule,
    imports: [loggerModule],
    providers: [{ provide: HTTP_LOGGER, useValue: createRequestLogger(logger) }],
    exports: [loggerModule, HTTP_LOGGER],
  };
}

/**
 * An account number reduced to its last four characters (`****6789`), enough for a person
 * to tell two accounts apart. Values shorter than eight characters are masked whole: with
 * few characters, the last four would give most of the number away.
 */
export function maskAccountNumber(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') return '****';
  const text = String(value);
  return text.length >= 8 ? `****${text.slice(-4)}` : '****';
}

const ACCOUNT_NUMBER_KEY = /^(.*account_?number|iban)$/i;
const MAX_DEPTH = 8;

/**
 * A copy of a log object with every account-number field masked, however deeply nested in
 * plain objects, DTO instances and arrays. Requests, responses, errors, buffers and objects
 * with their own `toJSON` are left as they are: their serializers decide what of them is
 * logged. Objects without such a field are returned unchanged, so the common case copies
 * nothing.
 */
export function maskAccountNumbers<T extends Record<string, unknown>>(object: T): T {
  return mask(object, 0) as T;
}

function mask(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, index) => {
      const masked = mask(item, depth + 1);
      if (masked !== item) (copy ??= [...value])[index] = masked;
    });
    return copy ?? value;
  }
  if (!isRecord(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const masked = ACCOUNT_NUMBER_KEY.test(key) && item !== undefined && item !== null ? maskAccountNumber(item) : mask(item, depth + 1);
    if (masked !== item) (copy ??= { ...value })[key] = masked;
  }
  return copy ?? value;
}

/** Data-like objects: plain ones and instances of our own classes, such as request DTOs. */
function isRecord(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype === Object.prototype || prototype === null) return true;
  return !(
    value instanceof EventEmitter ||
    value instanceof Error ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Promise ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  );
}
