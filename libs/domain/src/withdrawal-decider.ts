import type { ReturnDebit, ReverseDebit, SettleDebit } from './account-decider';
import {
  assertCommandMetadata,
  assertNever,
  requireChannel,
  requireEntityId,
  requireText,
  type CommandMetadata,
  type Decider,
  type DomainCommand,
} from './decider';
import { DomainRejection, InvariantViolation } from './errors';
import type {
  ManualReviewRequested,
  PayoutDestination,
  PayoutInitiated,
  WithdrawalCancelled,
  WithdrawalEvent,
} from './events';
import { AMOUNT_MAX, decodeAmount, encodeAmount, isCurrencyCode, type CurrencyCode } from './money';
import {
  canTransition,
  classifyTransition,
  enterStatus,
  REVIEW_DECISION_TARGETS,
  WITHDRAWAL_STATUS_TRACK_START,
  type WithdrawalStatusTrack,
} from './withdrawal-state-machine';
import { isReviewDecision, type ReviewDecision, type WithdrawalStatus } from './withdrawal-status';

/**
 * The withdrawal decider, stream `withdrawal-<withdrawalId>`: the payout's life with the
 * provider, following `WITHDRAWAL_TRANSITIONS`. It moves no money; the process manager turns
 * its outcomes into account commands (`holdCommandForWithdrawalEvent`).
 *
 * The stream starts when the process manager initiates the first payout attempt, or earlier
 * when the user cancels or a review is requested. Each of those three commands and events
 * carries the withdrawal's id, account, amount and currency, so the stream describes itself
 * whichever comes first; later ones must repeat the same facts (`withdrawal_facts_mismatch`).
 * An empty stream is status `requested`: the hold exists on the account stream.
 *
 * Two kinds of command:
 * - Intents (InitiatePayout, CancelWithdrawal, RequestManualReview, ResolveManualReview)
 *   must be legal now or are rejected.
 * - Provider facts (RecordPayoutSubmitted, RecordOutcomeUnknown, RecordSettlement,
 *   RecordPayoutFailure, RecordPayoutReturned) report what already happened outside and may
 *   arrive late or twice. A stale or duplicate fact (see `classifyTransition`) yields NO
 *   events: the raw callback is recorded by the API, the state is not changed. A
 *   contradicting fact (a settlement after a failure) is rejected with `illegal_transition`
 *   so the caller raises it instead of dropping it.
 *
 * Attempts: `PayoutInitiated` numbers attempts from 1, and every provider fact names the
 * attempt it is about (the process manager knows it from the idempotency key it sent). A
 * `retry` review decision supersedes every attempt so far: the operator has established
 * they did not pay. A late failure or timeout of a superseded attempt is stale; a late
 * settlement or return of one contradicts the operator and is `illegal_transition`.
 */

/**
 * Attempts that may fail without paying before a person must look (ARCHITECTURE.md §6:
 * "after three failed attempts the withdrawal goes to manual review"). A `retry` review
 * decision starts a new count.
 */
export const MAX_AUTOMATIC_PAYOUT_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

/** The facts a stream-starting command carries; they must match the stream's once recorded. */
export interface WithdrawalFactsInput {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: string;
}

export type InitiatePayout = DomainCommand<
  'InitiatePayout',
  WithdrawalFactsInput & { readonly channel: string; readonly destination: PayoutDestination }
>;

export type RecordPayoutSubmitted = DomainCommand<
  'RecordPayoutSubmitted',
  { readonly attempt: number; readonly providerReference: string }
>;

export type RecordOutcomeUnknown = DomainCommand<
  'RecordOutcomeUnknown',
  { readonly attempt: number; readonly reason: string }
>;

/**
 * The attempt ended without the provider holding the payout (refused, or not found by a
 * status query). Only the process manager sends it, and only with that proof in hand.
 */
export type RecordPayoutAttemptFailed = DomainCommand<
  'RecordPayoutAttemptFailed',
  { readonly attempt: number; readonly code: string; readonly reason: string }
>;

export type RecordSettlement = DomainCommand<
  'RecordSettlement',
  { readonly attempt: number; readonly providerReference: string | null }
>;

export type RecordPayoutFailure = DomainCommand<
  'RecordPayoutFailure',
  { readonly attempt: number; readonly providerReference: string | null; readonly reason: string }
>;

export type CancelWithdrawal = DomainCommand<'CancelWithdrawal', WithdrawalFactsInput & { readonly reason: string }>;

