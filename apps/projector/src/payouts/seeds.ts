/**
 * The event-id seeds of every command the payout process manager sends, in one place so
 * the docs (docs/payouts.md) and the code cannot drift apart. An event id is
 * `eventIdFor(seed, index)` (UUID v5, `@ledger/commands`), so a reaction replayed after a
 * crash writes the same ids, and the store (ADR 0005) or the decider turns the replay into
 * a no-op.
 *
 * Every seed names the event that caused the command and the step, never a clock or a
 * counter of this process: `<step>:<causing event id>`. Facts about one payout attempt are
 * keyed by that attempt's `PayoutInitiated` event, whichever path learned them (the submit
 * answer or a status query), because the decider accepts each fact about an attempt at most
 * once and one seed per fact keeps a second learner from writing a second event id.
 */
export const payoutSeeds = {
  /** `InitiatePayout` caused by `Debited`, `PayoutAttemptFailed` or `ManualReviewResolved(retry)`. */
  initiate: (causeEventId: string) => `initiate:${causeEventId}`,
  /** `RequestManualReview` caused by an event: attempts exhausted, no channel, a conflicting callback. */
  review: (causeEventId: string) => `review:${causeEventId}`,
  /**
   * `RequestManualReview` about one attempt, found while working on it rather than caused by
   * one event (an outcome unknown for too long, a provider that lost an accepted payout, a
   * submit answer or status the ledger refuses): one review per attempt and finding.
   */
  attemptReview: (initiatedEventId: string, finding: string) => `review:${initiatedEventId}:${finding}`,
  /** `RecordPayoutSubmitted` after the provider accepted the attempt. */
  submitted: (initiatedEventId: string) => `submitted:${initiatedEventId}`,
  /** `RecordOutcomeUnknown` after a submit that got no answer. */
  unknown: (initiatedEventId: string) => `unknown:${initiatedEventId}`,
  /** `RecordPayoutAttemptFailed`: refused, circuit open, or not found after the submit deadline. */
  attemptFailed: (initiatedEventId: string) => `attempt-failed:${initiatedEventId}`,
  /** `RecordSettlement` learned from the submit answer or a status query. */
  settled: (initiatedEventId: string) => `settled:${initiatedEventId}`,
  /** `RecordPayoutFailure` learned from the submit answer or a status query. */
  failed: (initiatedEventId: string) => `failed:${initiatedEventId}`,
  /** `RecordPayoutReturned` learned from a status query. */
  returned: (initiatedEventId: string) => `returned:${initiatedEventId}`,
  /** The withdrawal command a `ProviderCallbackReceived` asks for. */
  callback: (callbackEventId: string) => `callback:${callbackEventId}`,
  /** The settlement a `payout.returned` callback implies when the settlement itself was never recorded. */
  callbackSettled: (callbackEventId: string) => `callback-settled:${callbackEventId}`,
  /** `SettleDebit` caused by `Settled` or `ManualReviewResolved(settled)`. */
  settle: (withdrawalEventId: string) => `settle:${withdrawalEventId}`,
  /**
   * `ReverseDebit` caused by `PayoutFailed`, `ManualReviewResolved(fail)` or
   * `WithdrawalCancelled`. The cancel endpoint writes its reversal under this very seed
   * (`reverse:<WithdrawalCancelled id>`), so its reversal and ours are one event.
   */
  reverse: (withdrawalEventId: string) => `reverse:${withdrawalEventId}`,
  /** `ReturnDebit` caused by `PayoutReturned`. */
  return: (withdrawalEventId: string) => `return:${withdrawalEventId}`,
} as const;

/**
 * The idempotency key of payout attempt `attempt`: the withdrawal id for the first attempt
 * (ARCHITECTURE.md §6), `<withdrawalId>:<attempt>` for every later one.
 *
 * Why later attempts need a key of their own: a later attempt may go to the same provider
 * (after a `not_found`, after a `retry` review decision, or when it is the only channel
 * left). Under the first attempt's key the provider would answer with what it remembers
 * of that key (a replay of its refusal, or the payout that arrived late after all) instead
 * of taking a new payout, and a callback could not say which attempt it is about. A key of
 * its own per attempt keeps "one key, at most one payout" true for every attempt, and the
 * three-attempt limit bounds how many keys one withdrawal can use.
 */
export function payoutIdempotencyKey(withdrawalId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RangeError(`attempt must be a positive whole number, got ${attempt}`);
  return attempt === 1 ? withdrawalId : `${withdrawalId}:${attempt}`;
}
