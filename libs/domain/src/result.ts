/**
 * The outcome of parsing untrusted input. Parsers return a `Result` instead of throwing,
 * because a malformed request is an expected event at the edge, not a fault.
 */
export type Result<Value, Failure> =
  | { readonly ok: true; readonly value: Value }
  | { readonly ok: false; readonly error: Failure };

/** Why a parser refused its input: a stable code for callers, a sentence for humans. */
export interface ParseFailure<Code extends string> {
  readonly code: Code;
  readonly message: string;
}

export function success<Value>(value: Value): Result<Value, never> {
  return { ok: true, value };
}

export function failure<Failure>(error: Failure): Result<never, Failure> {
  return { ok: false, error };
}
