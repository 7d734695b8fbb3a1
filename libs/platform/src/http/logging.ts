import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Module, RequestMethod, type DynamicModule, type NestMiddleware } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { pino, stdTimeFunctions, type DestinationStream, type LevelWithSilent } from 'pino';
import { pinoHttp, type HttpLogger } from 'pino-http';
import { ConfigError } from '../config';
import { principalName } from './api-keys';
import { ensureRequestContext, requestContextOf } from './request-context';

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
  'res.headers["set-cookie"]',
];

/** Injection token of the request-logging middleware (a pino-http instance). */
export const HTTP_LOGGER = Symbol('ledger.httpLogger');

type Next = (error?: unknown) => void;

/**
 * Logs the request unless an earlier mount already does: `configureHttpApp` mounts it first
 * in the Express stack, so requests the body parser refuses (413, malformed JSON) are logged
 * too; PlatformHttpModule mounts it again for apps that skip `configureHttpApp`.
 */
export function onceHttpLogger(httpLogger: HttpLogger): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return (req, res, next) => {
    if ((req as { log?: unknown }).log) next();
    else httpLogger(req, res, next);
  };
}

@Injectable()
export class HttpLoggerMiddleware implements NestMiddleware {
  private readonly middleware: (req: IncomingMessage, res: ServerResponse, next: Next) => void;

  constructor(@Inject(HTTP_LOGGER) httpLogger: HttpLogger) {
    this.middleware = onceHttpLogger(httpLogger);
  }

  use(req: IncomingMessage, res: ServerResponse, next: Next): void {
    this.middleware(req, res, next);
  }
}

@Module({})
class HttpLoggingModule {}

/**
 * JSON logs through nestjs-pino: one line per request carrying the request's ids and, once
 * known, its principal; credentials redacted and account numbers masked on every line.
 * Request lines are `info`, 4xx answers `warn`, 5xx `error`. The module exports nestjs-pino's
 * `Logger` and `PinoLogger`, and under HTTP_LOGGER the request-logging middleware.
 */
export function createLoggerModule(options: LoggerOptions = {}): DynamicModule {
  const level = (options.level ?? 'info') as LevelWithSilent;
  if (!LEVELS.includes(level)) throw new ConfigError(`log level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(options.level)}`);
  const pinoOptions = {
    level,
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    formatters: { log: maskAccountNumbers },
  };
  const logger = options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);

  // pino-http computes its custom properties when a request starts and again when it ends.
  // The ids are bound at the start; at the end only what was learnt since (the principal)
  // is added, so no key appears twice in a line.
  const bound = new WeakSet<IncomingMessage>();
  const httpLogger = pinoHttp({
    logger,
    genReqId: (req, res) => ensureRequestContext(req, res).requestId,
    customProps: (req, res) => {
      const context = requestContextOf(req) ?? ensureRequestContext(req, res);
      if (!bound.has(req)) {
        bound.add(req);
        return { requestId: context.requestId, correlationId: context.correlationId, traceparent: context.traceparent };
      }
      return context.principal ? { principal: principalName(context.principal) } : {};
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
  });

  // nestjs-pino only binds the request's logger for code that logs during the request; the
  // request line itself comes from the middleware above, mounted where it sees every request.
  const loggerModule = LoggerModule.forRoot({
    pinoHttp: { logger },
    useExisting: true,
    // Path-to-regexp 8 syntax for every path, including `/`; Nest 11 warns about `*`.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
  });
  return {
    module: HttpLoggingModule,
    imports: [loggerModule],
    providers: [{ provide: HTTP_LOGGER, useValue: httpLogger }],
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
