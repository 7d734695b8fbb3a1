import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, type NestMiddleware } from '@nestjs/common';
import { SpanStatusCode } from '@opentelemetry/api';
import { SpanKind, startSpan, traceparentOf } from '../tracing';
import type { Principal } from './api-keys';

/**
 * What every piece of code serving one request may want to know about it without having the
 * request in hand: ids for logs and event metadata, and who is calling.
 */
export interface RequestContext {
  /** A fresh UUID per request, never taken from the caller, so it identifies exactly one request. */
  readonly requestId: string;
  /** The caller's `X-Correlation-Id` when it is a sane token, else the request id. */
  readonly correlationId: string;
  /** A W3C traceparent (version 00): the caller's when valid, else a new trace. */
  readonly traceparent: string;
  /** Set by the auth guard once the API key is verified; absent on public routes. */
  principal?: Principal;
}

export const REQUEST_ID_HEADER = 'X-Request-Id';
export const CORRELATION_ID_HEADER = 'X-Correlation-Id';

const storage = new AsyncLocalStorage<RequestContext>();
// The context also rides on the request object, because some middleware (the body parser
// reads the socket in callbacks of its own) runs code outside the async context it was
// called in; whoever holds the request can always get the context back.
const CONTEXT = Symbol('ledger.requestContext');
const ROUTE_MATCHED = Symbol('ledger.routeMatched');

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext; [ROUTE_MATCHED]?: true };

/** The context of the request being served, or undefined outside a request. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Runs `fn` with `context` as the current one: for tests and non-HTTP entry points. */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context attached to this request, if the middleware has seen it. */
export function requestContextOf(req: IncomingMessage): RequestContext | undefined {
  return (req as WithContext)[CONTEXT];
}

/**
 * Marks the request as having reached a Nest route. The auth guard runs for every route
 * and for nothing else, so a 404 on an unmarked request means no route matched, while a 404
 * on a marked one is the application's own (`withdrawal not found`).
 */
export function markRouteMatched(req: IncomingMessage): void {
  (req as WithContext)[ROUTE_MATCHED] = true;
}

export function routeMatched(req: IncomingMessage): boolean {
  return (req as WithContext)[ROUTE_MATCHED] === true;
}

/**
 * The request's context, created on first call and the same object afterwards, so the
 * middleware, the logger and the exception filter agree on one request id whichever of
 * them runs first.
 */
export function ensureRequestContext(req: IncomingMessage, res: ServerResponse): RequestContext {
  const existing = requestContextOf(req);
  if (existing) return existing;
  const requestId = randomUUID();
  const incoming = parseTraceparent(req.headers.traceparent) ?? generateTraceparent();
  // The request's server span: with tracing on, the traceparent the request passes on (to
  // logs and to every event it appends) names this span, so the work it causes elsewhere,
  // later, joins the caller's trace under it. With tracing off the span records nothing
  // and the traceparent stays the incoming (or generated) one.
  const span = startSpan(`HTTP ${req.method ?? 'GET'}`, incoming, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': pathOf(req.url), 'ledger.request_id': requestId },
  });
  if (span.isRecording()) {
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  }
  const context: RequestContext = {
    requestId,
    correlationId: saneCorrelationId(req.headers['x-correlation-id']) ?? requestId,
    traceparent: traceparentOf(span, incoming)!,
  };
  (req as WithContext)[CONTEXT] = context;
  if (!res.headersSent) {
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.setHeader(CORRELATION_ID_HEADER, context.correlationId);
  }
  return context;
}

/**
 * Express-style middleware: gives the request its context and runs the rest of the chain
 * inside it. It is idempotent, so it can be mounted both first in the Express stack (to
 * cover body-parser errors) and again after the body parser (to re-enter the context the
 * parser's stream callbacks lost).
 */
export function requestContextMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
  storage.run(ensureRequestContext(req, res), next);
}

/** The same middleware as a Nest provider, applied to every route by PlatformHttpModule. */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  use(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    requestContextMiddleware(req, res, next);
  }
}

// Letters, digits and a few separators common in ids (UUIDs, ULIDs, base64): nothing that
// could split a log line or a header, and short enough to index.
const CORRELATION_ID = /^[A-Za-z0-9._~:+/=@-]{1,128}$/;

function saneCorrelationId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && CORRELATION_ID.test(value) ? value : undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_PARENT_ID = '0'.repeat(16);

/**
 * Parses a W3C traceparent header (https://www.w3.org/TR/trace-context/#traceparent-header)
 * and returns it in version-00 form, or undefined when it is invalid. Per the spec: hex is
 * lowercase only, version ff is invalid, all-zero trace and parent ids are invalid, version
 * 00 has exactly four fields, and a later version is read as 00 (its extra fields dropped).
 */
export function parseTraceparent(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID) return undefined;
  return `00-${traceId}-${parentId}-${flags}`;
}

/** A new trace: random trace id and parent id, sampled, since our events record it. */
export function generateTraceparent(): string {
  let traceId: string;
  let parentId: string;
  // All-zero ids are invalid; drawing one is a 2^-64 event, but the loop costs nothing.
  do traceId = randomHex(16);
  while (traceId === ZERO_TRACE_ID);
  do parentId = randomHex(8);
  while (parentId === ZERO_PARENT_ID);
  return `00-${traceId}-${parentId}-01`;
}

// A request needs 24 random bytes for a new trace; asking the CSPRNG for them one call at a
// time cost ~4 % of a read request's CPU. Draw 4 KiB at once and hand out slices (Node's
// randomUUID caches entropy the same way).
const POOL_BYTES = 4_096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** The path of a request URL, without its query string (which may hold ids worth keeping out of traces). */
function pathOf(url: string | undefined): string {
  const path = url ?? '/';
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}
