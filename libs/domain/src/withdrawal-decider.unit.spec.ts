import { foldEvents } from './decider';
import { DomainRejection, InvariantViolation, type RejectionCode } from './errors';
import type {
  ManualReviewRequested,
  PayoutAttemptFailed,
  PayoutFailed,
  PayoutInitiated,
  PayoutDestination,
  PayoutOutcomeUnknown,
  PayoutReturned,
  PayoutSubmitted,
  Settled,
  WithdrawalCancelled,
  WithdrawalEvent,
} from './events';
import { DeciderSpecification } from './testing/decider-specification';
import { destination, metadata, NOW, operator } from './testing/fixtures';
import {
  holdCommandForWithdrawalEvent,
  withdrawalDecider,
  type WithdrawalCommand,
  type WithdrawalFactsInput,
  type WithdrawalState,
} from './withdrawal-decider';
import type { WithdrawalStatus } from './withdrawal-status';

const spec = DeciderSpecification.for(withdrawalDecider);

const facts: WithdrawalFactsInput = { withdrawalId: 'wd-1', accountId: 'acc-1', amount: 2_500n, currency: 'USD' };
const factsData = { withdrawalId: 'wd-1', accountId: 'acc-1', amount: '2500', currency: 'USD' } as const;

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

const initiated = (attempt = 1, channel = 'sandbox'): PayoutInitiated => ({
  type: 'PayoutInitiated',
  data: { ...factsData, channel, destination, attempt, initiatedAt: NOW },
});

const submitted = (attempt = 1, providerReference = 'prov-1'): PayoutSubmitted => ({
  type: 'PayoutSubmitted',
  data: { withdrawalId: 'wd-1', channel: 'sandbox', attempt, providerReference, submittedAt: NOW },
});

const outcomeUnknown: PayoutOutcomeUnknown = {
  type: 'PayoutOutcomeUnknown',
  data: { withdrawalId: 'wd-1', channel: 'sandbox', attempt: 1, reason: 'timeout after 30s', detectedAt: NOW },
};

const settled = (providerReference: string | null = 'prov-1'): Settled => ({
  type: 'Settled',
  data: { withdrawalId: 'wd-1', channel: 'sandbox', attempt: 1, providerReference, settledAt: NOW },
});

const failed: PayoutFailed = {
  type: 'PayoutFailed',
  data: {
    withdrawalId: 'wd-1',
    channel: 'sandbox',
    attempt: 1,
    providerReference: null,
    reason: 'account closed',
    failedAt: NOW,
  },
};

const cancelled: WithdrawalCancelled = {
  type: 'WithdrawalCancelled',
  data: { ...factsData, reason: 'changed my mind', cancelledAt: NOW, cancelledBy: 'api-key:test' },
};

const reviewRequested = (fromStatus: WithdrawalStatus): ManualReviewRequested => ({
  type: 'ManualReviewRequested',
  data: { ...factsData, fromStatus, reason: 'three failed attempts', requestedAt: NOW, requestedBy: 'api-key:test' },
});

const returned: PayoutReturned = {
  type: 'PayoutReturned',
  data: {
    withdrawalId: 'wd-1',
    channel: 'sandbox',
    attempt: 1,
    providerReference: 'prov-1',
    reason: 'beneficiary account closed',
    returnedAt: NOW,
  },
};

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

