import { HttpException } from '@nestjs/common';
import type { Pool } from 'pg';

/** Which key a handler runs under; read it with `idempotencyOf(request)` to derive ids. */
export interface IdempotencyContext {
  /** The API key id the key belongs to. */
  readonly scope: string;
  /** The client's Idempotency-Key. */
  readonly key: string;
}

/**
 * The parts of an HTTP request the interceptor reads. Structural, so that the library needs
 * neither Express's types nor the http module's request context.
 */
export interface IdempotencyRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  principal?: unknown;
  user?: unknown;
  idempotency?: IdempotencyContext;
}

/** The parts of an HTTP response the interceptor reads and writes (Express's shape). */
export interface IdempotencyResponse {
  statusCode: number;
  status(code: number): unknown;
  setHeader(name: string, value: string): unknown;
  getHeader(name: string): string | number | string[] | undefined;
}

/** Builds the error thrown for a refused request; the shape of ApiError's constructor. */
export type IdempotencyErrorFactory = (
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
) => Error;

/** A handler's exception as the client sees it: the status and the body the filter renders. */
export interface DescribedError {
  status: number;
  body: unknown;
}

export interface IdempotencyOptions {
  /** How long a key is remembered. Default 192 (8 days); at least 168 (7 days, §4). */
  ttlHours?: number;
  /** How long an attempt holds its key before a retry may take it over. Default 30 s. */
  leaseMs?: number;
  /**
   * The API key id of the request's principal. Default: `request.principal.keyId`, else
   * `request.user.keyId`. Wire it to the request context of the http module.
   */
  scopeOf?: (request: IdempotencyRequest) => string | undefined;
  /**
   * Lets requests without a principal share the scope `anonymous`. Off by default: keys of
   * unauthenticated clients would collide, so such a request is refused with 401.
   */
  allowAnonymous?: boolean;
  /** Builds the errors the interceptor throws. Default: an HttpException with our error body. */
  errorFactory?: IdempotencyErrorFactory;
  /**
   * Says which status and body the exception filter gives a handler's exception, for the
   * outcomes worth storing (4xx). Default: HttpExceptions only (`getStatus()`,
   * `getResponse()`). Anything it does not describe is treated as unexpected: the key is
   * abandoned and the client may retry.
   */
  describeError?: (error: unknown) => DescribedError | undefined;
  /** Response headers stored and replayed with a response. Default: Location, Content-Location. */
  replayHeaders?: readonly string[];
  /** How often expired keys are purged. Default hourly. */
  purgeIntervalMs?: number;
}

export interface IdempotencyModuleOptions extends IdempotencyOptions {
  /** A pool to share, or a connection string for a pool of the module's own (closed on shutdown). */
  pool: Pool | string;
}

export interface ResolvedIdempotencyOptions {
  ttlMs: number;
  leaseMs: number;
  scopeOf: (request: IdempotencyRequest) => string | undefined;
  allowAnonymous: boolean;
  errorFactory: IdempotencyErrorFactory;
  describeError: (error: unknown) => DescribedError | undefined;
  replayHeaders: readonly string[];
  purgeIntervalMs: number;
}

/** The scope of requests without a principal, when `allowAnonymous` is set. */
export const ANONYMOUS_SCOPE = 'anonymous';

/** Metadata key set by `@Idempotent()`. */
export const IDEMPOTENT_METADATA = 'ledger:idempotent';

export const IDEMPOTENCY_OPTIONS = Symbol('IDEMPOTENCY_OPTIONS');

const HOUR_MS = 3_600_000;
/** §4: keys are kept at least 7 days, because callbacks and client retries run for 3. */
export const MIN_IDEMPOTENCY_TTL_HOURS = 168;
export const DEFAULT_IDEMPOTENCY_TTL_HOURS = 192;
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 30_000;
export const DEFAULT_IDEMPOTENCY_PURGE_INTERVAL_MS = HOUR_MS;
export const DEFAULT_REPLAY_HEADERS: readonly string[] = ['location', 'content-location'];

/** Errors carry the body every filter renders as is: `{ error: { code, message, details } }`. */
export const defaultIdempotencyErrorFactory: IdempotencyErrorFactory = (status, code, message, details) =>
  new HttpException({ error: { code, message, details: details ?? {} } }, status);

export function describeHttpException(error: unknown): DescribedError | undefined {
  return error instanceof HttpException ? { status: error.getStatus(), body: error.getResponse() } : undefined;
}

/** The API key id from `request.principal.keyId`, else `request.user.keyId`. */
export function defaultScopeOf(request: IdempotencyRequest): string | undefined {
  return keyIdOf(request.principal) ?? keyIdOf(request.user);
}

function keyIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const keyId = (value as { keyId?: unknown }).keyId;
  return typeof keyId === 'string' && keyId.length > 0 ? keyId : undefined;
}

export function resolveIdempotencyOptions(options: IdempotencyOptions = {}): ResolvedIdempotencyOptions {
  const ttlHours = options.ttlHours ?? DEFAULT_IDEMPOTENCY_TTL_HOURS;
  // The 7-day floor is a promise of the API (ARCHITECTURE.md §4), so a configuration that
  // would break it fails at start rather than forgetting keys clients still retry.
  if (!Number.isFinite(ttlHours) || ttlHours < MIN_IDEMPOTENCY_TTL_HOURS) {
    throw new RangeError(`idempotency ttlHours must be at least ${MIN_IDEMPOTENCY_TTL_HOURS} (7 days), got ${ttlHours}`);
  }
  const leaseMs = options.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError(`idempotency leaseMs must be a positive integer`);
  const purgeIntervalMs = options.purgeIntervalMs ?? DEFAULT_IDEMPOTENCY_PURGE_INTERVAL_MS;
  if (!Number.isSafeInteger(purgeIntervalMs) || purgeIntervalMs <= 0) {
    throw new RangeError('idempotency purgeIntervalMs must be a positive integer');
  }
  return {
    ttlMs: Math.round(ttlHours * HOUR_MS),
    leaseMs,
    scopeOf: options.scopeOf ?? defaultScopeOf,
    allowAnonymous: options.allowAnonymous ?? false,
    errorFactory: options.errorFactory ?? defaultIdempotencyErrorFactory,
    describeError: options.describeError ?? describeHttpException,
    replayHeaders: (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS).map((name) => name.toLowerCase()),
    purgeIntervalMs,
  };
}
