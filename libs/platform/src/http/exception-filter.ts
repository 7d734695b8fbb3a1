import type { IncomingMessage, ServerResponse } from 'node:http';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { ApiError, type ApiErrorResponseBody } from './api-error';
import { rawRequest, rawResponse } from './adapter';
import { ensureRequestContext, routeMatched } from './request-context';

interface FastifyReplyLike {
  raw: ServerResponse;
  status(code: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload: string): unknown;
}

function isFastifyReply(reply: unknown): reply is FastifyReplyLike {
  const candidate = reply as Partial<FastifyReplyLike>;
  return typeof candidate.send === 'function' && typeof candidate.headers === 'function' && typeof candidate.raw === 'object';
}

/** Turns an application error (a domain rejection) into its HTTP form, or passes with undefined. */
export type ErrorMapper = (error: unknown) => ApiError | undefined;

/** Codes for HTTP exceptions that carry no code of their own (Nest's built-ins, a library's). */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  410: 'gone',
  411: 'length_required',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  428: 'precondition_required',
  429: 'rate_limited',
  500: 'internal_error',
  501: 'not_implemented',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

const INTERNAL_MESSAGE = 'An internal error occurred; quote the requestId to support.';
const RATE_LIMITED_MESSAGE = 'Too many requests; retry after the time in the Retry-After header.';

/**
 * The one place every failed request is answered, in one shape:
 * `{ "error": { "code", "message", "details" }, "requestId" }`.
 *
 * Order: an `ApiError` as it is; then the application's mappers (domain rejections); then
 * Nest's HTTP exceptions by status; then body-parser errors; anything else is a 500 whose
 * message says nothing about the cause (the cause is logged with its stack, never sent,
 * because an exception message can hold SQL, file paths or connection strings).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  constructor(private readonly mappers: ReadonlyArray<ErrorMapper> = []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const req = rawRequest<IncomingMessage & { originalUrl?: string }>(host.switchToHttp().getRequest());
    const reply: unknown = host.switchToHttp().getResponse();
    const res = rawResponse(reply);
    const { requestId } = ensureRequestContext(req, res);
    const error = this.toApiError(exception, req, requestId);

    if (res.headersSent) {
      // Part of a response is on the wire: another status cannot be sent. Cut the response
      // short so the client sees a failure instead of a truncated success.
      this.logger.error(`${describe(req)} failed after its response started (request ${requestId})`);
      res.destroy();
      return;
    }
    const body: ApiErrorResponseBody = {
      error: { code: error.code, message: error.message, details: error.details },
      requestId,
    };
    const headers: Record<string, string> = {
      ...error.headers,
      // Error answers are about one request; no cache may hand them to anyone else.
      'Cache-Control': 'no-store',
      'Content-Type': 'application/json; charset=utf-8',
    };
    if (isFastifyReply(reply)) {
      // Fastify must send it itself, or its hooks (the request log, metrics) never learn of it.
      reply.status(error.status).headers(headers).send(JSON.stringify(body));
      return;
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.statusCode = error.status;
    res.end(JSON.stringify(body));
  }

  private toApiError(exception: unknown, req: IncomingMessage & { originalUrl?: string }, requestId: string): ApiError {
    if (exception instanceof ApiError) return this.logged(exception, exception, req, requestId);
    for (const map of this.mappers) {
      let mapped: ApiError | undefined;
      try {
        mapped = map(exception);
      } catch (mapperError) {
        return this.internal(mapperError, req, requestId);
      }
      if (mapped) return this.logged(mapped, exception, req, requestId);
    }
    if (exception instanceof HttpException) return this.fromHttpException(exception, req, requestId);
    const fromParser = bodyParserError(exception);
    if (fromParser) return fromParser;
    return this.internal(exception, req, requestId);
  }

  private fromHttpException(exception: HttpException, req: IncomingMessage & { originalUrl?: string }, requestId: string): ApiError {
    const status = exception.getStatus();
    if (!Number.isInteger(status) || status < 400 || status > 599 || status === 500) return this.internal(exception, req, requestId);
    const response = exception.getResponse();
    const own = ownEnvelope(response, status);
    if (own) return this.logged(own, exception, req, requestId);
    // Our own message names the path without its query string, which may hold secrets.
    if (status === 404 && !routeMatched(req)) {
      return new ApiError(404, 'route_not_found', `No route for ${describe(req)}.`);
    }
    if (status === 429) return new ApiError(429, 'rate_limited', RATE_LIMITED_MESSAGE);
    const code = CODE_BY_STATUS[status] ?? `http_${status}`;
    return this.logged(new ApiError(status, code, messageOf(response) ?? exception.message), exception, req, requestId);
  }

  private internal(exception: unknown, req: IncomingMessage & { originalUrl?: string }, requestId: string): ApiError {
    const stack = exception instanceof Error ? (exception.stack ?? `${exception.name}: ${exception.message}`) : String(exception);
    // Message plus stack is the contract Nest's loggers (and nestjs-pino's) print as an error.
    this.logger.error(`unhandled exception in ${describe(req)} (request ${requestId})`, stack);
    return new ApiError(500, 'internal_error', INTERNAL_MESSAGE);
  }

  /** Server-side failures the application chose to answer (a 503) are still worth a line. */
  private logged(error: ApiError, cause: unknown, req: IncomingMessage & { originalUrl?: string }, requestId: string): ApiError {
    if (error.status >= 500) {
      const reason = cause instanceof Error && cause !== error ? `: ${cause.message}` : '';
      this.logger.error(`${describe(req)} answered ${error.status} ${error.code} (request ${requestId})${reason}`);
    }
    return error;
  }
}