export type RequestManualReview = DomainCommand<
  'RequestManualReview',
  WithdrawalFactsInput & { readonly reason: string }
>;

/** The deciding operator is `metadata.principal`; it is stored as `resolvedBy`. */
export type ResolveManualReview = DomainCommand<
  'ResolveManualReview',
  { readonly decision: ReviewDecision; readonly reason: string }
>;

export type RecordPayoutReturned = DomainCommand<
  'RecordPayoutReturned',
  { readonly attempt: number; readonly providerReference: string | null; readonly reason: string }
>;

export type WithdrawalCommand =
  | InitiatePayout
  | RecordPayoutSubmitted
  | RecordOutcomeUnknown
  | RecordPayoutAttemptFailed
  | RecordSettlement
  | RecordPayoutFailure
  | CancelWithdrawal
  | RequestManualReview
  | ResolveManualReview
  | RecordPayoutReturned;

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

export interface WithdrawalFacts {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
}

export interface WithdrawalState extends WithdrawalStatusTrack {
  /** Null until the stream's first event. */
  readonly facts: WithdrawalFacts | null;
  /** The number of the latest payout attempt; 0 before the first. */
  readonly attempt: number;
  /** Attempts 1..attemptsSuperseded were abandoned: failed without paying, or by a `retry` review decision. */
  readonly attemptsSuperseded: number;
  /** `PayoutAttemptFailed` events since the stream began or the last `retry` review decision. */
  readonly attemptsFailed: number;
  /** The channel of the latest attempt. */
  readonly channel: string | null;
  /** The provider's name for the latest attempt, once known. */
  readonly providerReference: string | null;
  /** While in manual review, the status it came from. */
  readonly reviewFromStatus: WithdrawalStatus | null;
}

export function initialWithdrawalState(): WithdrawalState {
  return {
    ...WITHDRAWAL_STATUS_TRACK_START,
    facts: null,
    attempt: 0,
    attemptsSuperseded: 0,
    attemptsFailed: 0,
    channel: null,
    providerReference: null,
    reviewFromStatus: null,
  };
}

// ---------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------

export function decideWithdrawal(command: WithdrawalCommand, state: WithdrawalState): WithdrawalEvent[] {
  assertCommandMetadata(command.metadata);
  const now = command.metadata.now;
  switch (command.type) {
    case 'InitiatePayout':
      return initiatePayout(command, state);
    case 'RecordPayoutSubmitted':
      return recordPayoutSubmitted(command, state);
    case 'RecordOutcomeUnknown': {
      requireText(command.data.reason, 'reason');
      return decideProviderFact(state, 'unknown', command.data.attempt, null, (live) => ({
        type: 'PayoutOutcomeUnknown',
        data: { ...live, reason: command.data.reason, detectedAt: now },
      }));
    }
    case 'RecordPayoutAttemptFailed':
      return recordPayoutAttemptFailed(command, state);
    case 'RecordSettlement': {
      const { providerReference } = command.data;
      if (providerReference !== null) requireText(providerReference, 'providerReference');
      return decideProviderFact(state, 'settled', command.data.attempt, providerReference, (live) => ({
        type: 'Settled',
        data: { ...live, providerReference: providerReference ?? state.providerReference, settledAt: now },
      }));
    }
    case 'RecordPayoutFailure': {
      const { providerReference, reason } = command.data;
      if (providerReference !== null) requireText(providerReference, 'providerReference');
      requireText(reason, 'reason');
      return decideProviderFact(state, 'failed', command.data.attempt, providerReference, (live) => ({
        type: 'PayoutFailed',
        data: { ...live, providerReference: providerReference ?? state.providerReference, reason, failedAt: now },
      }));
    }
    case 'RecordPayoutReturned': {
      const { providerReference, reason } = command.data;
      if (providerReference !== null) requireText(providerReference, 'providerReference');
      requireText(reason, 'reason');
      return decideProviderFact(state, 'returned', command.data.attempt, providerReference, (live) => ({
        type: 'PayoutReturned',
        data: { ...live, providerReference: providerReference ?? state.providerReference, reason, returnedAt: now },
      }));
    }
    case 'CancelWithdrawal':
      return cancelWithdrawal(command, state);
    case 'RequestManualReview':
      return requestManualReview(command, state);
    case 'ResolveManualReview':
      return resolveManualReview(command, state);
    default:
      return assertNever(command, 'withdrawal command');
  }
}

