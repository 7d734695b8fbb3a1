import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ApiErrorResponseBody } from './api-error';
import { DEFAULT_BODY_LIMIT_BYTES } from './body';
import { ensureRequestContext } from './request-context';

/**
 * The HTTP platforms an app may run on. Express is Nest's default; Fastify costs about a
 * third as much CPU per request here (docs/benchmarks.md: a bare Nest app answered a balance
 * lookup in 0.18 ms of CPU on Express and 0.06 ms on Fastify), which is what the read API's
 * throughput target needs. The platform's guard, filter, logger and request context work on
 * both, because they only touch Node's own request and response objects.
 */
export type HttpPlatform = 'express' | 'fastify';

export interface FastifyAdapterOptions {
  bodyLimitBytes?: number;
  /** Fastify's `trustProxy`: set it behind a load balancer so client addresses are real. */
  trustProxy?: boolean | number | string;
}

/** A Fastify adapter with the platform's body limit and proxy trust; pass it to `NestFactory.create`. */
export function createFastifyAdapter(options: FastifyAdapterOptions = {}): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    trustProxy: options.trustProxy as boolean | undefined,
    // Our request logger writes the request lines; Fastify's own would duplicate them.
    logger: false,
    // Fastify refuses path parameters over 100 characters with a bare 414; let them through
    // to validation, which answers 400 validation_failed naming the field. Node's limit on the
    // request head (16 KiB by default) bounds them long before this does.
    routerOptions: { maxParamLength: 16_384 },
    // The router's own refusals (a path that is not valid percent-encoded UTF-8, a parameter
    // past the limit above) are answered by Fastify in its format, before any hook or filter
    // runs; answer them in ours.
    frameworkErrors: (error: { code?: string }, request: { raw: IncomingMessage }, reply: { raw: ServerResponse }) =>
      answerRouterError(error.code, request.raw, reply.raw),
    return503OnClosing: true,
    // Requests Node's HTTP parser refuses never reach Fastify or Nest: answer them here, in
    // the error envelope, instead of Fastify's own body.
    clientErrorHandler: answerClientError,
  });
}

/**
 * The answer to bytes that are not an acceptable HTTP request (a request line or header past
 * Node's 16 KiB limit, garbage): `431 request_header_too_large` or `400 malformed_request`,
 * in the error envelope, then the connection is closed. There is no request to give a
 * context to, so the request id is made here.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, code, message] = tooLarge
    ? [431, 'Request Header Fields Too Large', 'request_header_too_large', 'The request line and headers exceed 16 KiB.']
    : [400, 'Bad Request', 'malformed_request', 'The request is not valid HTTP.'];
  socket.end(rawErrorResponse(status, reason, code, message));
}

/** A complete HTTP/1.1 response carrying the error envelope, for answers written to a bare socket. */
export function rawErrorResponse(status: number, reason: string, code: string, message: string): string {
  const requestId = randomUUID();
  const body = JSON.stringify({ error: { code, message, details: {} }, requestId });
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    'Cache-Control: no-store\r\n' +
    `X-Request-Id: ${requestId}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** A path the router could not take apart, as a 400 in the platform's error format. */
function answerRouterError(code: string | undefined, req: IncomingMessage, res: ServerResponse): void {
  const { requestId } = ensureRequestContext(req, res);
  const rule = code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'maxLength' : 'isUrl';
  const body: ApiErrorResponseBody = {
    error: {
      code: 'validation_failed',
      message: 'The request is invalid; see details.fields.',
      details: { fields: [{ field: 'path', rule, message: 'the path must be valid percent-encoded UTF-8, with parameters of a sane length' }] },
    },
    requestId,
  };
  const text = JSON.stringify(body);
  res.writeHead(400, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/**
 * Node's request behind whatever the platform hands to guards, filters and interceptors:
 * Express extends the IncomingMessage itself, Fastify wraps it as `request.raw`.
 */
export function rawRequest<T extends IncomingMessage = IncomingMessage>(req: unknown): T {
  const wrapped = req as { raw?: IncomingMessage };
  return (wrapped.raw && typeof wrapped.raw === 'object' && 'headers' in wrapped.raw ? wrapped.raw : req) as T;
}

/** Node's response behind the platform's reply object (see `rawRequest`). */
export function rawResponse(res: unknown): ServerResponse {
  const wrapped = res as { raw?: ServerResponse };
  return (wrapped.raw && typeof wrapped.raw === 'object' && 'setHeader' in wrapped.raw ? wrapped.raw : res) as ServerResponse;
}

/** The client address as the platform resolved it (honouring trust proxy), else the socket's. */
export function clientAddress(req: unknown): string {
  const ip = (req as { ip?: unknown }).ip;
  if (typeof ip === 'string' && ip.length > 0) return ip;
  return rawRequest(req).socket?.remoteAddress ?? 'unknown';
}

/**
 * Sets a response header through the platform's reply when there is one (Fastify writes its
 * own headers last and would override one set on the raw response), else on the response.
 */
export function setResponseHeader(res: unknown, name: string, value: string): void {
  const reply = res as { header?: (name: string, value: string) => unknown; setHeader?: (name: string, value: string) => unknown };
  if (typeof reply.header === 'function' && 'raw' in (res as object)) reply.header(name, value);
  else rawResponse(res).setHeader(name, value);
}
