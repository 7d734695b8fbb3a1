import type { LedgerEvent, LedgerEventType } from './events';
import { LEDGER_EVENT_TYPES } from './events';
import {
  advanceWithdrawalStatus,
  canTransition,
  classifyTransition,
  isTerminalWithdrawalStatus,
  REVIEW_DECISION_TARGETS,
  WITHDRAWAL_STATUS_TRACK_START,
  WITHDRAWAL_TRANSITIONS,
  withdrawalStatusAfter,
  type WithdrawalStatusTrack,
} from './withdrawal-state-machine';
import { WITHDRAWAL_STATUSES, type WithdrawalStatus } from './withdrawal-status';

/**
 * The legal moves, written out again from ARCHITECTURE.md section 2 rather than derived from
 * the table under test, so a typo in the table fails here.
 */
const LEGAL_MOVES = new Set<string>([
  'requested>processing',
  'processing>settled',
  'processing>failed',
  'failed>reversed',
  'requested>cancelled',
  'cancelled>reversed',
  'processing>unknown',
  'unknown>settled',
  'unknown>failed',
  // ADR 0008: an attempt known not to have paid returns to requested for the next channel.
  'processing>requested',
  'unknown>requested',
  'settled>returned',
  'returned>reversed',
  // Manual review: entered from any status whose outcome is open, left by a decision.
  'requested>manual_review',
  'processing>manual_review',
  'unknown>manual_review',
  'manual_review>requested',
  'manual_review>failed',
  'manual_review>settled',
]);

const ALL_PAIRS: Array<[WithdrawalStatus, WithdrawalStatus]> = WITHDRAWAL_STATUSES.flatMap((from) =>
  WITHDRAWAL_STATUSES.map((to): [WithdrawalStatus, WithdrawalStatus] => [from, to]),
);

describe('WITHDRAWAL_TRANSITIONS', () => {
  it('has a row for every status and mentions only known statuses', () => {
    expect(Object.keys(WITHDRAWAL_TRANSITIONS).sort()).toEqual([...WITHDRAWAL_STATUSES].sort());
    for (const targets of Object.values(WITHDRAWAL_TRANSITIONS)) {
      for (const to of targets) expect(WITHDRAWAL_STATUSES).toContain(to);
    }
  });

  it.each(ALL_PAIRS)('%s -> %s is legal exactly when the architecture says so', (from, to) => {
    const legal = LEGAL_MOVES.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(legal);
    // Without history, a legal move applies and an illegal one never does.
    expect(classifyTransition(from, to) === 'apply').toBe(legal);
  });

  it('has no self-loops: a repeated status is a duplicate, not a move', () => {
    for (const status of WITHDRAWAL_STATUSES) expect(canTransition(status, status)).toBe(false);
  });

  it('has reversed as its only terminal status', () => {
    expect(WITHDRAWAL_STATUSES.filter(isTerminalWithdrawalStatus)).toEqual(['reversed']);
  });

  it('lets every status reach reversed or settled, so nothing is stuck', () => {
    const reaches = (from: WithdrawalStatus, seen = new Set<WithdrawalStatus>()): Set<WithdrawalStatus> => {
      for (const to of WITHDRAWAL_TRANSITIONS[from]) {
        if (!seen.has(to)) {
          seen.add(to);
          reaches(to, seen);
        }
      }
      return seen;
    };
    for (const status of WITHDRAWAL_STATUSES) {
      if (status === 'reversed') continue;
      const reachable = reaches(status);
      expect(reachable.has('reversed') || reachable.has('settled')).toBe(true);
    }
  });

  it('maps every review decision to a status the review may move to', () => {
    for (const to of Object.values(REVIEW_DECISION_TARGETS)) expect(canTransition('manual_review', to)).toBe(true);
    expect(REVIEW_DECISION_TARGETS).toEqual({ retry: 'requested', fail: 'failed', settled: 'settled' });
  });
});