function initiatePayout(command: InitiatePayout, state: WithdrawalState): WithdrawalEvent[] {
  const facts = requireFacts(command.data, state);
  const { channel, destination } = command.data;
  requireChannel(channel);
  requireDestination(destination);
  if (state.status !== 'requested') throw illegalTransition(state.status, 'processing');
  if (state.attemptsFailed >= MAX_AUTOMATIC_PAYOUT_ATTEMPTS) {
    throw new DomainRejection(
      'payout_attempts_exhausted',
      `${state.attemptsFailed} payout attempts failed; a person must review the withdrawal before the next`,
      { attemptsFailed: state.attemptsFailed, attemptLatest: state.attempt },
    );
  }
  return [
    {
      type: 'PayoutInitiated',
      data: {
        ...encodeFacts(facts),
        channel,
        destination,
        attempt: state.attempt + 1,
        initiatedAt: command.metadata.now,
      },
    },
  ];
}

function recordPayoutSubmitted(command: RecordPayoutSubmitted, state: WithdrawalState): WithdrawalEvent[] {
  const { attempt, providerReference } = command.data;
  requireText(providerReference, 'providerReference');
  const live = requireLiveAttempt(state, 'processing', attempt);
  if (live === 'superseded') return [];
  if (state.status === 'processing') {
    if (state.providerReference === null) {
      return [
        {
          type: 'PayoutSubmitted',
          data: { ...live, providerReference, submittedAt: command.metadata.now },
        },
      ];
    }
    if (state.providerReference === providerReference) return [];
    throw providerReferenceMismatch(state.providerReference, providerReference);
  }
  // An acknowledgement after the attempt moved on (timed out, settled, failed, in review)
  // is late news: the attempt was in flight, so `classifyTransition` calls it stale.
  if (classifyTransition(state.status, 'processing', state.statusesVisited) !== 'ignore_stale') {
    throw illegalTransition(state.status, 'processing');
  }
  return [];
}

/**
 * An attempt that failed without paying. Stale when the attempt was already superseded or the
 * same failure was recorded; a contradiction when the attempt reached an outcome (settled,
 * failed) or is in review, because then "not paid" is no longer ours to conclude.
 */
function recordPayoutAttemptFailed(command: RecordPayoutAttemptFailed, state: WithdrawalState): WithdrawalEvent[] {
  const { attempt, code, reason } = command.data;
  requireText(code, 'code');
  requireText(reason, 'reason');
  const live = requireLiveAttempt(state, 'requested', attempt);
  if (live === 'superseded') return [];
  if (state.status !== 'processing' && state.status !== 'unknown') throw illegalTransition(state.status, 'requested');
  return [{ type: 'PayoutAttemptFailed', data: { ...live, code, reason, failedAt: command.metadata.now } }];
}

/** What every provider-fact event repeats about the attempt it reports. */
interface LiveAttempt {
  readonly withdrawalId: string;
  readonly channel: string;
  readonly attempt: number;
}

/**
 * The common rule for provider facts: find the attempt, drop stale reports, refuse
 * contradictions and references that name another payout, then build the event.
 */
function decideProviderFact(
  state: WithdrawalState,
  to: WithdrawalStatus,
  attempt: number,
  providerReference: string | null,
  build: (live: LiveAttempt) => WithdrawalEvent,
): WithdrawalEvent[] {
  const live = requireLiveAttempt(state, to, attempt);
  if (live === 'superseded') return [];
  const verdict = classifyTransition(state.status, to, state.statusesVisited);
  if (verdict === 'ignore_stale') return [];
  if (verdict === 'illegal') throw illegalTransition(state.status, to);
  if (providerReference !== null && state.providerReference !== null && providerReference !== state.providerReference) {
    throw providerReferenceMismatch(state.providerReference, providerReference);
  }
  return [build(live)];
}

/**
 * The attempt a provider fact names, if it is the live one; 'superseded' when a retry
 * abandoned it and the report is harmless. Reports of money paid by a superseded attempt
 * contradict the review and are refused.
 */
