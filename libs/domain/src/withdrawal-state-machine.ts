import { assertNever } from './decider';
import type { LedgerEvent } from './events';
import type { ReviewDecision, WithdrawalStatus } from './withdrawal-status';

/**
 * The withdrawal state machine as data, used by the withdrawal decider and by the
 * withdrawals projection. `WITHDRAWAL_TRANSITIONS[from]` lists the statuses `from` may move
 * to; nothing else is legal, and there are no self-loops (a repeated status is a duplicate).
 *
 *   requested  -> processing -> settled -> returned -> reversed
 *                 processing -> failed   -> reversed
 *                 processing | unknown -> requested   (an attempt failed without paying)
 *   requested  -> cancelled  -> reversed
 *                 processing -> unknown  -> settled | failed
 *   requested | processing | unknown -> manual_review -> requested (retry) | failed | settled
 *
 * An attempt that failed without the provider holding the payout (`PayoutAttemptFailed`:
 * refused outright, or not found by a status query after a timeout) returns the withdrawal to
 * `requested`, so the process manager can try the next channel. That is ARCHITECTURE.md's
 * "failover only when the first is known not to have paid" as a transition. `failed` stays
 * terminal: it means the provider took the payout and reported it failed, so the hold is
 * released (`DebitReversed`) rather than paid out elsewhere.
 *
 * Manual review: only a withdrawal whose payout outcome is still open (requested, processing,
 * unknown) can enter review, because a review decides an outcome and the other statuses
 * already have one; their remaining moves are automatic compensation. "Back" depends on the
 * decision (`REVIEW_DECISION_TARGETS`): `retry` returns to `requested`, the start of the
 * payout flow, so the next attempt is initiated afresh; `fail` and `settled` go to the
 * outcome the operator established. The status the review came from is recorded on
 * `ManualReviewRequested` and `ManualReviewResolved` for audit and for the review queue.
 *
 * `reversed` is reached through the account stream (`DebitReversed`, `DebitReturned`): the
 * money outcome is the account's, so no withdrawal event means "reversed".
 */
export const WITHDRAWAL_TRANSITIONS: { readonly [From in WithdrawalStatus]: readonly WithdrawalStatus[] } =
  Object.freeze({
    requested: Object.freeze(['processing', 'cancelled', 'manual_review'] as const),
    processing: Object.freeze(['unknown', 'settled', 'failed', 'requested', 'manual_review'] as const),
    unknown: Object.freeze(['settled', 'failed', 'requested', 'manual_review'] as const),
    settled: Object.freeze(['returned'] as const),
    failed: Object.freeze(['reversed'] as const),
    cancelled: Object.freeze(['reversed'] as const),
    returned: Object.freeze(['reversed'] as const),
    reversed: Object.freeze([] as const),
    manual_review: Object.freeze(['requested', 'failed', 'settled'] as const),
  });

/** Where each review decision takes a withdrawal. */
export const REVIEW_DECISION_TARGETS: { readonly [Decision in ReviewDecision]: WithdrawalStatus } = Object.freeze({
  retry: 'requested',
  fail: 'failed',
  settled: 'settled',
});

/** Statuses in which a payout attempt is in flight; a late report of one of them is stale once the attempt moved on. */
export const IN_FLIGHT_STATUSES: readonly WithdrawalStatus[] = Object.freeze(['processing', 'unknown'] as const);

export function canTransition(from: WithdrawalStatus, to: WithdrawalStatus): boolean {
  return WITHDRAWAL_TRANSITIONS[from].includes(to);
}

/** A status with no way out. Only `reversed`: a settled payout can still be returned. */
export function isTerminalWithdrawalStatus(status: WithdrawalStatus): boolean {
  return WITHDRAWAL_TRANSITIONS[status].length === 0;
}

export type TransitionVerdict = 'apply' | 'ignore_stale' | 'illegal';

