import { eventIdFor, type CommandEnvelope } from '@ledger/commands';
import {
  accountStream,
  canTransition,
  decodeAmount,
  DomainRejection,
  holdCommandForWithdrawalEvent,
  InvariantViolation,
  isDomainRejection,
  MalformedEventData,
  MAX_AUTOMATIC_PAYOUT_ATTEMPTS,
  TEXT_LENGTH_MAX,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type CommandMetadata,
  type Debited,
  type ManualReviewResolved,
  type PayoutAttemptFailed,
  type PayoutInitiated,
  type ProviderCallbackReceived,
  type RejectionCode,
  type WithdrawalCommand,
  type WithdrawalEvent,
  type WithdrawalRequested,
  type WithdrawalState,
} from '@ledger/domain';
import { EventIdConflict, InvalidAppend, type EventMetadata, type EventStore, type RecordedEvent } from '@ledger/event-store';
import type { PaymentChannel, PaymentMetrics, PayoutOutcomeLabel, RouteQuery } from '@ledger/payments';
import { activeTraceparent, failpoint } from '@ledger/platform';
import type { ProjectorLog } from '@ledger/read-models';
import type { ManualReviewReason, PayoutMetrics, ReactionOutcome } from './payout-metrics';
import type { AttemptRow, PayoutState, WithdrawalRoute } from './payout-state';
import type { ReactionCommands } from './reaction-commands';
import { payoutIdempotencyKey, payoutSeeds } from './seeds';
import { asLedgerEvent, WithdrawalHistory, type AttemptSummary, type Recorded } from './withdrawal-history';

/** What the process manager needs of routing: `PaymentRouter` of `@ledger/payments` fits. */
export interface PayoutRouting {
  get(name: string): PaymentChannel | undefined;
  candidates(query: RouteQuery): PaymentChannel[];
}

/** The timers of status polling (docs/payouts.md, "Timers"). */
export interface PayoutTimerSettings {
  /** First status query after a submit's outcome became unknown. */
  readonly unknownFirstCheckMs: number;
  /** First status query of an accepted payout that no callback has resolved. */
  readonly pendingFirstCheckMs: number;
  /** Upper bound of the doubling interval between status queries of one attempt. */
  readonly checkIntervalMaxMs: number;
  /** How long an outcome may stay unknown before a person is asked (the queries go on). */
  readonly unknownGiveUpMs: number;
  /**
   * Added to a channel's `timeoutMs` to make an attempt's submit deadline: covers the time
   * between our deadline firing and the provider's last chance of reading the request.
   */
  readonly submitDeadlineMarginMs: number;
}

export const PAYOUT_TIMER_DEFAULTS: PayoutTimerSettings = Object.freeze({
  unknownFirstCheckMs: 2_000,
  pendingFirstCheckMs: 60_000,
  checkIntervalMaxMs: 300_000,
  unknownGiveUpMs: 3_600_000,
  submitDeadlineMarginMs: 5_000,
});

/** The principal of every command the process manager sends. */
export const PAYOUT_PROCESS_MANAGER_PRINCIPAL = 'payout-process-manager';

/**
 * Failure codes of an attempt that say nothing against the channel itself: nothing reached
 * it, or it never saw the request. When every channel has failed once, routing may go back
 * to a channel that failed only like this; a channel that refused the payout is not asked
 * again within one count of attempts.
 */
const TRANSIENT_ATTEMPT_FAILURE_CODES: ReadonlySet<string> = new Set([
  'circuit_open',
  'provider_unreachable',
  'not_found_after_unknown',
  'channel_not_configured',
]);

/** Events the process manager reacts to; every other event is passed over. */
export const PAYOUT_REACTION_TYPES = [
  'WithdrawalRequested',
  'Debited',
  'PayoutInitiated',
  'PayoutAttemptFailed',
  'Settled',
  'PayoutFailed',
  'PayoutReturned',
  'WithdrawalCancelled',
  'ManualReviewResolved',
  'ProviderCallbackReceived',
] as const;

const REACTION_TYPES: ReadonlySet<string> = new Set(PAYOUT_REACTION_TYPES);

/** The withdrawal an event is about when the process manager reacts to it (its ordering key), else null. */
export function reactionKey(event: RecordedEvent): string | null {
  if (!REACTION_TYPES.has(event.type)) return null;
  const withdrawalId = (event.data as { withdrawalId?: unknown } | null)?.withdrawalId;
  return typeof withdrawalId === 'string' ? withdrawalId : null;
}

/**
 * A reaction failed for a reason a replay cannot fix (a corrupt stream, data that breaks the
 * catalogue, an event id taken by other content). It is recorded in `payouts.conflicts`
 * and passed over, so one poisoned withdrawal does not stop every other payout.
 */
export function isPoison(error: unknown): boolean {
  return (
    error instanceof InvariantViolation ||
    error instanceof MalformedEventData ||
    error instanceof InvalidAppend ||
    error instanceof DomainRejection
  );
}

type CommandResult =
  | { readonly kind: 'applied'; readonly position: bigint }
  | { readonly kind: 'noop' }
  | { readonly kind: 'rejected'; readonly rejection: DomainRejection };