const initiate = (
  data: Partial<WithdrawalFactsInput & { channel: string; destination: PayoutDestination }> = {},
): WithdrawalCommand => ({
  type: 'InitiatePayout',
  data: { ...facts, channel: 'sandbox', destination, ...data },
  metadata,
});
const submit = (attempt = 1, providerReference = 'prov-1'): WithdrawalCommand => ({
  type: 'RecordPayoutSubmitted',
  data: { attempt, providerReference },
  metadata,
});
const attemptFailed = (attempt = 1, code = 'rejected'): WithdrawalCommand => ({
  type: 'RecordPayoutAttemptFailed',
  data: { attempt, code, reason: 'the provider refused the payout' },
  metadata,
});
const attemptFailedEvent = (attempt = 1, channel = 'sandbox', code = 'rejected'): PayoutAttemptFailed => ({
  type: 'PayoutAttemptFailed',
  data: { withdrawalId: 'wd-1', channel, attempt, code, reason: 'the provider refused the payout', failedAt: NOW },
});
const timeout = (attempt = 1): WithdrawalCommand => ({
  type: 'RecordOutcomeUnknown',
  data: { attempt, reason: 'timeout after 30s' },
  metadata,
});
const settle = (attempt = 1, providerReference: string | null = 'prov-1'): WithdrawalCommand => ({
  type: 'RecordSettlement',
  data: { attempt, providerReference },
  metadata,
});
const fail = (attempt = 1, providerReference: string | null = null): WithdrawalCommand => ({
  type: 'RecordPayoutFailure',
  data: { attempt, providerReference, reason: 'account closed' },
  metadata,
});
const cancel = (data: Partial<WithdrawalFactsInput> = {}): WithdrawalCommand => ({
  type: 'CancelWithdrawal',
  data: { ...facts, reason: 'changed my mind', ...data },
  metadata,
});
const review = (data: Partial<WithdrawalFactsInput> = {}): WithdrawalCommand => ({
  type: 'RequestManualReview',
  data: { ...facts, reason: 'three failed attempts', ...data },
  metadata,
});
const resolve = (decision: 'retry' | 'fail' | 'settled', reason = 'checked with the bank'): WithdrawalCommand => ({
  type: 'ResolveManualReview',
  data: { decision, reason },
  metadata: operator,
});
const returnPayout = (attempt = 1, providerReference: string | null = 'prov-1'): WithdrawalCommand => ({
  type: 'RecordPayoutReturned',
  data: { attempt, providerReference, reason: 'beneficiary account closed' },
  metadata,
});

const statusOf = (events: readonly WithdrawalEvent[]): WithdrawalStatus => foldEvents(withdrawalDecider, events).status;

// ---------------------------------------------------------------------------------------
// The exhaustive matrix: every status the withdrawal stream can be in, every command.
// ---------------------------------------------------------------------------------------

/** A history that leaves the withdrawal in each status (`reversed` is reached on the account stream). */
const HISTORIES: { readonly [Status in Exclude<WithdrawalStatus, 'reversed'>]: readonly WithdrawalEvent[] } = {
  requested: [],
  processing: [initiated()],
  unknown: [initiated(), outcomeUnknown],
  settled: [initiated(), submitted(), settled()],
  failed: [initiated(), failed],
  cancelled: [cancelled],
  returned: [initiated(), settled(), returned],
  manual_review: [initiated(), reviewRequested('processing')],
};

const COMMANDS = {
  initiate: { command: initiate(), to: 'processing' },
  submit: { command: submit(), to: 'processing' },
  timeout: { command: timeout(), to: 'unknown' },
  attemptFailed: { command: attemptFailed(), to: 'requested' },
  settle: { command: settle(), to: 'settled' },
  fail: { command: fail(), to: 'failed' },
  cancel: { command: cancel(), to: 'cancelled' },
  review: { command: review(), to: 'manual_review' },
  resolveRetry: { command: resolve('retry'), to: 'requested' },
  resolveFail: { command: resolve('fail'), to: 'failed' },
  resolveSettled: { command: resolve('settled'), to: 'settled' },
  return: { command: returnPayout(), to: 'returned' },
} as const satisfies Record<string, { command: WithdrawalCommand; to: WithdrawalStatus }>;

type Outcome = 'emit' | 'ignore' | RejectionCode;

/**
 * Written out by hand from the rules, not computed: `emit` means the command appends one
 * event and the status becomes the command's target; `ignore` means a stale or duplicate
 * provider fact (no event); a code means rejected with no event.
 */