/**
 * Classifies a move from the current status to the status an event or callback reports.
 *
 * - `apply`: the table allows `from -> to`.
 * - `ignore_stale`: the report is about a point the withdrawal has already passed, so it is
 *   recorded and ignored: `to` equals `from` or was visited before (a duplicate or late
 *   callback: `settled` after `returned`, `failed` after `reversed` via `failed`), or `to` is
 *   an in-flight status (`processing`, `unknown`) and an attempt was already in flight (a
 *   late acknowledgement or timeout after the outcome is known).
 * - `illegal`: anything else, notably a contradicting outcome (`settled` after `failed`,
 *   `failed` after `settled`). Those are never ignored: money may have moved twice, so the
 *   caller must raise them (manual review, alert), not drop them.
 *
 * `statusesVisited` is the withdrawal's history of statuses; without it only `from` counts
 * as visited, which makes the verdict conservative (more `illegal`, never a wrong `ignore`).
 */
export function classifyTransition(
  from: WithdrawalStatus,
  to: WithdrawalStatus,
  statusesVisited: readonly WithdrawalStatus[] = [from],
): TransitionVerdict {
  if (canTransition(from, to)) return 'apply';
  if (to === from || statusesVisited.includes(to)) return 'ignore_stale';
  if (IN_FLIGHT_STATUSES.includes(to) && statusesVisited.includes('processing')) return 'ignore_stale';
  return 'illegal';
}

/**
 * The withdrawal status an event moves its withdrawal to, or null for events that are not
 * about a withdrawal. Covers both streams: the account stream opens (`WithdrawalRequested`,
 * `Debited`) and closes (`DebitReversed`, `DebitReturned`) a withdrawal's life.
 * `PayoutSubmitted` and `DebitSettled` report the status the withdrawal is already in.
 */
export function withdrawalStatusAfter(event: LedgerEvent): WithdrawalStatus | null {
  switch (event.type) {
    case 'WithdrawalRequested':
    case 'Debited':
      return 'requested';
    case 'PayoutInitiated':
    case 'PayoutSubmitted':
      return 'processing';
    case 'PayoutOutcomeUnknown':
      return 'unknown';
    case 'PayoutAttemptFailed':
      return 'requested';
    case 'Settled':
    case 'DebitSettled':
      return 'settled';
    case 'PayoutFailed':
      return 'failed';
    case 'WithdrawalCancelled':
      return 'cancelled';
    case 'ManualReviewRequested':
      return 'manual_review';
    case 'ManualReviewResolved':
      return REVIEW_DECISION_TARGETS[event.data.decision];
    case 'PayoutReturned':
      return 'returned';
    case 'DebitReversed':
    case 'DebitReturned':
      return 'reversed';
    case 'AccountOpened':
    case 'FundsDeposited':
    case 'AccountFrozen':
    case 'AccountUnfrozen':
    case 'StatementImported':
    case 'ItemMatched':
    case 'DiscrepancyFound':
    case 'DiscrepancyResolved':
    case 'ProviderCallbackReceived':
      return null;
    default:
      return assertNever(event, 'event type');
  }
}

/** A withdrawal's status with the history `classifyTransition` needs. */
export interface WithdrawalStatusTrack {
  readonly status: WithdrawalStatus;
  /** Distinct statuses in the order first reached, including the current one. */
  readonly statusesVisited: readonly WithdrawalStatus[];
}

export const WITHDRAWAL_STATUS_TRACK_START: WithdrawalStatusTrack = Object.freeze({
  status: 'requested',
  statusesVisited: Object.freeze(['requested'] as const),
});

/**
 * One step of the projection's fold: the verdict for an event and the track after it. A
 * stale or illegal event leaves the track unchanged; the projection records it in the
 * history either way and raises `illegal` ones. Events that are not about a withdrawal are
 * `ignore_stale` with the track unchanged.
 */
export function advanceWithdrawalStatus(
  track: WithdrawalStatusTrack,
  event: LedgerEvent,
): { readonly verdict: TransitionVerdict; readonly track: WithdrawalStatusTrack } {
  const to = withdrawalStatusAfter(event);
  if (to === null) return { verdict: 'ignore_stale', track };
  const verdict = classifyTransition(track.status, to, track.statusesVisited);
  if (verdict !== 'apply') return { verdict, track };
  return { verdict, track: enterStatus(track, to) };
}

/** The track after moving to `status`; `statusesVisited` keeps each status once. */
export function enterStatus(track: WithdrawalStatusTrack, status: WithdrawalStatus): WithdrawalStatusTrack {
  return {
    status,
    statusesVisited: track.statusesVisited.includes(status)
      ? track.statusesVisited
      : [...track.statusesVisited, status],
  };
}
