import {
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { requestFingerprint } from './fingerprint';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, readIdempotencyKey } from './idempotency-key';
import { IdempotencyStore, type StoredHeaders } from './idempotency-store';
import {
  ANONYMOUS_SCOPE,
  IDEMPOTENCY_OPTIONS,
  IDEMPOTENT_METADATA,
  type IdempotencyRequest,
  type IdempotencyResponse,
  type ResolvedIdempotencyOptions,
} from './options';

/**
 * Whether an outcome is the request's answer, to be replayed to every retry, or a failure
 * the client should retry for real. 2xx and 4xx are answers; 5xx, 408 (timeout) and 429
 * (rate limited) say "try again", so storing them would make the retry pointless.
 */
export function isStorableStatus(status: number): boolean {
  return status >= 200 && status < 500 && status !== HttpStatus.REQUEST_TIMEOUT && status !== HttpStatus.TOO_MANY_REQUESTS;
}

/**
 * Applies the idempotency-key rules (ARCHITECTURE.md §4) to handlers marked `@Idempotent()`.
 * Guards run before interceptors, so authentication has set the principal by now; pipes run
 * inside `next.handle()`, so a validation failure is a stored 400 like any other 4xx.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Idempotency');
  private readonly reportedUnauthenticated = new WeakSet<object>();

  constructor(
    private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: ResolvedIdempotencyOptions,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const marked = this.reflector.getAllAndOverride<boolean | undefined>(IDEMPOTENT_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (context.getType() !== 'http' || !marked) return next.handle();
    // The whole exchange runs as one promise, not as operators on the response stream: if
    // the client hangs up, Nest unsubscribes, but the handler still finishes and its answer
    // must still be stored for the client's retry.
    return from(this.handle(context, next));
  }

  private async handle(context: ExecutionContext, next: CallHandler): Promise<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<IdempotencyRequest>();
    const response = asIdempotencyResponse(http.getResponse());
    // Who asks comes before what they ask: an unauthenticated request gets 401, not a 400
    // about a header it may fix only to be refused again.
    const scope = this.scopeOf(request, context);
    const key = this.keyOf(request);
    const fingerprint = requestFingerprint(request.method, pathOf(request), request.body);

    const outcome = await this.store.begin(scope, key, fingerprint, this.options.leaseMs);
    switch (outcome.kind) {
      case 'replay':
        return this.replay(response, outcome.status, outcome.body, outcome.headers);
      case 'in_use':
        // A hint only: the first attempt usually answers within the second.
        response.setHeader('Retry-After', '1');
        throw this.options.errorFactory(
          HttpStatus.CONFLICT,
          'idempotency_key_in_use',
          'A request with this Idempotency-Key is still being processed; retry later.',
        );
      case 'reused':
        throw this.options.errorFactory(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'idempotency_key_reused',
          'This Idempotency-Key was already used for a different request.',
        );
      case 'started':
        return this.run(request, response, next, scope, key, outcome.lease);
      default: {
        const unknown: never = outcome;
        throw new Error(`unknown idempotency outcome ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async run(
    request: IdempotencyRequest,
    response: IdempotencyResponse,
    next: CallHandler,
    scope: string,
    key: string,
    lease: string,
  ): Promise<unknown> {
    request.idempotency = { scope, key };
    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const described = this.options.describeError(error);
      if (described && isStorableStatus(described.status)) {
        await this.complete(scope, key, described.status, described.body, this.headersOf(response), lease);
      } else {
        await this.abandon(scope, key, lease);
      }
      throw error;
    }
    // Nest sets the route's status before interceptors run, so this is the status it sends
    // (a handler with a passthrough response may have changed it).
    const status = response.statusCode;
    if (isStorableStatus(status)) {
      await this.complete(scope, key, status, body, this.headersOf(response), lease);
    } else {
      await this.abandon(scope, key, lease);
    }
    return body;
  }

  /**
   * Sends a stored answer. A stored error is thrown again as an HttpException with the same
   * status and body, so the exception filter renders it exactly as it rendered the original.
   */
  private replay(response: IdempotencyResponse, status: number, body: unknown, headers: StoredHeaders): unknown {
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
    if (status >= 400) throw new HttpException((body ?? {}) as string | Record<string, unknown>, status);
    response.status(status);
    return body;
  }

  // A failure to store leaves the key in flight until its lease runs out, after which a retry
  // takes it over and runs again with the same derived ids. That is safe, so the handler's
  // answer is still sent rather than turned into an error after the work was done.
  private async complete(
    scope: string,
    key: string,
    status: number,
    body: unknown,
    headers: StoredHeaders,
    lease: string,
  ): Promise<void> {
    try {
      const completed = await this.store.complete(scope, key, status, body, headers, lease);
      if (!completed) this.logger.warn(`idempotency lease lost before completion (scope ${scope}): a retry took over`);
    } catch (error) {
      this.logger.error(`could not store the response of an idempotent request: ${describe(error)}`);
    }
  }

  // The client gets the original error either way; a failed abandon only means its retry
  // waits for the lease to run out.
  private async abandon(scope: string, key: string, lease: string): Promise<void> {
    try {
      await this.store.abandon(scope, key, lease);
    } catch (error) {
      this.logger.error(`could not release an idempotency key after a failure: ${describe(error)}`);
    }
  }

  private keyOf(request: IdempotencyRequest): string {
    const reading = readIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]);
    switch (reading.kind) {
      case 'valid':
        return reading.key;
      case 'missing':
        throw this.options.errorFactory(
          HttpStatus.BAD_REQUEST,
          'idempotency_key_missing',
          `This request requires an ${IDEMPOTENCY_KEY_HEADER} header.`,
          { header: IDEMPOTENCY_KEY_HEADER },
        );
      case 'malformed':
        throw this.options.errorFactory(
          HttpStatus.BAD_REQUEST,
          'idempotency_key_malformed',
          `The ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 visible ASCII characters.`,
          { header: IDEMPOTENCY_KEY_HEADER },
        );
    }
  }

  private scopeOf(request: IdempotencyRequest, context: ExecutionContext): string {
    const scope = this.options.scopeOf(request);
    if (scope !== undefined && scope.length > 0) return scope;
    if (this.options.allowAnonymous) return ANONYMOUS_SCOPE;
    // Authentication should have refused this request before it got here, so the route is
    // missing its auth: say so to the operators once. The client is not at fault for our bug,
    // but neither may it run unscoped, so it gets the answer auth would have given.
    const handler = context.getHandler();
    if (!this.reportedUnauthenticated.has(handler)) {
      this.reportedUnauthenticated.add(handler);
      this.logger.error(
        `@Idempotent() route ${context.getClass().name}.${handler.name} ran without an authenticated principal: ` +
          'authentication must run before the idempotency interceptor (or set allowAnonymous)',
      );
    }
    throw this.options.errorFactory(
      HttpStatus.UNAUTHORIZED,
      'unauthenticated',
      'This request requires a valid API key.',
    );
  }

  private headersOf(response: IdempotencyResponse): StoredHeaders {
    const headers: Record<string, string> = {};
    for (const name of this.options.replayHeaders) {
      const value = response.getHeader(name);
      if (value === undefined) continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    return headers;
  }
}

/**
 * The response in the shape the interceptor uses: Express's as it is; Fastify's reply, whose
 * header setter is `header`, through a thin view (setting headers on Fastify's raw response
 * would be overwritten when the reply is sent).
 */
function asIdempotencyResponse(response: unknown): IdempotencyResponse {
  const reply = response as {
    raw?: unknown;
    header?: (name: string, value: string) => unknown;
    getHeader(name: string): string | number | string[] | undefined;
    status(code: number): unknown;
    statusCode: number;
  };
  if (typeof reply.header !== 'function' || reply.raw === undefined) return response as IdempotencyResponse;
  return {
    get statusCode() {
      return reply.statusCode;
    },
    status: (code) => reply.status(code),
    setHeader: (name, value) => reply.header!(name, value),
    getHeader: (name) => reply.getHeader(name),
  };
}

/** The concrete path of the request, without the query string. */
function pathOf(request: IdempotencyRequest): string {
  const url = request.originalUrl ?? request.url;
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