function requireLiveAttempt(state: WithdrawalState, to: WithdrawalStatus, attempt: number): LiveAttempt | 'superseded' {
  const initiated = Number.isSafeInteger(attempt) && attempt >= 1 && attempt <= state.attempt;
  if (!initiated || state.facts === null || state.channel === null) {
    throw new DomainRejection('attempt_not_initiated', `payout attempt ${String(attempt)} was never initiated`, {
      attempt: Number.isSafeInteger(attempt) ? attempt : null,
      attemptLatest: state.attempt,
      status: state.status,
    });
  }
  if (attempt <= state.attemptsSuperseded) {
    if (to === 'settled' || to === 'returned') {
      throw new DomainRejection(
        'illegal_transition',
        `attempt ${attempt} was superseded by a retry decision, yet reports ${to}`,
        { from: state.status, to, attempt, attemptLatest: state.attempt, attemptsSuperseded: state.attemptsSuperseded },
      );
    }
    return 'superseded';
  }
  return { withdrawalId: state.facts.withdrawalId, channel: state.channel, attempt };
}

function cancelWithdrawal(command: CancelWithdrawal, state: WithdrawalState): WithdrawalEvent[] {
  const facts = requireFacts(command.data, state);
  requireText(command.data.reason, 'reason');
  if (!canTransition(state.status, 'cancelled')) {
    throw new DomainRejection(
      'withdrawal_not_cancellable',
      `a withdrawal can be cancelled only before its payout starts; it is ${state.status}`,
      { withdrawalId: facts.withdrawalId, status: state.status },
    );
  }
  return [
    {
      type: 'WithdrawalCancelled',
      data: {
        ...encodeFacts(facts),
        reason: command.data.reason,
        cancelledAt: command.metadata.now,
        cancelledBy: command.metadata.principal,
      },
    },
  ];
}

function requestManualReview(command: RequestManualReview, state: WithdrawalState): WithdrawalEvent[] {
  const facts = requireFacts(command.data, state);
  requireText(command.data.reason, 'reason');
  if (!canTransition(state.status, 'manual_review')) throw illegalTransition(state.status, 'manual_review');
  return [
    {
      type: 'ManualReviewRequested',
      data: {
        ...encodeFacts(facts),
        fromStatus: state.status,
        reason: command.data.reason,
        requestedAt: command.metadata.now,
        requestedBy: command.metadata.principal,
      },
    },
  ];
}

function resolveManualReview(command: ResolveManualReview, state: WithdrawalState): WithdrawalEvent[] {
  const { decision, reason } = command.data;
  if (state.status !== 'manual_review' || state.facts === null || state.reviewFromStatus === null) {
    throw new DomainRejection('withdrawal_not_in_review', `the withdrawal is ${state.status}, not in manual review`, {
      status: state.status,
    });
  }
  if (!isReviewDecision(decision)) {
    throw new DomainRejection('review_decision_not_allowed', 'decision must be retry, fail or settled', {
      decision: String(decision),
    });
  }
  requireText(reason, 'reason');
  // Settling needs a payout that could have paid: its channel receives the money in the
  // ledger. With no live attempt the operator fails or retries instead.
  if (decision === 'settled' && state.attempt <= state.attemptsSuperseded) {
    throw new DomainRejection('review_decision_not_allowed', 'settled needs a payout attempt that could have paid', {
      decision,
      attemptLatest: state.attempt,
      attemptsSuperseded: state.attemptsSuperseded,
    });
  }
  const toStatus = REVIEW_DECISION_TARGETS[decision];
  if (!canTransition(state.status, toStatus)) throw illegalTransition(state.status, toStatus);
  return [
    {
      type: 'ManualReviewResolved',
      data: {
        withdrawalId: state.facts.withdrawalId,
        decision,
        fromStatus: state.reviewFromStatus,
        toStatus,
        reason,
        resolvedAt: command.metadata.now,
        resolvedBy: command.metadata.principal,
      },
    },
  ];
}

/** Validates the facts of a stream-starting command, or checks them against the recorded ones. */
function requireFacts(input: WithdrawalFactsInput, state: WithdrawalState): WithdrawalFacts {
  if (state.facts !== null) {
    const recorded = state.facts;
    const field =
      input.withdrawalId !== recorded.withdrawalId
        ? 'withdrawalId'
        : input.accountId !== recorded.accountId
          ? 'accountId'
          : input.amount !== recorded.amount
            ? 'amount'
            : input.currency !== recorded.currency
              ? 'currency'
              : null;
    if (field !== null) {
      throw new DomainRejection(
        'withdrawal_facts_mismatch',
        `${field} differs from the withdrawal's recorded ${field}`,
        { field },
      );
    }
    return recorded;
  }
  requireEntityId(input.withdrawalId, 'withdrawalId');
  requireEntityId(input.accountId, 'accountId');
  if (typeof input.amount !== 'bigint' || input.amount <= 0n) {
    throw new DomainRejection('amount_must_be_positive', 'the amount must be greater than zero', {
      amount: String(input.amount),
    });
  }
  if (input.amount > AMOUNT_MAX) {
    throw new DomainRejection('amount_exceeds_max', `an amount must not exceed ${AMOUNT_MAX.toString()}`, {
      amount: input.amount.toString(),
    });
  }
  if (!isCurrencyCode(input.currency)) {
    throw new DomainRejection('unsupported_currency', `currency ${String(input.currency)} is not supported`, {
      currency: String(input.currency),
    });
  }
  return {
    withdrawalId: input.withdrawalId,
    accountId: input.accountId,
    amount: input.amount,
    currency: input.currency,
  };
}