/**
 * Maps the errors of Express's body parser (http-errors with a `type`) to ours. Messages are
 * our own: a JSON syntax error's message quotes the body, which is the client's data.
 */
export function bodyParserError(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const fastify = fastifyBodyError(error as { code?: unknown; statusCode?: unknown });
  if (fastify) return fastify;
  const { type, status, limit } = error as { type?: unknown; status?: unknown; limit?: unknown };
  if (typeof type !== 'string' || typeof status !== 'number') return undefined;
  switch (type) {
    case 'entity.parse.failed':
      return new ApiError(400, 'malformed_json', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', `The request body exceeds the limit of ${String(limit)} bytes.`, {
        limitBytes: typeof limit === 'number' ? limit : undefined,
      });
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'The request body must be JSON encoded as UTF-8.');
    case 'encoding.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'The request body must not use this Content-Encoding.');
    case 'request.aborted':
      return new ApiError(400, 'request_aborted', 'The client aborted the request before its body arrived.');
    case 'request.size.invalid':
      return new ApiError(400, 'bad_request', 'The request body does not match its Content-Length.');
    default:
      return status >= 400 && status < 500 ? new ApiError(status, CODE_BY_STATUS[status] ?? `http_${status}`, 'The request body was rejected.') : undefined;
  }
}

/** Fastify's own errors about a request body (limit, media type, empty JSON), in our terms. */
function fastifyBodyError({ code, statusCode }: { code?: unknown; statusCode?: unknown }): ApiError | undefined {
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') return undefined;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'payload_too_large', 'The request body exceeds the size limit.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return statusCode === 415
        ? new ApiError(415, 'unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).')
        : new ApiError(400, 'bad_request', 'The request body does not match its Content-Length.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'malformed_json', 'The request body is not valid JSON.');
    default:
      return statusCode >= 400 && statusCode < 500
        ? new ApiError(statusCode, CODE_BY_STATUS[statusCode] ?? `http_${statusCode}`, 'The request was rejected.')
        : undefined;
  }
}

/** An HttpException whose response is already our envelope (`{ error: { code, message } }`). */
function ownEnvelope(response: unknown, status: number): ApiError | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const error = (response as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const safeDetails = typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : {};
  return new ApiError(status, code, message, safeDetails);
}

function messageOf(response: unknown): string | undefined {
  if (typeof response === 'string') return response;
  if (typeof response !== 'object' || response === null) return undefined;
  const { message } = response as { message?: unknown };
  if (typeof message === 'string') return message;
  if (Array.isArray(message) && message.every((m) => typeof m === 'string')) return message.join('; ');
  return undefined;
}

function describe(req: IncomingMessage & { originalUrl?: string }): string {
  const url = req.originalUrl ?? req.url ?? '/';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  // Bounded, so a megabyte of path cannot become a megabyte of log line or error body.
  return `${req.method ?? 'GET'} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`;
}
