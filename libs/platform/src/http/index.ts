export { ApiError, ApiErrorBody, ApiErrorResponse, type ApiErrorResponseBody } from './api-error';
export { ApiExceptionFilter, bodyParserError, type ErrorMapper } from './exception-filter';
export { createValidationPipe, flattenValidationErrors, validationFailed, type FieldViolation } from './validation';
export {
  currentRequestContext,
  ensureRequestContext,
  generateTraceparent,
  parseTraceparent,
  requestContextOf,
  RequestContextMiddleware,
  runWithRequestContext,
  CORRELATION_ID_HEADER,
  REQUEST_ID_HEADER,
  type RequestContext,
} from './request-context';
export {
  ApiKeyAuthenticator,
  bearerToken,
  createApiKeyRecord,
  generateApiKey,
  hashApiKey,
  parseApiKeys,
  principalName,
  SCOPES,
  type ApiKeyRecord,
  type Principal,
  type Scope,
} from './api-keys';
export { devKeyNotice, resolveApiKeys, type DevApiKey, type ResolveApiKeysOptions, type ResolvedApiKeys } from './resolve-api-keys';
export { API_KEY_SECURITY, ApiKeyGuard, CurrentPrincipal, Public, RequireScopes } from './auth';
export { TokenBucketRateLimiter, type RateLimitDecision, type RateLimitOptions } from './rate-limit';
export { createLoggerModule, maskAccountNumber, maskAccountNumbers, REDACTED_PATHS, type LoggerOptions } from './logging';
export { PlatformHttpModule, type PlatformHttpOptions } from './platform-http.module';
export { configureHttpApp, DEFAULT_BODY_LIMIT_BYTES, type HttpAppOptions, type HttpSample } from './configure-http-app';
export { clientAddress, createFastifyAdapter, rawRequest, rawResponse, setResponseHeader, type FastifyAdapterOptions, type HttpPlatform } from './adapter';
export { databaseUnavailableError, isDatabaseUnavailable } from './database-errors';
