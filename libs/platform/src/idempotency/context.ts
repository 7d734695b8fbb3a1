import type { IdempotencyContext } from './options';

/**
 * The scope and key the current request runs under, for deriving ids with `deriveId`.
 * Throws when there is none: the handler lacks `@Idempotent()`, and ids derived from nothing
 * would not survive a retry.
 */
export function idempotencyOf(request: object): IdempotencyContext {
  const context = (request as { idempotency?: IdempotencyContext }).idempotency;
  if (!context) throw new Error('no idempotency key on this request: decorate the handler with @Idempotent()');
  return context;
}
