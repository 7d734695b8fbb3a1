/** The request header that carries the key (matched case-insensitively, as all headers). */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** Set to `true` on a response that is a stored answer rather than a fresh execution. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

/** 1 to 255 visible ASCII characters: no spaces, no controls, nothing outside ASCII. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export type IdempotencyKeyReading =
  | { kind: 'valid'; key: string }
  | { kind: 'missing' }
  | { kind: 'malformed' };

/**
 * Reads the key from a Node header value. An empty value counts as missing: it names no
 * key. A repeated header is malformed: Node joins the copies with ", ", which holds a space,
 * and choosing one of them would be a guess.
 */
export function readIdempotencyKey(value: string | readonly string[] | undefined): IdempotencyKeyReading {
  if (value === undefined || value === '') return { kind: 'missing' };
  if (typeof value !== 'string') return { kind: 'malformed' };
  return IDEMPOTENCY_KEY_PATTERN.test(value) ? { kind: 'valid', key: value } : { kind: 'malformed' };
}