function requireDestination(destination: PayoutDestination): void {
  if (destination.type !== 'bank_account') {
    throw new DomainRejection('field_required', 'destination.type must be bank_account', { field: 'destination.type' });
  }
  requireText(destination.accountNumber, 'destination.accountNumber');
  requireText(destination.bankCode, 'destination.bankCode');
  requireText(destination.holderName, 'destination.holderName');
}

function encodeFacts(facts: WithdrawalFacts): {
  withdrawalId: string;
  accountId: string;
  amount: string;
  currency: CurrencyCode;
} {
  return {
    withdrawalId: facts.withdrawalId,
    accountId: facts.accountId,
    amount: encodeAmount(facts.amount),
    currency: facts.currency,
  };
}

function illegalTransition(from: WithdrawalStatus, to: WithdrawalStatus): DomainRejection {
  return new DomainRejection('illegal_transition', `a withdrawal cannot move from ${from} to ${to}`, { from, to });
}

function providerReferenceMismatch(recorded: string, reported: string): DomainRejection {
  return new DomainRejection(
    'provider_reference_mismatch',
    'the provider reference differs from the one recorded for this attempt',
    { providerReferenceRecorded: recorded, providerReferenceReported: reported },
  );
}

// ---------------------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------------------

/**
 * Folds one recorded event into the withdrawal state without mutating the input. Every
 * status change is checked against `WITHDRAWAL_TRANSITIONS`; a recorded illegal move means a
 * corrupt stream and throws `InvariantViolation`.
 */
export function evolveWithdrawal(state: WithdrawalState, event: WithdrawalEvent): WithdrawalState {
  switch (event.type) {
    case 'PayoutInitiated': {
      if (event.data.attempt !== state.attempt + 1) throw corrupt(event, `attempt ${state.attempt + 1} was expected`);
      return {
        ...moveTo(withFacts(state, event), event, 'processing'),
        attempt: event.data.attempt,
        channel: event.data.channel,
        providerReference: null,
      };
    }
    case 'PayoutSubmitted':
      if (state.status !== 'processing' || event.data.attempt !== state.attempt || state.providerReference !== null) {
        throw corrupt(event, 'no attempt awaits a provider reference');
      }
      return { ...state, providerReference: event.data.providerReference };
    case 'PayoutOutcomeUnknown':
      return moveTo(state, event, 'unknown');
    case 'PayoutAttemptFailed':
      if (event.data.attempt !== state.attempt) throw corrupt(event, `attempt ${state.attempt} is the live one`);
      return {
        ...moveTo(state, event, 'requested'),
        attemptsSuperseded: event.data.attempt,
        attemptsFailed: state.attemptsFailed + 1,
        providerReference: null,
      };
    case 'Settled':
      return {
        ...moveTo(state, event, 'settled'),
        providerReference: event.data.providerReference ?? state.providerReference,
        reviewFromStatus: null,
      };
    case 'PayoutFailed':
      return { ...moveTo(state, event, 'failed'), reviewFromStatus: null };
    case 'WithdrawalCancelled':
      return moveTo(withFacts(state, event), event, 'cancelled');
    case 'ManualReviewRequested':
      return { ...moveTo(withFacts(state, event), event, 'manual_review'), reviewFromStatus: state.status };
    case 'ManualReviewResolved': {
      if (event.data.toStatus !== REVIEW_DECISION_TARGETS[event.data.decision]) {
        throw corrupt(event, `decision ${event.data.decision} does not lead to ${event.data.toStatus}`);
      }
      const resolved = { ...moveTo(state, event, event.data.toStatus), reviewFromStatus: null };
      return event.data.decision === 'retry'
        ? { ...resolved, attemptsSuperseded: state.attempt, attemptsFailed: 0, providerReference: null }
        : resolved;
    }
    case 'PayoutReturned':
      return moveTo(state, event, 'returned');
    default:
      return assertNever(event, 'withdrawal event');
  }
}

