import { v5 as uuidv5 } from 'uuid';

/**
 * The UUID v5 namespace of ids derived from idempotency keys. Fixed forever: changing it
 * would give a retry of an old request a new entity id, i.e. a second withdrawal. It is a
 * random v4 UUID chosen once for this purpose and used nowhere else.
 */
export const IDEMPOTENCY_ID_NAMESPACE = '737fa701-0597-48d8-919f-c0e277d28aaf';

/**
 * The UUID v5 namespace of event ids derived from a causation id and a step (process
 * managers). Fixed forever for the same reason; distinct from the one above so that the two
 * derivations can never produce the same id.
 */
export const EVENT_ID_NAMESPACE = '1aeb4f50-8cf4-45be-a2c8-e98d9c5fdf89';

/**
 * The id of an entity or event created by the request that carries an idempotency key:
 * UUID v5 of `${scope}\n${key}\n${purpose}`. Every retry of one key derives the same ids, so
 * a crash between the append and the storing of the response is safe: the retry appends
 * events with the same ids, which the event store treats as a repeat, and gets the same
 * withdrawalId. The purpose (`withdrawal`, `deposit`, `event:WithdrawalRequested`) keeps the
 * ids of one request apart; the scope keeps two API keys' equal keys apart.
 *
 * A key reused after it expired derives the same ids again, so it runs into the entity it
 * created the first time (a conflict) instead of creating a duplicate.
 */
export function deriveId(scope: string, key: string, purpose: string): string {
  requireParts({ scope, key, purpose });
  return uuidv5(`${scope}\n${key}\n${purpose}`, IDEMPOTENCY_ID_NAMESPACE);
}

/**
 * The id of an event a process manager appends in reaction to the event `causationId`, at
 * the named step: UUID v5 of `${causationId}\n${step}`. A reaction replayed after a crash
 * appends the same ids, so the event store writes it once.
 */
export function deriveEventId(causationId: string, step: string): string {
  requireParts({ causationId, step });
  return uuidv5(`${causationId}\n${step}`, EVENT_ID_NAMESPACE);
}

// The parts are joined with newlines; a part that is empty or holds one would let two
// different triples produce the same name, and so the same id.
function requireParts(parts: Record<string, string>): void {
  for (const [name, value] of Object.entries(parts)) {
    if (typeof value !== 'string' || value.length === 0 || value.includes('\n')) {
      throw new TypeError(`${name} must be a non-empty string without line breaks`);
    }
  }
}