export interface PayoutReactionsOptions {
  store: EventStore;
  accounts: ReactionCommands<AccountState, AccountCommand, AccountEvent>;
  withdrawals: ReactionCommands<WithdrawalState, WithdrawalCommand, WithdrawalEvent>;
  state: PayoutState;
  routing: PayoutRouting;
  metrics: PayoutMetrics;
  paymentMetrics: PaymentMetrics;
  timers: PayoutTimerSettings;
  clock: () => Date;
  log: ProjectorLog;
}

/**
 * The payout process manager's reactions, one method per event type, and the timer's
 * status check. Each one is at-least-once safe: it first looks at the withdrawal stream to
 * see whether it already ran (the ids its seeds derive, or a state that moved on since its
 * cause), sends commands with seeds derived from the causing event, and treats a rejection
 * that means "already done" as success. Business rejections never escape: they become a
 * manual review or a row in `payouts.conflicts`. What escapes is infrastructure trouble,
 * which the caller answers by replaying from the checkpoint.
 */
export class PayoutReactions {
  private readonly store: EventStore;
  private readonly state: PayoutState;
  private readonly routing: PayoutRouting;
  private readonly metrics: PayoutMetrics;
  private readonly timers: PayoutTimerSettings;
  private readonly clock: () => Date;
  private readonly log: ProjectorLog;

  constructor(private readonly options: PayoutReactionsOptions) {
    this.store = options.store;
    this.state = options.state;
    this.routing = options.routing;
    this.metrics = options.metrics;
    this.timers = options.timers;
    this.clock = options.clock;
    this.log = options.log;
  }

  /** Reacts to one event of the log. */
  async react(recorded: RecordedEvent): Promise<ReactionOutcome> {
    const event = recorded as Recorded;
    switch (event.type) {
      case 'WithdrawalRequested':
        return this.onWithdrawalRequested(event as Recorded<WithdrawalRequested>);
      case 'Debited':
        return this.onDebited(event as Recorded<Debited>);
      case 'PayoutInitiated':
        return this.onPayoutInitiated(event as Recorded<PayoutInitiated>);
      case 'PayoutAttemptFailed':
        return this.onPayoutAttemptFailed(event as Recorded<PayoutAttemptFailed>);
      case 'ManualReviewResolved':
        return this.onManualReviewResolved(event as Recorded<ManualReviewResolved>);
      case 'Settled':
      case 'PayoutFailed':
      case 'PayoutReturned':
      case 'WithdrawalCancelled':
        return this.onOutcome(event as Recorded<WithdrawalEvent>);
      case 'ProviderCallbackReceived':
        return this.onCallback(event as Recorded<ProviderCallbackReceived>);
      default:
        return 'noop';
    }
  }

  /** Remembers what routing needs; `Debited`, in the same append, starts the payout. */
  private async onWithdrawalRequested(event: Recorded<WithdrawalRequested>): Promise<ReactionOutcome> {
    await this.state.recordWithdrawal(routeOf(event), event.id);
    return 'applied';
  }

  /** The hold is placed: start attempt 1. */
  private async onDebited(event: Recorded<Debited>): Promise<ReactionOutcome> {
    const { withdrawalId } = event.data;
    const route = (await this.state.withdrawal(withdrawalId)) ?? (await this.routeFromAccountStream(event));
    if (route === null) {
      await this.recordConflict(event, withdrawalId, 'request_not_found', 'hold_not_found', {
        message: 'Debited without its WithdrawalRequested in the account stream',
      });
      return 'conflict';
    }
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    if (history.holdsAny([eventIdFor(payoutSeeds.initiate(event.id), 0), eventIdFor(payoutSeeds.review(event.id), 0)])) {
      return 'noop';
    }
    // Anything on the withdrawal stream means the payout already started, was cancelled or
    // went to review: the hold alone is no reason to start it again.
    if (history.state.attempt > 0 || history.state.status !== 'requested') return 'noop';
    return this.initiateNext(event, history, route);
  }

  /**
   * Starts the next attempt on the best channel routing offers, or asks for a review when
   * the attempts of this count are used up or no channel can take the payout.
   */
  private async initiateNext(cause: Recorded, history: WithdrawalHistory, route: WithdrawalRoute): Promise<ReactionOutcome> {
    const { state } = history;
    const inCount = history.attemptsInCount();
    if (state.attemptsFailed >= MAX_AUTOMATIC_PAYOUT_ATTEMPTS) {
      return this.requestReview(cause, payoutSeeds.review(cause.id), route, 'attempts_exhausted', `payout_attempts_exhausted: ${describeAttempts(inCount)}`);
    }
    const channel = this.chooseChannel(route, inCount);
    if (channel === undefined) {
      const tried = inCount.length === 0 ? 'no attempt yet' : describeAttempts(inCount);
      return this.requestReview(
        cause,
        payoutSeeds.review(cause.id),
        route,
        'no_channel',
        `no_channel: no configured channel pays out ${route.amount} ${route.currency} minor units (${tried})`,
      );
    }
    const result = await this.withdrawalCommand(cause, route.withdrawalId, payoutSeeds.initiate(cause.id), (metadata) => ({
      type: 'InitiatePayout',
      data: {
        withdrawalId: route.withdrawalId,
        accountId: route.accountId,
        amount: route.amount,
        currency: route.currency,
        channel: channel.name,
        destination: route.destination,
      },
      metadata,
    }));
    if (result.kind !== 'rejected') return result.kind === 'applied' ? 'applied' : 'noop';
    if (result.rejection.code === 'payout_attempts_exhausted') {
      return this.requestReview(cause, payoutSeeds.review(cause.id), route, 'attempts_exhausted', `payout_attempts_exhausted: ${describeAttempts(inCount)}`);
    }
    // Someone else moved the withdrawal meanwhile (a cancellation, a review): nothing to start.
    if (result.rejection.code === 'illegal_transition') return 'noop';
    await this.recordConflict(cause, route.withdrawalId, 'initiate_refused', result.rejection.code, {
      message: result.rejection.message,
      details: result.rejection.details,
    });
    return 'conflict';
  }