describe('classifyTransition', () => {
  const history = (...statuses: WithdrawalStatus[]): WithdrawalStatus[] => statuses;

  it.each<[string, WithdrawalStatus, WithdrawalStatus, WithdrawalStatus[]]>([
    ['a duplicate settlement', 'settled', 'settled', history('requested', 'processing', 'settled')],
    ['a late acknowledgement after settlement', 'settled', 'processing', history('requested', 'processing', 'settled')],
    ['a late timeout after settlement', 'settled', 'unknown', history('requested', 'processing', 'settled')],
    ['a late acknowledgement after a timeout', 'unknown', 'processing', history('requested', 'processing', 'unknown')],
    [
      'a settlement repeated after the return',
      'returned',
      'settled',
      history('requested', 'processing', 'settled', 'returned'),
    ],
    ['a failure repeated after the reversal', 'reversed', 'failed', history('requested', 'processing', 'failed', 'reversed')],
    ['a late timeout while in review', 'manual_review', 'unknown', history('requested', 'processing', 'manual_review')],
    ['a duplicate request', 'requested', 'requested', history('requested')],
  ])('ignores %s', (_label, from, to, visited) => {
    expect(classifyTransition(from, to, visited)).toBe('ignore_stale');
  });

  it.each<[string, WithdrawalStatus, WithdrawalStatus, WithdrawalStatus[]]>([
    ['a settlement after a failure', 'failed', 'settled', history('requested', 'processing', 'failed')],
    ['a failure after a settlement', 'settled', 'failed', history('requested', 'processing', 'settled')],
    [
      'a settlement after a failure was reversed',
      'reversed',
      'settled',
      history('requested', 'processing', 'failed', 'reversed'),
    ],
    ['a payout acknowledgement for a cancelled withdrawal', 'cancelled', 'processing', history('requested', 'cancelled')],
    ['a settlement of a withdrawal never initiated', 'requested', 'settled', history('requested')],
    ['a return of a payout that never settled', 'processing', 'returned', history('requested', 'processing')],
  ])('refuses %s', (_label, from, to, visited) => {
    expect(classifyTransition(from, to, visited)).toBe('illegal');
  });
});

/** A sample event of every type, to prove `withdrawalStatusAfter` covers the whole catalogue. */
const STATUS_AFTER: { readonly [Type in LedgerEventType]: WithdrawalStatus | null } = {
  AccountOpened: null,
  FundsDeposited: null,
  WithdrawalRequested: 'requested',
  Debited: 'requested',
  DebitSettled: 'settled',
  DebitReversed: 'reversed',
  DebitReturned: 'reversed',
  AccountFrozen: null,
  AccountUnfrozen: null,
  PayoutInitiated: 'processing',
  PayoutSubmitted: 'processing',
  PayoutOutcomeUnknown: 'unknown',
  PayoutAttemptFailed: 'requested',
  Settled: 'settled',
  PayoutFailed: 'failed',
  WithdrawalCancelled: 'cancelled',
  ManualReviewRequested: 'manual_review',
  ManualReviewResolved: 'failed',
  PayoutReturned: 'returned',
  StatementImported: null,
  ItemMatched: null,
  DiscrepancyFound: null,
  DiscrepancyResolved: null,
  ProviderCallbackReceived: null,
};

const sampleEvent = (type: LedgerEventType): LedgerEvent =>
  ({ type, data: type === 'ManualReviewResolved' ? { decision: 'fail' } : {} }) as unknown as LedgerEvent;

describe('withdrawalStatusAfter', () => {
  it.each(LEDGER_EVENT_TYPES.map((type) => [type]))('maps %s', (type) => {
    expect(withdrawalStatusAfter(sampleEvent(type))).toBe(STATUS_AFTER[type]);
  });

  it('maps a review resolution by its decision', () => {
    for (const decision of ['retry', 'fail', 'settled'] as const) {
      const event = { type: 'ManualReviewResolved', data: { decision } } as unknown as LedgerEvent;
      expect(withdrawalStatusAfter(event)).toBe(REVIEW_DECISION_TARGETS[decision]);
    }
  });
});

describe('advanceWithdrawalStatus', () => {
  const walk = (types: LedgerEventType[]): Array<{ verdict: string; status: WithdrawalStatus }> => {
    let track: WithdrawalStatusTrack = WITHDRAWAL_STATUS_TRACK_START;
    return types.map((type) => {
      const step = advanceWithdrawalStatus(track, sampleEvent(type));
      track = step.track;
      return { verdict: step.verdict, status: track.status };
    });
  };

  it('follows a payout across both streams and ignores what is stale', () => {
    expect(
      walk([
        'WithdrawalRequested',
        'Debited',
        'PayoutInitiated',
        'PayoutSubmitted',
        'Settled',
        'DebitSettled',
        'PayoutReturned',
        'DebitReturned',
        'Settled',
      ]),
    ).toEqual([
      { verdict: 'ignore_stale', status: 'requested' },
      { verdict: 'ignore_stale', status: 'requested' },
      { verdict: 'apply', status: 'processing' },
      { verdict: 'ignore_stale', status: 'processing' },
      { verdict: 'apply', status: 'settled' },
      { verdict: 'ignore_stale', status: 'settled' },
      { verdict: 'apply', status: 'returned' },
      { verdict: 'apply', status: 'reversed' },
      { verdict: 'ignore_stale', status: 'reversed' },
    ]);
  });

  it('flags a contradicting outcome and leaves the status alone', () => {
    expect(walk(['PayoutInitiated', 'PayoutFailed', 'DebitReversed', 'Settled']).at(-1)).toEqual({
      verdict: 'illegal',
      status: 'reversed',
    });
  });

  it('ignores events that are not about a withdrawal', () => {
    expect(walk(['FundsDeposited', 'StatementImported'])).toEqual([
      { verdict: 'ignore_stale', status: 'requested' },
      { verdict: 'ignore_stale', status: 'requested' },
    ]);
  });
});
