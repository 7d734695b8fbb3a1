/**
 * Idempotency keys for the command API (ARCHITECTURE.md §4): `@Idempotent()` handlers run
 * once per (API key, Idempotency-Key); retries get the stored answer, and ids derived from
 * the key make a retry after a crash write nothing twice.
 */
export { IdempotencyModule, type IdempotencyModuleAsyncOptions } from './idempotency.module';
export { Idempotent } from './idempotent.decorator';
export { IdempotencyInterceptor, isStorableStatus } from './idempotency.interceptor';
export {
  IdempotencyStore,
  DEFAULT_IDEMPOTENCY_TTL_MS,
  type BeginOutcome,
  type IdempotencyStoreOptions,
  type StoredHeaders,
} from './idempotency-store';
export { idempotencyOf } from './context';
export { deriveId, deriveEventId, IDEMPOTENCY_ID_NAMESPACE, EVENT_ID_NAMESPACE } from './derive-id';
export { requestFingerprint, canonicalJson } from './fingerprint';
export {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  readIdempotencyKey,
  type IdempotencyKeyReading,
} from './idempotency-key';
export { migrateIdempotency } from './migrate';
export { IDEMPOTENCY_MIGRATIONS, IDEMPOTENCY_SCHEMA, IDEMPOTENCY_TABLE, type IdempotencyMigration } from './schema';
export {
  ANONYMOUS_SCOPE,
  DEFAULT_IDEMPOTENCY_LEASE_MS,
  DEFAULT_IDEMPOTENCY_PURGE_INTERVAL_MS,
  DEFAULT_IDEMPOTENCY_TTL_HOURS,
  DEFAULT_REPLAY_HEADERS,
  IDEMPOTENCY_OPTIONS,
  MIN_IDEMPOTENCY_TTL_HOURS,
  defaultIdempotencyErrorFactory,
  defaultScopeOf,
  describeHttpException,
  resolveIdempotencyOptions,
  type DescribedError,
  type IdempotencyContext,
  type IdempotencyErrorFactory,
  type IdempotencyModuleOptions,
  type IdempotencyOptions,
  type IdempotencyRequest,
  type IdempotencyResponse,
  type ResolvedIdempotencyOptions,
} from './options';
