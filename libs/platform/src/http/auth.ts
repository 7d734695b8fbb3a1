import {
  applyDecorators,
  createParamDecorator,
  Inject,
  Injectable,
  Logger,
  SetMetadata,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { ApiBearerAuth, ApiResponse, DECORATORS } from '@nestjs/swagger';
import { ApiError, ApiErrorResponse } from './api-error';
import { ApiKeyAuthenticator, SCOPES, type Principal, type Scope } from './api-keys';
import { TokenBucketRateLimiter } from './rate-limit';
import { clientAddress, rawRequest, rawResponse } from './adapter';
import { ensureRequestContext, markRouteMatched } from './request-context';

const PUBLIC = 'ledger:public';
const REQUIRED_SCOPES = 'ledger:requiredScopes';
/** The name of the bearer security scheme in the OpenAPI document. */
export const API_KEY_SECURITY = 'api-key';

/**
 * Opens a route (or a controller) to callers without an API key: health checks, for one.
 * Public routes are not rate limited, so load balancers' probes are never refused.
 */
export const Public = (): ClassDecorator & MethodDecorator => SetMetadata(PUBLIC, true);

/**
 * Requires every listed scope. On a controller and on its methods the requirements add up,
 * so a method-level decorator can narrow access but never widen it. A route that is neither
 * `@Public()` nor under `@RequireScopes` is refused: forgetting the decorator closes a route.
 */
export function RequireScopes(...scopes: Scope[]): ClassDecorator & MethodDecorator {
  if (scopes.length === 0) throw new Error('@RequireScopes() needs at least one scope; use @Public() for open routes');
  for (const scope of scopes) {
    if (!SCOPES.includes(scope)) throw new Error(`@RequireScopes: unknown scope ${JSON.stringify(scope)}`);
  }
  const documented = applyDecorators(
    ApiBearerAuth(API_KEY_SECURITY),
    ApiResponse({ status: 401, description: 'Missing, malformed or unknown API key (`unauthenticated`).', type: ApiErrorResponse }),
    ApiResponse({ status: 403, description: 'The API key lacks a required scope (`insufficient_scope`).', type: ApiErrorResponse }),
    ApiResponse({ status: 429, description: 'Rate limit of the API key reached (`rate_limited`); see Retry-After.', type: ApiErrorResponse }),
  );
  const decorator = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): unknown => {
    if (descriptor) {
      SetMetadata(REQUIRED_SCOPES, scopes)(target, key!, descriptor);
      documented(target, key!, descriptor);
      documentScopes(descriptor.value as object, scopes);
      return descriptor;
    }
    SetMetadata(REQUIRED_SCOPES, scopes)(target as never);
    documented(target as never);
    // Method decorators ran first; give each route the union the guard will enforce.
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name)?.value as object | undefined;
      if (typeof method !== 'function' || !Reflect.hasMetadata(METHOD_METADATA, method)) continue;
      const own = Reflect.getMetadata(REQUIRED_SCOPES, method) as Scope[] | undefined;
      // A public method in a protected controller stays public (see ApiKeyGuard.isPublic).
      if (!own && Reflect.getMetadata(PUBLIC, method) === true) continue;
      documentScopes(method, [...scopes, ...(own ?? [])]);
    }
    return target;
  };
  return decorator as ClassDecorator & MethodDecorator;
}

/** The OpenAPI extension `x-required-scopes` of an operation. */
function documentScopes(method: object, scopes: readonly Scope[]): void {
  const extensions = (Reflect.getMetadata(DECORATORS.API_EXTENSION, method) as Record<string, unknown> | undefined) ?? {};
  Reflect.defineMetadata(DECORATORS.API_EXTENSION, { ...extensions, 'x-required-scopes': [...new Set(scopes)] }, method);
}

/** The verified caller, as a handler parameter: `create(@CurrentPrincipal() principal: Principal)`. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const req = rawRequest(context.switchToHttp().getRequest());
  const res = rawResponse(context.switchToHttp().getResponse());
  const principal = ensureRequestContext(req, res).principal;
  // Reaching a handler without one means the handler is public: a programming error.
  if (!principal) throw new Error('@CurrentPrincipal() used on a route without an authenticated principal');
  return principal;
});

/**
 * The global guard: authenticates the API key, charges the caller's rate limit and checks
 * scopes, in that order. Every authentication failure gets the same 401, so a caller cannot
 * tell a forged key from a malformed one. Failed attempts are rate limited per client
 * address, which slows down key guessing without touching callers that hold a valid key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(ApiKeyGuard.name);
  private readonly warnedUndeclared = new Set<string>();

  // Explicit tokens: injection must not depend on the compiler emitting decorator metadata.
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(ApiKeyAuthenticator) private readonly authenticator: ApiKeyAuthenticator,
    @Inject(TokenBucketRateLimiter) private readonly limiter: TokenBucketRateLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    // This guard protects HTTP. Any other transport added later must bring its own
    // authentication; until it does, it is closed rather than open.
    if (context.getType() !== 'http') return false;
    const platformRequest: unknown = context.switchToHttp().getRequest();
    const req = rawRequest(platformRequest);
    markRouteMatched(req);
    if (this.isPublic(context)) return true;

    const res = rawResponse(context.switchToHttp().getResponse());
    const requestContext = ensureRequestContext(req, res);

    const principal = this.authenticator.authenticate(req.headers.authorization);
    if (!principal) {
      this.charge(`address:${clientAddress(platformRequest)}`);
      throw new ApiError(401, 'unauthenticated', 'A valid API key is required: send "Authorization: Bearer <key>".', {}, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    requestContext.principal = principal;
    this.charge(`key:${principal.keyId}`);

    const targets = [context.getHandler(), context.getClass()];
    const required = [...new Set(this.reflector.getAllAndMerge<Scope[]>(REQUIRED_SCOPES, targets) ?? [])];
    if (required.length === 0) {
      this.warnUndeclared(context);
      throw new ApiError(403, 'forbidden', 'This route is not open to API keys.');
    }
    const missing = required.filter((scope) => !principal.scopes.includes(scope));
    if (missing.length > 0) {
      throw new ApiError(403, 'insufficient_scope', `This API key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`, { required }, {
        'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${required.join(' ')}"`,
      });
    }
    return true;
  }

  /**
   * The method's declaration beats the controller's, and at one level scopes beat `@Public()`,
   * so an open controller can hold a protected route and a contradiction closes the route.
   */
  private isPublic(context: ExecutionContext): boolean {
    for (const target of [context.getHandler(), context.getClass()]) {
      if (this.reflector.get<Scope[] | undefined>(REQUIRED_SCOPES, target)) return false;
      if (this.reflector.get<boolean | undefined>(PUBLIC, target)) return true;
    }
    return false;
  }

  private charge(caller: string): void {
    const decision = this.limiter.take(caller);
    if (!decision.allowed) {
      throw new ApiError(429, 'rate_limited', 'Too many requests; retry after the time in the Retry-After header.', {
        retryAfterSeconds: decision.retryAfterSeconds,
      }, { 'Retry-After': String(decision.retryAfterSeconds) });
    }
  }

  /** Once per route, so the developer who forgot the decorator finds the route by name. */
  private warnUndeclared(context: ExecutionContext): void {
    const route = `${context.getClass().name}.${context.getHandler().name}`;
    if (this.warnedUndeclared.has(route)) return;
    this.warnedUndeclared.add(route);
    this.logger.warn(`${route} has neither @RequireScopes nor @Public, so it refuses every caller`);
  }
}
