import type { RejectionCode } from '@ledger/domain';

/**
 * The HTTP status of every domain rejection. A `Record` over the whole union, so a new
 * rejection code does not compile until it is given a status here.
 *
 * - 422: the request is well formed but breaks a business rule about money or limits.
 * - 409: the request conflicts with the entity's current state (already done, wrong status).
 * - 404: the entity the request names does not exist.
 * - 400: shapes the HTTP validation should have caught first (kept as a safety net).
 */
export const REJECTION_HTTP_STATUS: Readonly<Record<RejectionCode, 400 | 404 | 409 | 422>> = {
  account_already_open: 409,
  account_not_open: 404,
  account_frozen: 422,
  account_already_frozen: 409,
  account_not_frozen: 409,
  unsupported_currency: 422,
  currency_mismatch: 422,
  amount_must_be_positive: 422,
  amount_exceeds_max: 422,
  amount_exceeds_limit: 422,
  balance_exceeds_max: 422,
  insufficient_funds: 422,
  deposit_already_applied: 409,
  withdrawal_already_requested: 409,
  hold_not_found: 404,
  hold_already_resolved: 409,
  debit_not_settled: 409,
  debit_already_returned: 409,
  illegal_transition: 409,
  withdrawal_not_cancellable: 409,
  withdrawal_not_in_review: 409,
  withdrawal_facts_mismatch: 409,
  // The withdrawal is in review, but the facts rule this decision out (`settled` with no
  // attempt that could have paid): a business rule, like the money rules, not a state clash.
  review_decision_not_allowed: 422,
  provider_reference_mismatch: 409,
  attempt_not_initiated: 409,
  payout_attempts_exhausted: 409,
  malformed_id: 400,
  malformed_channel: 400,
  malformed_date: 400,
  malformed_metadata: 400,
  field_required: 400,
};
