/**
 * The statuses of a withdrawal, from the request (a hold on the account) to its final money
 * outcome. The allowed moves between them are `WITHDRAWAL_TRANSITIONS`.
 */
export const WITHDRAWAL_STATUSES = [
  'requested',
  'processing',
  'unknown',
  'settled',
  'failed',
  'cancelled',
  'returned',
  'reversed',
  'manual_review',
] as const;

export type WithdrawalStatus = (typeof WITHDRAWAL_STATUSES)[number];

/** What an operator may decide about a withdrawal in manual review. */
export const REVIEW_DECISIONS = ['retry', 'fail', 'settled'] as const;

export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export function isWithdrawalStatus(value: unknown): value is WithdrawalStatus {
  return typeof value === 'string' && (WITHDRAWAL_STATUSES as readonly string[]).includes(value);
}

export function isReviewDecision(value: unknown): value is ReviewDecision {
  return typeof value === 'string' && (REVIEW_DECISIONS as readonly string[]).includes(value);
}