  /**
   * The first candidate routing offers, excluding every channel that failed an attempt in
   * this count; when that leaves none, channels that failed only transiently (nothing was
   * refused) are offered again, so two channels and one lost request do not end in review
   * while attempts remain.
   */
  private chooseChannel(route: WithdrawalRoute, attempts: readonly AttemptSummary[]): PaymentChannel | undefined {
    const failed = attempts.filter((attempt) => attempt.failureCode !== null);
    const query = { currency: route.currency, amount: route.amount, preferredChannel: route.channelPreferred };
    const fresh = this.routing.candidates({ ...query, excludeChannels: unique(failed.map((attempt) => attempt.channel)) });
    if (fresh.length > 0) return fresh[0];
    const refused = failed.filter((attempt) => !TRANSIENT_ATTEMPT_FAILURE_CODES.has(attempt.failureCode!));
    return this.routing.candidates({ ...query, excludeChannels: unique(refused.map((attempt) => attempt.channel)) })[0];
  }

  /** An attempt was initiated: submit it to its channel, unless that already happened. */
  private async onPayoutInitiated(event: Recorded<PayoutInitiated>): Promise<ReactionOutcome> {
    const { withdrawalId, attempt, channel: channelName } = event.data;
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    const { state } = history;
    const now = this.clock();
    const idempotencyKey = payoutIdempotencyKey(withdrawalId, attempt);
    if (state.attempt !== attempt || attempt <= state.attemptsSuperseded) {
      await this.state.markResolved(withdrawalId, attempt, 'superseded', now);
      return 'noop';
    }
    const channel = this.routing.get(channelName);
    const deadline = new Date(now.getTime() + (channel?.timeoutMs ?? 0) + this.timers.submitDeadlineMarginMs);
    const tracked = { withdrawalId, attempt, channel: channelName, idempotencyKey, initiatedEventId: event.id, now, deadline };
    if (state.status === 'unknown') {
      // Submitted before a crash and timed out: the timer resolves it.
      await this.state.ensureTracked({ ...tracked, status: 'unknown', nextCheckAt: now });
      return 'noop';
    }
    if (state.status === 'processing' && state.providerReference !== null) {
      await this.state.ensureTracked({
        ...tracked,
        status: 'pending',
        nextCheckAt: new Date(now.getTime() + this.timers.pendingFirstCheckMs),
      });
      return 'noop';
    }
    if (state.status !== 'processing') {
      // Settled, failed, returned, in review, or back to requested: nothing to submit.
      if (state.status !== 'manual_review') await this.state.markResolved(withdrawalId, attempt, state.status, now);
      return 'noop';
    }

    // Processing without a provider reference: never submitted, or submitted by a process
    // that died before recording the answer. Submitting again is safe either way, because
    // the provider keeps at most one payout per idempotency key.
    if (channel === undefined) return this.channelMissing(event, history);
    await this.state.submitStarting(tracked);
    const outcome = await channel.submit({
      idempotencyKey,
      withdrawalId,
      attempt,
      amount: decodeAmount(event.data.amount),
      currency: event.data.currency,
      destination: event.data.destination,
    });
    // Fault-injection tests kill the process here: the provider has the payout, the ledger
    // does not know yet. The replay must submit again under the same key and pay once.
    failpoint('payouts.after-submit');
    const after = this.clock();
    switch (outcome.kind) {
      case 'accepted': {
        const submitted = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.submitted(event.id), (metadata) => ({
          type: 'RecordPayoutSubmitted',
          data: { attempt, providerReference: outcome.providerReference },
          metadata,
        }));
        if (submitted.kind === 'rejected') return this.conflictingFact(event, history, submitted.rejection, 'submit answer');
        if (outcome.status === 'pending') {
          await this.state.markPending(withdrawalId, attempt, after, new Date(after.getTime() + this.timers.pendingFirstCheckMs));
          return 'applied';
        }
        // The provider answered with the outcome already (a replay of a finished payout).
        return this.recordOutcome(event, history, attempt, outcome.status, outcome.providerReference, outcome.reason ?? null, 'submit answer');
      }
      case 'rejected': {
        const failed = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.attemptFailed(event.id), (metadata) => ({
          type: 'RecordPayoutAttemptFailed',
          data: { attempt, code: outcome.code, reason: text(outcome.reason) },
          metadata,
        }));
        await this.state.markResolved(withdrawalId, attempt, `rejected:${outcome.code}`, after);
        if (failed.kind === 'rejected') return this.conflictingFact(event, history, failed.rejection, 'submit refusal');
        return failed.kind;
      }
      case 'unknown': {
        const unknown = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.unknown(event.id), (metadata) => ({
          type: 'RecordOutcomeUnknown',
          data: { attempt, reason: text(outcome.reason) },
          metadata,
        }));
        await this.state.markUnknown(withdrawalId, attempt, after, new Date(after.getTime() + this.timers.unknownFirstCheckMs));
        if (unknown.kind === 'rejected') return this.conflictingFact(event, history, unknown.rejection, 'submit timeout');
        return unknown.kind;
      }
    }
  }

  /**
   * The attempt names a channel this process does not have (configuration changed). If no
   * submit of the attempt ever began, nothing can have been paid and the attempt fails over;
   * otherwise an earlier process may have submitted it, and only its channel can tell.
   */
  private async channelMissing(event: Recorded<PayoutInitiated>, history: WithdrawalHistory): Promise<ReactionOutcome> {
    const { withdrawalId, attempt, channel } = event.data;
    const row = await this.state.attempt(withdrawalId, attempt);
    this.log('error', 'payout attempt names a channel that is not configured', { withdrawalId, attempt, channel });
    if (row !== null) {
      const result = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.unknown(event.id), (metadata) => ({
        type: 'RecordOutcomeUnknown',
        data: { attempt, reason: `channel ${channel} is not configured` },
        metadata,
      }));
      const now = this.clock();
      await this.state.markUnknown(withdrawalId, attempt, now, new Date(now.getTime() + this.timers.unknownFirstCheckMs));
      return result.kind === 'rejected' ? this.conflictingFact(event, history, result.rejection, 'missing channel') : result.kind;
    }
    const result = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.attemptFailed(event.id), (metadata) => ({
      type: 'RecordPayoutAttemptFailed',
      data: { attempt, code: 'channel_not_configured', reason: `channel ${channel} is not configured; no request was sent` },
      metadata,
    }));
    return result.kind === 'rejected' ? this.conflictingFact(event, history, result.rejection, 'missing channel') : result.kind;
  }

  /** An attempt failed without paying: fail over to the next channel, or ask a person. */
  private async onPayoutAttemptFailed(event: Recorded<PayoutAttemptFailed>): Promise<ReactionOutcome> {
    const { withdrawalId, attempt } = event.data;
    await this.state.markResolved(withdrawalId, attempt, `attempt_failed:${event.data.code}`, this.clock());
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    if (history.holdsAny([eventIdFor(payoutSeeds.initiate(event.id), 0), eventIdFor(payoutSeeds.review(event.id), 0)])) {
      return 'noop';
    }
    // Only the failure of the latest attempt, with nothing started since, calls for another.
    if (history.state.status !== 'requested' || history.state.attempt !== attempt) return 'noop';
    const route = await this.routeOf(history);
    return this.initiateNext(event, history, route);
  }

  /** A person decided: move the money (settled, fail), or start a new count of attempts (retry). */
  private async onManualReviewResolved(event: Recorded<ManualReviewResolved>): Promise<ReactionOutcome> {
    const money = await this.onOutcome(event);
    if (event.data.decision !== 'retry') return money;
    const { withdrawalId } = event.data;
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    await this.state.markResolved(withdrawalId, history.stateAfter(event.streamRevision).attempt, 'review_retry', this.clock());
    if (history.holdsAny([eventIdFor(payoutSeeds.initiate(event.id), 0), eventIdFor(payoutSeeds.review(event.id), 0)])) {
      return 'noop';
    }
    const atDecision = history.stateAfter(event.streamRevision);
    if (history.state.status !== 'requested' || history.state.attempt !== atDecision.attempt) return 'noop';
    return this.initiateNext(event, history, await this.routeOf(history));
  }

  /**
   * A withdrawal outcome: the money command `holdCommandForWithdrawalEvent` names, keyed
   * `<settle|reverse|return>:<event id>`. A hold already resolved (by the cancel endpoint, the
   * review endpoint or an earlier run of this reaction) is success.
   */
  private async onOutcome(event: Recorded<WithdrawalEvent>): Promise<ReactionOutcome> {
    const withdrawalId = (event.data as { withdrawalId: string }).withdrawalId;
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    const stateAfter = history.stateAfter(event.streamRevision);
    const attempt = stateAfter.attempt;
    if (event.type !== 'WithdrawalCancelled' && attempt > 0) {
      await this.state.markResolved(withdrawalId, attempt, event.type, this.clock());
    }
    // The money event carries the outcome's own time, as the cancel and review endpoints
    // write it, so whichever writer comes first, the event is the same in id and data.
    const metadata: CommandMetadata = { now: outcomeTime(event), principal: PAYOUT_PROCESS_MANAGER_PRINCIPAL };
    const hold = holdCommandForWithdrawalEvent(asLedgerEvent(event) as WithdrawalEvent, stateAfter, metadata);
    if (hold === null) return 'noop';
    const seed =
      hold.command.type === 'SettleDebit'
        ? payoutSeeds.settle(event.id)
        : hold.command.type === 'ReverseDebit'
          ? payoutSeeds.reverse(event.id)
          : payoutSeeds.return(event.id);
    const result = await this.run(this.options.accounts, hold.accountId, { command: hold.command, eventIdSeed: seed, metadata: this.eventMetadata(event) });
    if (result.kind !== 'rejected') return result.kind;
    const done: readonly RejectionCode[] = ['hold_already_resolved', 'debit_already_returned'];
    if (done.includes(result.rejection.code)) return 'noop';
    await this.recordConflict(event, withdrawalId, 'money_command_refused', result.rejection.code, {
      command: hold.command.type,
      accountId: hold.accountId,
      message: result.rejection.message,
      details: result.rejection.details,
    });
    return 'conflict';
  }

  /**
   * A verified provider callback: record the fact it reports on the withdrawal, keyed by the
   * callback event. Stale and duplicate callbacks write nothing (the decider says so); one
   * that contradicts the ledger goes to manual review, or to `payouts.conflicts` when the
   * withdrawal has no way into review.
   */
  private async onCallback(event: Recorded<ProviderCallbackReceived>): Promise<ReactionOutcome> {
    const callback = event.data;
    const { withdrawalId, attempt, providerReference } = callback;
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    if (history.state.facts === null) {
      this.log('warn', 'callback for a withdrawal the ledger does not know; skipped', {
        withdrawalId,
        channel: callback.channel,
        webhookId: callback.webhookId,
        callbackType: callback.callbackType,
      });
      return 'unknown_withdrawal';
    }
    // The callback's own fact, or its review, is the last thing this reaction writes: once
    // either is in the stream the reaction ran. (A replay must not apply it again: a
    // settlement refused as a conflict earlier could be legal in the review it caused.)
    if (history.holdsAny([eventIdFor(payoutSeeds.callback(event.id), 0), eventIdFor(payoutSeeds.review(event.id), 0)])) {
      return 'noop';
    }

    // The callback must be about this withdrawal's money on the channel of that attempt; a
    // callback that is not is a provider bug or a misrouted message, and a person must look.
    const facts = history.state.facts;
    const summary = history.attempt(attempt);
    const mismatch =
      summary !== undefined && summary.channel !== callback.channel
        ? `the callback came from channel ${callback.channel}, attempt ${attempt} went to ${summary.channel}`
        : decodeAmount(callback.amount) !== facts.amount || callback.currency !== facts.currency
          ? `the callback reports ${callback.amount} ${callback.currency}, the withdrawal is ${facts.amount} ${facts.currency}`
          : null;
    if (mismatch !== null) {
      return this.conflictingReport(event, history, 'callback_mismatch', mismatch);
    }

    if (callback.callbackType === 'payout.returned' && ['processing', 'unknown', 'manual_review'].includes(history.state.status)) {
      // A return implies the payout settled first; record that before the return.
      const settled = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.callbackSettled(event.id), (metadata) => ({
        type: 'RecordSettlement',
        data: { attempt, providerReference },
        metadata,
      }));
      if (settled.kind === 'rejected') return this.conflictingReport(event, history, settled.rejection.code, settled.rejection.message);
      if (settled.kind === 'applied') this.countPayout(callback.channel, 'settled');
    }
    const result = await this.withdrawalCommand(event, withdrawalId, payoutSeeds.callback(event.id), (metadata) => {
      switch (callback.callbackType) {
        case 'payout.processing':
          return { type: 'RecordPayoutSubmitted', data: { attempt, providerReference }, metadata };
        case 'payout.settled':
          return { type: 'RecordSettlement', data: { attempt, providerReference }, metadata };
        case 'payout.failed':
          return {
            type: 'RecordPayoutFailure',
            data: { attempt, providerReference, reason: text(callback.reason ?? 'the provider reported the payout failed') },
            metadata,
          };
        case 'payout.returned':
          return {
            type: 'RecordPayoutReturned',
            data: { attempt, providerReference, reason: text(callback.reason ?? 'the bank returned the payout') },
            metadata,
          };
      }
    });
    if (result.kind === 'rejected') return this.conflictingReport(event, history, result.rejection.code, result.rejection.message);
    if (result.kind === 'applied') {
      const label = CALLBACK_OUTCOME_LABELS[callback.callbackType];
      if (label !== null) this.countPayout(callback.channel, label);
    }
    return result.kind;
  }

  /**
   * The timer's check of an attempt waiting for an answer: ask its channel and record what
   * it says. `not_found` is proof of "not paid" only after the attempt's submit deadline.
   */
  async checkAttempt(row: AttemptRow): Promise<ReactionOutcome> {
    const { withdrawalId, attempt } = row;
    const history = await WithdrawalHistory.load(this.store, withdrawalId);
    const { state } = history;
    const now = this.clock();
    const live = state.attempt === attempt && attempt > state.attemptsSuperseded;
    if (!live || !['processing', 'unknown', 'manual_review'].includes(state.status)) {
      await this.state.markResolved(withdrawalId, attempt, live ? state.status : 'superseded', now);
      return 'noop';
    }
    const initiated = history.attempt(attempt)?.initiated;
    if (initiated === undefined) throw new InvariantViolation(`attempt ${attempt} of ${withdrawalId} is live but was never initiated`);
    const channel = this.routing.get(row.channel);
    const status = channel ? await channel.status(row.idempotencyKey) : ({ kind: 'unknown', reason: 'channel_not_configured' } as const);
    const checked = this.clock();
    const next = new Date(checked.getTime() + this.checkInterval(row));
    switch (status.kind) {
      case 'settled':
      case 'failed':
      case 'returned':
        this.metrics.statusQueries.inc({ channel: row.channel, result: status.kind });
        return this.recordOutcome(initiated, history, attempt, status.kind, status.providerReference, status.reason ?? null, 'status query');
      case 'pending':
        this.metrics.statusQueries.inc({ channel: row.channel, result: 'pending' });
        // The provider holds the payout: no longer unknown to us, whatever the ledger's status.
        await this.state.markPending(withdrawalId, attempt, checked, next);
        await this.state.recordCheck(withdrawalId, attempt, 'pending', checked, next);
        return 'noop';
      case 'not_found':
        if (checked < row.submitDeadlineAt) {
          // The request may still be on its way to the provider: not proof yet.
          this.metrics.statusQueries.inc({ channel: row.channel, result: 'not_found_early' });
          await this.state.recordCheck(withdrawalId, attempt, 'not_found_early', checked, row.submitDeadlineAt);
          return 'noop';
        }
        this.metrics.statusQueries.inc({ channel: row.channel, result: 'not_found' });
        return this.notFound(initiated, history, row);
      case 'unknown':
        this.metrics.statusQueries.inc({ channel: row.channel, result: 'unknown' });
        await this.state.recordCheck(withdrawalId, attempt, `unknown:${status.reason}`, checked, next);
        return this.giveUpIfTooLong(initiated, history, row);
    }
  }

  /** The provider has no payout under the attempt's key, after its deadline. */
  private async notFound(initiated: Recorded<PayoutInitiated>, history: WithdrawalHistory, row: AttemptRow): Promise<ReactionOutcome> {
    const { withdrawalId, attempt } = row;
    const now = this.clock();
    if (history.state.status === 'manual_review') {
      // A person decides now; the finding is theirs to read in the log.
      this.log('info', 'status query found no payout for an attempt in review', { withdrawalId, attempt, channel: row.channel });
      await this.state.markResolved(withdrawalId, attempt, 'not_found_in_review', now);
      return 'noop';
    }
    if (history.state.providerReference !== null) {
      // The provider accepted this payout and now says it has none: never proof of "not paid".
      await this.state.markResolved(withdrawalId, attempt, 'provider_lost_payout', now);
      return this.requestReview(
        initiated,
        payoutSeeds.attemptReview(initiated.id, 'provider_lost_payout'),
        factsRoute(history),
        'provider_lost_payout',
        `provider_lost_payout: channel ${row.channel} accepted attempt ${attempt} as ${history.state.providerReference} and now reports no payout under ${row.idempotencyKey}`,
      );
    }
    const result = await this.withdrawalCommand(initiated, withdrawalId, payoutSeeds.attemptFailed(initiated.id), (metadata) => ({
      type: 'RecordPayoutAttemptFailed',
      data: {
        attempt,
        code: 'not_found_after_unknown',
        reason: `channel ${row.channel} has no payout under ${row.idempotencyKey} after the submit deadline`,
      },
      metadata,
    }));
    await this.state.markResolved(withdrawalId, attempt, 'not_found', now);
    if (result.kind === 'rejected') return this.conflictingFact(initiated, history, result.rejection, 'status query');
    return result.kind;
  }

  private async giveUpIfTooLong(initiated: Recorded<PayoutInitiated>, history: WithdrawalHistory, row: AttemptRow): Promise<ReactionOutcome> {
    const since = row.unknownSince ?? row.submitStartedAt;
    if (history.state.status !== 'unknown' || this.clock().getTime() - since.getTime() < this.timers.unknownGiveUpMs) return 'noop';
    const seconds = Math.round((this.clock().getTime() - since.getTime()) / 1_000);
    return this.requestReview(
      initiated,
      payoutSeeds.attemptReview(initiated.id, 'outcome_unknown_too_long'),
      factsRoute(history),
      'outcome_unknown_too_long',
      `outcome_unknown_too_long: attempt ${row.attempt} on channel ${row.channel} (key ${row.idempotencyKey}) has been unknown for ${seconds} s after ${row.checks + 1} status queries`,
    );
  }

  /** Records an outcome the provider reported for an attempt (submit answer or status query). */
  private async recordOutcome(
    initiated: Recorded<PayoutInitiated>,
    history: WithdrawalHistory,
    attempt: number,
    outcome: 'settled' | 'failed' | 'returned',
    providerReference: string,
    reason: string | null,
    source: string,
  ): Promise<ReactionOutcome> {
    const { withdrawalId, channel } = initiated.data;
    let applied = false;
    if (outcome === 'settled' || outcome === 'returned') {
      const settled = await this.withdrawalCommand(initiated, withdrawalId, payoutSeeds.settled(initiated.id), (metadata) => ({
        type: 'RecordSettlement',
        data: { attempt, providerReference },
        metadata,
      }));
      if (settled.kind === 'rejected') return this.conflictingFact(initiated, history, settled.rejection, source);
      if (settled.kind === 'applied') this.countPayout(channel, 'settled');
      applied ||= settled.kind === 'applied';
    }
    if (outcome === 'failed' || outcome === 'returned') {
      const seed = outcome === 'failed' ? payoutSeeds.failed(initiated.id) : payoutSeeds.returned(initiated.id);
      const result = await this.withdrawalCommand(initiated, withdrawalId, seed, (metadata) =>
        outcome === 'failed'
          ? {
              type: 'RecordPayoutFailure',
              data: { attempt, providerReference, reason: text(reason ?? 'the provider reported the payout failed') },
              metadata,
            }
          : {
              type: 'RecordPayoutReturned',
              data: { attempt, providerReference, reason: text(reason ?? 'the bank returned the payout') },
              metadata,
            },
      );
      if (result.kind === 'rejected') return this.conflictingFact(initiated, history, result.rejection, source);
      if (result.kind === 'applied') this.countPayout(channel, outcome);
      applied ||= result.kind === 'applied';
    }
    await this.state.markResolved(withdrawalId, attempt, outcome, this.clock());
    return applied ? 'applied' : 'noop';
  }

  /**
   * A provider fact (from a submit answer or a status query) that the decider refuses: the
   * provider and the ledger disagree, so a person must look.
   */
  private async conflictingFact(
    cause: Recorded,
    history: WithdrawalHistory,
    rejection: DomainRejection,
    source: string,
  ): Promise<ReactionOutcome> {
    return this.conflictingReport(cause, history, rejection.code, `${source}: ${rejection.message}`);
  }

  private async conflictingReport(
    cause: Recorded,
    history: WithdrawalHistory,
    code: string,
    message: string,
  ): Promise<ReactionOutcome> {
    const fresh = await WithdrawalHistory.load(this.store, history.withdrawalId);
    const what = cause.type === 'ProviderCallbackReceived' ? describeCallback(cause as Recorded<ProviderCallbackReceived>) : cause.type;
    this.log('error', 'provider report contradicts the ledger', {
      withdrawalId: history.withdrawalId,
      status: fresh.state.status,
      code,
      message,
      cause: what,
    });
    if (fresh.state.facts !== null && canTransition(fresh.state.status, 'manual_review')) {
      // A callback event causes at most one review; a report learned while working on an
      // attempt (submit answer, status query) is keyed by the attempt and the finding.
      const seed =
        cause.type === 'ProviderCallbackReceived' ? payoutSeeds.review(cause.id) : payoutSeeds.attemptReview(cause.id, `conflict:${code}`);
      return this.requestReview(
        cause,
        seed,
        factsRoute(fresh),
        'conflicting_callback',
        `${code}: ${what} contradicts the withdrawal (${fresh.state.status}): ${message}`,
      );
    }
    await this.recordConflict(cause, history.withdrawalId, 'conflicting_report', code, {
      status: fresh.state.status,
      message,
      report: what,
    });
    return 'conflict';
  }

  /** `RequestManualReview` keyed by the cause; the alert metric rises only when it was written. */
  private async requestReview(
    cause: Recorded,
    seed: string,
    route: Pick<WithdrawalRoute, 'withdrawalId' | 'accountId' | 'amount' | 'currency'>,
    reason: ManualReviewReason,
    explanation: string,
  ): Promise<ReactionOutcome> {
    const result = await this.withdrawalCommand(cause, route.withdrawalId, seed, (metadata) => ({
      type: 'RequestManualReview',
      data: {
        withdrawalId: route.withdrawalId,
        accountId: route.accountId,
        amount: route.amount,
        currency: route.currency,
        reason: text(explanation),
      },
      metadata,
    }));
    if (result.kind === 'applied') {
      this.metrics.manualReviewsRequested.inc({ reason });
      this.log('warn', 'manual review requested', { withdrawalId: route.withdrawalId, reason, explanation });
      return 'review';
    }
    if (result.kind === 'noop') return 'noop';
    // Already in review, or an outcome arrived meanwhile: the review is moot or pending.
    if (result.rejection.code === 'illegal_transition') return 'noop';
    await this.recordConflict(cause, route.withdrawalId, 'review_refused', result.rejection.code, {
      reason,
      explanation,
      message: result.rejection.message,
    });
    return 'conflict';
  }

  /** Records a finding in `payouts.conflicts` once per cause, with its metric and an error log. */
  async recordConflict(
    cause: RecordedEvent,
    withdrawalId: string | null,
    kind: string,
    code: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const recorded = await this.state.recordConflict({
      conflictId: `${kind}:${cause.id}`,
      withdrawalId,
      kind,
      code,
      causeEventId: cause.id,
      causePosition: cause.globalPosition,
      detail: { causeType: cause.type, ...detail },
    });
    if (recorded) {
      this.metrics.conflictsRecorded.inc({ kind });
      this.log('error', 'payout conflict recorded for a person', { withdrawalId, kind, code, causeEventId: cause.id, ...detail });
    }
  }

  private async withdrawalCommand(
    cause: Recorded,
    withdrawalId: string,
    seed: string,
    build: (metadata: CommandMetadata) => WithdrawalCommand,
  ): Promise<CommandResult> {
    return this.run(this.options.withdrawals, withdrawalId, {
      command: build(this.metadata()),
      eventIdSeed: seed,
      metadata: this.eventMetadata(cause),
    });
  }

  /**
   * One command through the per-stream queue. A rejection is returned, not thrown; an id
   * already taken by other content (ADR 0005) means an earlier run of this very step wrote
   * it, so it is a no-op.
   */
  private async run<Command>(
    commands: { execute(id: string, envelope: CommandEnvelope<Command>): Promise<{ events: readonly unknown[]; position: bigint }> },
    id: string,
    envelope: CommandEnvelope<Command>,
  ): Promise<CommandResult> {
    try {
      const outcome = await commands.execute(id, envelope);
      return outcome.events.length > 0 ? { kind: 'applied', position: outcome.position } : { kind: 'noop' };
    } catch (error) {
      if (isDomainRejection(error)) return { kind: 'rejected', rejection: error };
      if (error instanceof EventIdConflict) {
        this.log('warn', 'reaction step already written with other content; treated as done', {
          stream: error.streamName,
          eventId: error.eventId,
          seed: envelope.eventIdSeed,
        });
        return { kind: 'noop' };
      }
      throw error;
    }
  }

  private async routeOf(history: WithdrawalHistory): Promise<WithdrawalRoute> {
    const stored = await this.state.withdrawal(history.withdrawalId);
    if (stored !== null) return stored;
    // This table lost the row (restored, or created after the request): the latest attempt
    // carries the destination; the preferred channel is not worth a scan of the account.
    const latest = history.attempts().at(-1);
    if (latest === undefined) throw new MalformedEventData(`withdrawal ${history.withdrawalId} has neither a stored route nor an attempt`);
    return { ...factsRoute(history), destination: latest.initiated.data.destination, channelPreferred: null };
  }

  /** `WithdrawalRequested` is appended with `Debited`, one revision before it. */
  private async routeFromAccountStream(debited: Recorded<Debited>): Promise<WithdrawalRoute | null> {
    if (debited.streamRevision < 1n) return null;
    const [requested] = await this.store.readStream(accountStream(debited.data.accountId), {
      fromRevision: debited.streamRevision - 1n,
      maxCount: 1,
    });
    if (requested?.type !== 'WithdrawalRequested') return null;
    const typed = requested as Recorded<WithdrawalRequested>;
    if (typed.data.withdrawalId !== debited.data.withdrawalId) return null;
    const route = routeOf(typed);
    await this.state.recordWithdrawal(route, debited.id);
    return route;
  }

  private checkInterval(row: AttemptRow): number {
    const first = row.status === 'unknown' ? this.timers.unknownFirstCheckMs : this.timers.pendingFirstCheckMs;
    return Math.min(this.timers.checkIntervalMaxMs, first * 2 ** Math.min(row.checks + 1, 20));
  }

  private countPayout(channel: string, outcome: PayoutOutcomeLabel): void {
    this.options.paymentMetrics.recordPayout(channel, outcome);
  }

  private metadata(): CommandMetadata {
    return { now: this.clock().toISOString(), principal: PAYOUT_PROCESS_MANAGER_PRINCIPAL };
  }

  private eventMetadata(cause: RecordedEvent): EventMetadata {
    return {
      correlationId: cause.metadata.correlationId ?? cause.id,
      causationId: cause.id,
      // Inside the reaction's span (see the process manager) this names that span, so the
      // trace runs on from the causing event through this reaction to what it appends.
      ...(activeTraceparent(cause.metadata.traceparent) === undefined ? {} : { traceparent: activeTraceparent(cause.metadata.traceparent) }),
      principal: PAYOUT_PROCESS_MANAGER_PRINCIPAL,
    };
  }
}