function moveTo(state: WithdrawalState, event: WithdrawalEvent, to: WithdrawalStatus): WithdrawalState {
  if (!canTransition(state.status, to)) throw corrupt(event, `illegal move from ${state.status} to ${to}`);
  return { ...state, ...enterStatus(state, to) };
}

/** Records the facts a stream-starting event carries, or checks them against the recorded ones. */
function withFacts(
  state: WithdrawalState,
  event: PayoutInitiated | WithdrawalCancelled | ManualReviewRequested,
): WithdrawalState {
  const facts: WithdrawalFacts = {
    withdrawalId: event.data.withdrawalId,
    accountId: event.data.accountId,
    amount: decodeAmount(event.data.amount),
    currency: event.data.currency,
  };
  if (state.facts === null) return { ...state, facts };
  const recorded = state.facts;
  if (
    recorded.withdrawalId !== facts.withdrawalId ||
    recorded.accountId !== facts.accountId ||
    recorded.amount !== facts.amount ||
    recorded.currency !== facts.currency
  ) {
    throw corrupt(event, 'its facts differ from the recorded ones');
  }
  return state;
}

function corrupt(event: WithdrawalEvent, why: string): InvariantViolation {
  return new InvariantViolation(`cannot apply ${event.type} to the withdrawal: ${why}`);
}

export const withdrawalDecider: Decider<WithdrawalState, WithdrawalCommand, WithdrawalEvent> = {
  decide: decideWithdrawal,
  evolve: evolveWithdrawal,
  initialState: initialWithdrawalState,
};

// ---------------------------------------------------------------------------------------
// The process manager's money rule
// ---------------------------------------------------------------------------------------

export interface HoldCommand {
  /** The account stream to send the command to. */
  readonly accountId: string;
  readonly command: SettleDebit | ReverseDebit | ReturnDebit;
}

/**
 * The account command a withdrawal event calls for, or null. This is the single place that
 * maps payout outcomes to money, so each outcome moves money exactly once:
 *
 *   Settled, ManualReviewResolved(settled)      -> SettleDebit  (pending -> payouts:settled)
 *   PayoutFailed, ManualReviewResolved(fail)    -> ReverseDebit (pending -> available)
 *   WithdrawalCancelled                         -> ReverseDebit (pending -> available)
 *   PayoutReturned                              -> ReturnDebit  (payouts:settled -> available)
 *
 * The account decider refuses a second resolution of the same hold, so a replayed reaction
 * cannot move money twice. `stateAfter` is the withdrawal state with the event applied.
 */
export function holdCommandForWithdrawalEvent(
  event: WithdrawalEvent,
  stateAfter: WithdrawalState,
  metadata: CommandMetadata,
): HoldCommand | null {
  const facts = stateAfter.facts;
  if (facts === null) return null;
  const { withdrawalId, accountId } = facts;
  const settle = (channel: string): HoldCommand => ({
    accountId,
    command: { type: 'SettleDebit', data: { withdrawalId, channel }, metadata },
  });
  const reverse = (reason: ReverseDebit['data']['reason']): HoldCommand => ({
    accountId,
    command: { type: 'ReverseDebit', data: { withdrawalId, reason }, metadata },
  });
  switch (event.type) {
    case 'Settled':
      return settle(event.data.channel);
    case 'PayoutFailed':
      return reverse('payout_failed');
    case 'WithdrawalCancelled':
      return reverse('withdrawal_cancelled');
    case 'ManualReviewResolved':
      if (event.data.decision === 'settled') {
        if (stateAfter.channel === null) {
          throw new InvariantViolation('a settled review needs the channel of an attempt');
        }
        return settle(stateAfter.channel);
      }
      return event.data.decision === 'fail' ? reverse('review_failed') : null;
    case 'PayoutReturned':
      return {
        accountId,
        command: { type: 'ReturnDebit', data: { withdrawalId, reason: event.data.reason }, metadata },
      };
    case 'PayoutInitiated':
    case 'PayoutSubmitted':
    case 'PayoutOutcomeUnknown':
    case 'PayoutAttemptFailed':
    case 'ManualReviewRequested':
      return null;
    default:
      return assertNever(event, 'withdrawal event');
  }
}