const EXPECTED: { readonly [Status in keyof typeof HISTORIES]: { readonly [Name in keyof typeof COMMANDS]: Outcome } } = {
  requested: {
    initiate: 'emit',
    submit: 'attempt_not_initiated',
    timeout: 'attempt_not_initiated',
    attemptFailed: 'attempt_not_initiated',
    settle: 'attempt_not_initiated',
    fail: 'attempt_not_initiated',
    cancel: 'emit',
    review: 'emit',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'attempt_not_initiated',
  },
  processing: {
    initiate: 'illegal_transition',
    submit: 'emit',
    timeout: 'emit',
    attemptFailed: 'emit',
    settle: 'emit',
    fail: 'emit',
    cancel: 'withdrawal_not_cancellable',
    review: 'emit',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'illegal_transition',
  },
  unknown: {
    initiate: 'illegal_transition',
    submit: 'ignore',
    timeout: 'ignore',
    attemptFailed: 'emit',
    settle: 'emit',
    fail: 'emit',
    cancel: 'withdrawal_not_cancellable',
    review: 'emit',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'illegal_transition',
  },
  settled: {
    initiate: 'illegal_transition',
    submit: 'ignore',
    timeout: 'ignore',
    attemptFailed: 'illegal_transition',
    settle: 'ignore',
    fail: 'illegal_transition',
    cancel: 'withdrawal_not_cancellable',
    review: 'illegal_transition',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'emit',
  },
  failed: {
    initiate: 'illegal_transition',
    submit: 'ignore',
    timeout: 'ignore',
    attemptFailed: 'illegal_transition',
    settle: 'illegal_transition',
    fail: 'ignore',
    cancel: 'withdrawal_not_cancellable',
    review: 'illegal_transition',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'illegal_transition',
  },
  cancelled: {
    initiate: 'illegal_transition',
    submit: 'attempt_not_initiated',
    timeout: 'attempt_not_initiated',
    attemptFailed: 'attempt_not_initiated',
    settle: 'attempt_not_initiated',
    fail: 'attempt_not_initiated',
    cancel: 'withdrawal_not_cancellable',
    review: 'illegal_transition',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'attempt_not_initiated',
  },
  returned: {
    initiate: 'illegal_transition',
    submit: 'ignore',
    timeout: 'ignore',
    attemptFailed: 'illegal_transition',
    settle: 'ignore',
    fail: 'illegal_transition',
    cancel: 'withdrawal_not_cancellable',
    review: 'illegal_transition',
    resolveRetry: 'withdrawal_not_in_review',
    resolveFail: 'withdrawal_not_in_review',
    resolveSettled: 'withdrawal_not_in_review',
    return: 'ignore',
  },
  manual_review: {
    initiate: 'illegal_transition',
    submit: 'ignore',
    timeout: 'ignore',
    attemptFailed: 'illegal_transition',
    settle: 'emit',
    fail: 'emit',
    cancel: 'withdrawal_not_cancellable',
    review: 'illegal_transition',
    resolveRetry: 'emit',
    resolveFail: 'emit',
    resolveSettled: 'emit',
    return: 'illegal_transition',
  },
};

const MATRIX = (Object.keys(HISTORIES) as Array<keyof typeof HISTORIES>).flatMap((from) =>
  (Object.keys(COMMANDS) as Array<keyof typeof COMMANDS>).map((name) => [from, name, EXPECTED[from][name]] as const),
);