const CALLBACK_OUTCOME_LABELS: Readonly<Record<ProviderCallbackReceived['data']['callbackType'], PayoutOutcomeLabel | null>> = {
  'payout.processing': null,
  'payout.settled': 'settled',
  'payout.failed': 'failed',
  'payout.returned': 'returned',
};

/** The business time of a withdrawal outcome: when it happened, not when we learned of it. */
function outcomeTime(event: Recorded<WithdrawalEvent>): string {
  const data = event.data as Partial<Record<'settledAt' | 'failedAt' | 'returnedAt' | 'cancelledAt' | 'resolvedAt', string>>;
  const time = data.settledAt ?? data.failedAt ?? data.returnedAt ?? data.cancelledAt ?? data.resolvedAt;
  if (time === undefined) throw new MalformedEventData(`${event.type} ${event.id} carries no time of its outcome`);
  return time;
}

function routeOf(event: Recorded<WithdrawalRequested>): WithdrawalRoute {
  return {
    withdrawalId: event.data.withdrawalId,
    accountId: event.data.accountId,
    amount: decodeAmount(event.data.amount),
    currency: event.data.currency,
    destination: event.data.destination,
    channelPreferred: event.data.channel,
  };
}

function factsRoute(history: WithdrawalHistory): Pick<WithdrawalRoute, 'withdrawalId' | 'accountId' | 'amount' | 'currency'> {
  const facts = history.state.facts;
  if (facts === null) throw new InvariantViolation(`withdrawal ${history.withdrawalId} has no facts`);
  return { withdrawalId: facts.withdrawalId, accountId: facts.accountId, amount: facts.amount, currency: facts.currency };
}

function describeAttempts(attempts: readonly AttemptSummary[]): string {
  return attempts
    .map(
      (attempt) =>
        `attempt ${attempt.attempt} on ${attempt.channel}` +
        (attempt.failureCode === null ? '' : ` failed (${attempt.failureCode}: ${attempt.failureReason ?? ''})`),
    )
    .join('; ');
}

function describeCallback(event: Recorded<ProviderCallbackReceived>): string {
  const { callbackType, attempt, channel, providerReference, webhookId } = event.data;
  return `${callbackType} callback for attempt ${attempt} from ${channel} (reference ${providerReference}, webhook ${webhookId})`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Free text the decider accepts: non-blank, at most TEXT_LENGTH_MAX characters. */
function text(value: string): string {
  const trimmed = value.trim() === '' ? 'no reason given' : value;
  return trimmed.length <= TEXT_LENGTH_MAX ? trimmed : `${trimmed.slice(0, TEXT_LENGTH_MAX - 1)}…`;
}
