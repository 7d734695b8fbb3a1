/**
 * Every rule a decider enforces has a stable snake_case code named after the rule
 * (ADR 0004). The list is data so the HTTP layer can map each code to a status and a test
 * can prove the mapping is total.
 */
export const REJECTION_CODES = [
  // Account lifecycle.
  'account_already_open',
  'account_not_open',
  'account_frozen',
  'account_already_frozen',
  'account_not_frozen',
  // Money.
  'unsupported_currency',
  'currency_mismatch',
  'amount_must_be_positive',
  'amount_exceeds_max',
  'amount_exceeds_limit',
  'balance_exceeds_max',
  'insufficient_funds',
  'deposit_already_applied',
  // Holds on the account stream.
  'withdrawal_already_requested',
  'hold_not_found',
  'hold_already_resolved',
  'debit_not_settled',
  'debit_already_returned',
  // The withdrawal state machine.
  'illegal_transition',
  'withdrawal_not_cancellable',
  'withdrawal_not_in_review',
  'withdrawal_facts_mismatch',
  'review_decision_not_allowed',
  'provider_reference_mismatch',
  'attempt_not_initiated',
  'payout_attempts_exhausted',
  // Shape of command data the HTTP layer should already have refused.
  'malformed_id',
  'malformed_channel',
  'malformed_date',
  'malformed_metadata',
  'field_required',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** Details are JSON-safe: amounts travel as digit strings, never as `bigint` or `number`. */
export type RejectionDetails = Readonly<Record<string, string | number | boolean | null>>;

/**
 * A command broke a business rule. `decide` throws it (the Emmett convention) and nothing
 * is appended. It is an expected outcome that maps to a 4xx answer, never a fault.
 */
export class DomainRejection extends Error {
  override readonly name = 'DomainRejection';

  constructor(
    readonly code: RejectionCode,
    message: string,
    readonly details: RejectionDetails = {},
  ) {
    super(message);
  }
}

export function isDomainRejection(error: unknown, code?: RejectionCode): error is DomainRejection {
  return error instanceof DomainRejection && (code === undefined || error.code === code);
}

/**
 * A recorded event contradicts the state it is folded into, or the domain was about to emit
 * an event that breaks an invariant. Either the stream is corrupt or the code has a bug, so
 * this must stop processing loudly: it is never a user error and never maps to a 4xx.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** Event data read back from storage does not have the documented shape. */
export class MalformedEventData extends Error {
  override readonly name = 'MalformedEventData';
}