describe('the withdrawal decider over every status and command', () => {
  it('starts every history in the status it is named for', () => {
    for (const [status, history] of Object.entries(HISTORIES)) expect(statusOf(history)).toBe(status);
  });

  it.each(MATRIX)('in %s, %s -> %s', (from, name, expected) => {
    const history = HISTORIES[from];
    const { command, to } = COMMANDS[name];
    const state = foldEvents(withdrawalDecider, history);
    if (expected === 'emit') {
      const events = withdrawalDecider.decide(command, state);
      expect(events).toHaveLength(1);
      const after = foldEvents(withdrawalDecider, events, state);
      // PayoutSubmitted records the provider's reference inside `processing`.
      expect(after.status).toBe(to);
    } else if (expected === 'ignore') {
      expect(withdrawalDecider.decide(command, state)).toEqual([]);
    } else {
      spec.given(history).when(command).thenThrows(expected);
    }
  });

  it('emits a legal move or nothing, for every cell', () => {
    for (const [from, name] of MATRIX) {
      const state = foldEvents(withdrawalDecider, HISTORIES[from]);
      let events: WithdrawalEvent[] = [];
      try {
        events = withdrawalDecider.decide(COMMANDS[name].command, state);
      } catch (error) {
        expect(error).toBeInstanceOf(DomainRejection);
      }
      // `evolve` checks every status change against the table and throws on an illegal one.
      expect(() => foldEvents(withdrawalDecider, events, state)).not.toThrow();
    }
  });
});

// ---------------------------------------------------------------------------------------
// Every command, with its events and every rejection.
// ---------------------------------------------------------------------------------------

describe('InitiatePayout', () => {
  it('starts the stream with the withdrawal facts and attempt 1', () => {
    const state = spec.given([]).when(initiate()).then([initiated()]);
    expect(state).toMatchObject({ status: 'processing', attempt: 1, channel: 'sandbox', facts: facts });
  });

  it('starts attempt 2 after a retry decision, on another channel if routing says so', () => {
    spec
      .given([initiated(), reviewRequested('processing'), resolvedEvent('retry', 'processing')])
      .when(initiate({ channel: 'backup' }))
      .then([initiated(2, 'backup')]);
  });

  it('rejects facts that differ from the recorded ones', () => {
    const history = [initiated(), reviewRequested('processing'), resolvedEvent('retry', 'processing')];
    const mismatches: Array<[Partial<WithdrawalFactsInput>, string]> = [
      [{ amount: 2_501n }, 'amount'],
      [{ accountId: 'acc-2' }, 'accountId'],
      [{ currency: 'EUR' }, 'currency'],
      [{ withdrawalId: 'wd-2' }, 'withdrawalId'],
    ];
    for (const [changed, field] of mismatches) {
      spec.given(history).when(initiate(changed)).thenThrows('withdrawal_facts_mismatch', { field });
    }
  });

  it('rejects a second initiation while one is in flight', () => {
    spec.given([initiated()]).when(initiate()).thenThrows('illegal_transition', { from: 'processing', to: 'processing' });
  });

  it('rejects malformed first facts', () => {
    spec.given([]).when(initiate({ withdrawalId: 'wd 1' })).thenThrows('malformed_id', { field: 'withdrawalId' });
    spec.given([]).when(initiate({ accountId: '' })).thenThrows('malformed_id', { field: 'accountId' });
    spec.given([]).when(initiate({ amount: 0n })).thenThrows('amount_must_be_positive');
    spec.given([]).when(initiate({ amount: 10n ** 18n })).thenThrows('amount_exceeds_max');
    spec.given([]).when(initiate({ currency: 'XXX' })).thenThrows('unsupported_currency');
  });

  it('rejects a malformed channel or destination', () => {
    spec.given([]).when(initiate({ channel: 'Sandbox' })).thenThrows('malformed_channel');
    spec
      .given([])
      .when(initiate({ destination: { ...destination, bankCode: '' } }))
      .thenThrows('field_required', { field: 'destination.bankCode' });
  });
});

