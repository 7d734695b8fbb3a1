import type { EventMetadata } from '@ledger/event-store';
import { currentRequestContext, deriveId, idempotencyOf, principalName } from '@ledger/platform';

/**
 * What a command carries besides its data: who acts, the ids that tie its events to the
 * request, and the idempotency key that fixes its entity and event ids.
 */
export interface CommandContext {
  principal: string;
  metadata: EventMetadata;
  /** Derives an id that is the same on every retry of this request's idempotency key. */
  derive(purpose: string): string;
  /** The instant the command was accepted; the domain's only clock. */
  now: string;
}

export function commandContext(request: object): CommandContext {
  const context = currentRequestContext();
  const idempotency = idempotencyOf(request);
  if (!context?.principal || !idempotency) {
    // Auth and the idempotency interceptor run before every command route; reaching here
    // without them is a wiring bug, not a client error.
    throw new Error('command route reached without an authenticated principal and an idempotency key');
  }
  const principal = principalName(context.principal);
  return {
    principal,
    now: new Date().toISOString(),
    metadata: {
      correlationId: context.correlationId,
      causationId: context.requestId,
      traceparent: context.traceparent,
      principal,
    },
    derive: (purpose) => deriveId(idempotency.scope, idempotency.key, purpose),
  };
}