describe('RecordPayoutSubmitted', () => {
  it('records the provider reference and stays processing', () => {
    const state = spec.given([initiated()]).when(submit()).then([submitted()]);
    expect(state).toMatchObject({ status: 'processing', providerReference: 'prov-1' });
  });

  it('ignores the same acknowledgement twice', () => {
    spec.given([initiated(), submitted()]).when(submit()).thenNothing();
  });

  it('rejects another reference for the same attempt', () => {
    spec
      .given([initiated(), submitted()])
      .when(submit(1, 'prov-2'))
      .thenThrows('provider_reference_mismatch', {
        providerReferenceRecorded: 'prov-1',
        providerReferenceReported: 'prov-2',
      });
  });

  it('rejects an attempt that was never initiated', () => {
    spec.given([initiated()]).when(submit(2)).thenThrows('attempt_not_initiated', { attempt: 2, attemptLatest: 1 });
    spec.given([initiated()]).when(submit(0)).thenThrows('attempt_not_initiated');
    spec.given([initiated()]).when(submit(1.5)).thenThrows('attempt_not_initiated', { attempt: null });
  });

  it('ignores a late acknowledgement of a superseded attempt', () => {
    spec
      .given([initiated(), reviewRequested('processing'), resolvedEvent('retry', 'processing'), initiated(2)])
      .when(submit(1, 'prov-old'))
      .thenNothing();
  });

  it('rejects a blank reference', () => {
    spec.given([initiated()]).when(submit(1, ' ')).thenThrows('field_required', { field: 'providerReference' });
  });
});

describe('RecordOutcomeUnknown', () => {
  it('moves processing to unknown', () => {
    spec.given([initiated()]).when(timeout()).then([outcomeUnknown]);
  });

  it('rejects a blank reason', () => {
    spec
      .given([initiated()])
      .when({ type: 'RecordOutcomeUnknown', data: { attempt: 1, reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

describe('RecordPayoutAttemptFailed', () => {
  it('returns an attempt that did not pay to requested, so the next channel can be tried', () => {
    const state = spec.given([initiated()]).when(attemptFailed()).then([attemptFailedEvent()]);
    expect(state).toMatchObject({ status: 'requested', attempt: 1, attemptsSuperseded: 1, attemptsFailed: 1 });
    spec
      .given([initiated(), attemptFailedEvent()])
      .when(initiate({ channel: 'backup' }))
      .then([initiated(2, 'backup')]);
  });

  it('also ends an unknown attempt that a status query found absent', () => {
    spec
      .given([initiated(), outcomeUnknown])
      .when(attemptFailed(1, 'not_found_after_unknown'))
      .then([attemptFailedEvent(1, 'sandbox', 'not_found_after_unknown')]);
  });

  it('ignores a repeated failure of an attempt already given up', () => {
    spec.given([initiated(), attemptFailedEvent()]).when(attemptFailed()).then([]);
  });

  it('stops after three failed attempts until a person decides, and a retry decision starts a new count', () => {
    const three = [
      initiated(1),
      attemptFailedEvent(1),
      initiated(2, 'backup'),
      attemptFailedEvent(2, 'backup'),
      initiated(3),
      attemptFailedEvent(3),
    ];
    spec.given(three).when(initiate()).thenThrows('payout_attempts_exhausted', { attemptsFailed: 3 });
    const reviewed = [...three, reviewRequested('requested'), resolvedEvent('retry', 'requested')];
    spec.given(reviewed).when(initiate()).then([initiated(4)]);
  });

  it('refuses a settlement of an attempt that was given up: money may have moved twice', () => {
    spec
      .given([initiated(), attemptFailedEvent(), initiated(2, 'backup')])
      .when(settle(1))
      .thenThrows('illegal_transition', { to: 'settled', attempt: 1 });
  });

  it('ignores a late failure or acknowledgement of an attempt that was given up', () => {
    const history = [initiated(), attemptFailedEvent(), initiated(2, 'backup')];
    spec.given(history).when(fail(1)).then([]);
    spec.given(history).when(submit(1)).then([]);
  });

  it('rejects blank codes and reasons', () => {
    spec
      .given([initiated()])
      .when({ type: 'RecordPayoutAttemptFailed', data: { attempt: 1, code: '', reason: 'x' }, metadata })
      .thenThrows('field_required', { field: 'code' });
    spec
      .given([initiated()])
      .when({ type: 'RecordPayoutAttemptFailed', data: { attempt: 1, code: 'x', reason: ' ' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

describe('RecordSettlement', () => {
  it('settles with the reference of the acknowledgement when the callback has none', () => {
    spec.given([initiated(), submitted()]).when(settle(1, null)).then([settled('prov-1')]);
  });

  it('settles a payout whose outcome was unknown', () => {
    spec.given([initiated(), outcomeUnknown]).when(settle()).then([settled()]);
  });

  it('settles a payout in review when the provider reports it', () => {
    const state = spec.given(HISTORIES.manual_review).when(settle()).then([settled()]);
    expect(state.reviewFromStatus).toBeNull();
  });

  it('rejects a settlement naming another payout', () => {
    spec.given([initiated(), submitted()]).when(settle(1, 'prov-9')).thenThrows('provider_reference_mismatch');
  });

  it('rejects a settlement after a failure: money may have moved twice', () => {
    spec.given([initiated(), failed]).when(settle()).thenThrows('illegal_transition', { from: 'failed', to: 'settled' });
  });

  it('rejects a settlement of an attempt a retry decision abandoned', () => {
    spec
      .given([initiated(), outcomeUnknown, reviewRequested('unknown'), resolvedEvent('retry', 'unknown'), initiated(2)])
      .when(settle(1))
      .thenThrows('illegal_transition', { to: 'settled', attempt: 1, attemptLatest: 2 });
  });
});

describe('RecordPayoutFailure', () => {
  it('moves processing to failed', () => {
    spec.given([initiated()]).when(fail()).then([failed]);
  });

  it('ignores a late failure of a superseded attempt', () => {
    spec
      .given([initiated(), outcomeUnknown, reviewRequested('unknown'), resolvedEvent('retry', 'unknown'), initiated(2)])
      .when(fail(1))
      .thenNothing();
  });

  it('rejects a failure after a settlement', () => {
    spec.given([initiated(), settled()]).when(fail()).thenThrows('illegal_transition', { from: 'settled', to: 'failed' });
  });

  it('rejects a failure naming another payout', () => {
    spec.given([initiated(), submitted()]).when(fail(1, 'prov-9')).thenThrows('provider_reference_mismatch');
  });

  it('rejects a blank reason', () => {
    spec
      .given([initiated()])
      .when({ type: 'RecordPayoutFailure', data: { attempt: 1, providerReference: null, reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

describe('CancelWithdrawal', () => {
  it('cancels before any attempt, starting the stream with the facts', () => {
    spec.given([]).when(cancel()).then([cancelled]);
  });

  it('cancels after a retry decision put the withdrawal back to requested', () => {
    spec
      .given([initiated(), reviewRequested('processing'), resolvedEvent('retry', 'processing')])
      .when(cancel())
      .then([cancelled]);
  });

  it('rejects a cancellation once the payout started', () => {
    spec.given([initiated()]).when(cancel()).thenThrows('withdrawal_not_cancellable', { status: 'processing' });
  });

  it('rejects a second cancellation', () => {
    spec.given([cancelled]).when(cancel()).thenThrows('withdrawal_not_cancellable', { status: 'cancelled' });
  });

  it('rejects facts that differ from the recorded ones', () => {
    spec
      .given([reviewRequested('requested'), resolvedEvent('retry', 'requested')])
      .when(cancel({ amount: 1n }))
      .thenThrows('withdrawal_facts_mismatch', { field: 'amount' });
  });

  it('rejects a blank reason', () => {
    spec
      .given([])
      .when({ type: 'CancelWithdrawal', data: { ...facts, reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

describe('RequestManualReview', () => {
  it('records the status it came from', () => {
    const state = spec.given([initiated(), outcomeUnknown]).when(review()).then([reviewRequested('unknown')]);
    expect(state).toMatchObject({ status: 'manual_review', reviewFromStatus: 'unknown' });
  });

  it('may start the stream when no attempt could be initiated', () => {
    spec.given([]).when(review()).then([reviewRequested('requested')]);
  });

  it('rejects a review of a withdrawal whose outcome is known', () => {
    spec
      .given([initiated(), settled()])
      .when(review())
      .thenThrows('illegal_transition', { from: 'settled', to: 'manual_review' });
  });

  it('rejects a second review request', () => {
    spec.given(HISTORIES.manual_review).when(review()).thenThrows('illegal_transition', { from: 'manual_review' });
  });

  it('rejects a blank reason', () => {
    spec
      .given([])
      .when({ type: 'RequestManualReview', data: { ...facts, reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

function resolvedEvent(decision: 'retry' | 'fail' | 'settled', fromStatus: WithdrawalStatus): WithdrawalEvent {
  return {
    type: 'ManualReviewResolved',
    data: {
      withdrawalId: 'wd-1',
      decision,
      fromStatus,
      toStatus: decision === 'retry' ? 'requested' : decision === 'fail' ? 'failed' : 'settled',
      reason: 'checked with the bank',
      resolvedAt: NOW,
      resolvedBy: 'operator:alice',
    },
  };
}

describe('ResolveManualReview', () => {
  it.each([
    ['retry', 'requested'],
    ['fail', 'failed'],
    ['settled', 'settled'],
  ] as const)('%s moves the withdrawal to %s and records the operator', (decision, toStatus) => {
    const state = spec.given(HISTORIES.manual_review).when(resolve(decision)).then([resolvedEvent(decision, 'processing')]);
    expect(state).toMatchObject({ status: toStatus, reviewFromStatus: null });
  });

  it('retry supersedes the attempts so far', () => {
    const state = spec.given(HISTORIES.manual_review).when(resolve('retry')).then([resolvedEvent('retry', 'processing')]);
    expect(state).toMatchObject({ attempt: 1, attemptsSuperseded: 1, providerReference: null });
  });

  it('rejects settled when no attempt could have paid', () => {
    spec
      .given([reviewRequested('requested')])
      .when(resolve('settled'))
      .thenThrows('review_decision_not_allowed', { decision: 'settled', attemptLatest: 0 });
  });

  it('rejects an unknown decision', () => {
    spec
      .given(HISTORIES.manual_review)
      .when({
        type: 'ResolveManualReview',
        data: { decision: 'maybe', reason: 'x' },
        metadata: operator,
      } as unknown as WithdrawalCommand)
      .thenThrows('review_decision_not_allowed', { decision: 'maybe' });
  });

  it('rejects a resolution outside review', () => {
    spec.given([initiated()]).when(resolve('fail')).thenThrows('withdrawal_not_in_review', { status: 'processing' });
  });

  it('rejects a resolution without a reason', () => {
    spec.given(HISTORIES.manual_review).when(resolve('fail', '')).thenThrows('field_required', { field: 'reason' });
  });
});

describe('RecordPayoutReturned', () => {
  it('moves settled to returned', () => {
    spec.given([initiated(), settled()]).when(returnPayout()).then([returned]);
  });

  it('ignores a duplicate return', () => {
    spec.given([initiated(), settled(), returned]).when(returnPayout()).thenNothing();
  });

  it('rejects a return of a payout that never settled', () => {
    spec
      .given([initiated(), failed])
      .when(returnPayout())
      .thenThrows('illegal_transition', { from: 'failed', to: 'returned' });
  });

  it('rejects a return of a superseded attempt', () => {
    spec
      .given([initiated(), reviewRequested('processing'), resolvedEvent('retry', 'processing'), initiated(2)])
      .when(returnPayout(1))
      .thenThrows('illegal_transition', { to: 'returned', attempt: 1 });
  });

  it('rejects a return naming another payout', () => {
    spec
      .given([initiated(), submitted(), settled()])
      .when(returnPayout(1, 'prov-9'))
      .thenThrows('provider_reference_mismatch');
  });

  it('rejects a blank reason', () => {
    spec
      .given([initiated(), settled()])
      .when({ type: 'RecordPayoutReturned', data: { attempt: 1, providerReference: null, reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });
});

describe('evolve', () => {
  it('refuses a recorded illegal move', () => {
    expect(() => foldEvents(withdrawalDecider, [settled()])).toThrow(InvariantViolation);
    expect(() => foldEvents(withdrawalDecider, [initiated(), failed, settled()])).toThrow(InvariantViolation);
    expect(() => foldEvents(withdrawalDecider, [initiated(2)])).toThrow(InvariantViolation);
    expect(() => foldEvents(withdrawalDecider, [initiated(), submitted(), submitted()])).toThrow(InvariantViolation);
  });

  it('refuses facts that change mid-stream', () => {
    const other: WithdrawalCancelled = { ...cancelled, data: { ...cancelled.data, amount: '1' } };
    const history = [reviewRequested('requested'), resolvedEvent('retry', 'requested'), other];
    expect(() => foldEvents(withdrawalDecider, history)).toThrow(InvariantViolation);
  });

  it('refuses a resolution whose target contradicts its decision', () => {
    const resolution = resolvedEvent('fail', 'processing');
    const bad = { ...resolution, data: { ...resolution.data, toStatus: 'settled' } } as WithdrawalEvent;
    expect(() => foldEvents(withdrawalDecider, [initiated(), reviewRequested('processing'), bad])).toThrow(
      InvariantViolation,
    );
  });
});

describe('holdCommandForWithdrawalEvent', () => {
  const after = (events: WithdrawalEvent[]): WithdrawalState => foldEvents(withdrawalDecider, events);

  it('settles the hold through the channel that paid', () => {
    expect(holdCommandForWithdrawalEvent(settled(), after([initiated(), settled()]), metadata)).toEqual({
      accountId: 'acc-1',
      command: { type: 'SettleDebit', data: { withdrawalId: 'wd-1', channel: 'sandbox' }, metadata },
    });
    const reviewSettled = resolvedEvent('settled', 'processing');
    expect(
      holdCommandForWithdrawalEvent(reviewSettled, after([...HISTORIES.manual_review, reviewSettled]), metadata)?.command,
    ).toEqual({ type: 'SettleDebit', data: { withdrawalId: 'wd-1', channel: 'sandbox' }, metadata });
  });

  it('reverses the hold for a failure, a cancellation and a failed review', () => {
    expect(holdCommandForWithdrawalEvent(failed, after([initiated(), failed]), metadata)?.command.data).toEqual({
      withdrawalId: 'wd-1',
      reason: 'payout_failed',
    });
    expect(holdCommandForWithdrawalEvent(cancelled, after([cancelled]), metadata)?.command.data).toEqual({
      withdrawalId: 'wd-1',
      reason: 'withdrawal_cancelled',
    });
    const reviewFailed = resolvedEvent('fail', 'processing');
    expect(
      holdCommandForWithdrawalEvent(reviewFailed, after([...HISTORIES.manual_review, reviewFailed]), metadata)?.command.data,
    ).toEqual({ withdrawalId: 'wd-1', reason: 'review_failed' });
  });

  it('returns the money of a returned payout', () => {
    expect(holdCommandForWithdrawalEvent(returned, after([initiated(), settled(), returned]), metadata)?.command).toEqual({
      type: 'ReturnDebit',
      data: { withdrawalId: 'wd-1', reason: 'beneficiary account closed' },
      metadata,
    });
  });

  it('moves no money for the other events', () => {
    const retry = resolvedEvent('retry', 'processing');
    for (const [event, history] of [
      [initiated(), [initiated()]],
      [submitted(), [initiated(), submitted()]],
      [outcomeUnknown, [initiated(), outcomeUnknown]],
      [reviewRequested('processing'), HISTORIES.manual_review],
      [retry, [...HISTORIES.manual_review, retry]],
    ] as Array<[WithdrawalEvent, WithdrawalEvent[]]>) {
      expect(holdCommandForWithdrawalEvent(event, after(history), metadata)).toBeNull();
    }
  });
});
