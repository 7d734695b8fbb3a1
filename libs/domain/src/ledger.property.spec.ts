import fc from 'fast-check';
import { accountDecider, type AccountCommand, type AccountState } from './account-decider';
import { foldEvents, type CommandMetadata } from './decider';
import { DomainRejection } from './errors';
import { isMoneyEvent, postingsOf, type AccountEvent, type LedgerEvent, type WithdrawalEvent } from './events';
import type { CurrencyCode } from './money';
import {
  applyPostingsInPlace,
  ledgerBalanceOf,
  ledgerSumsByCurrency,
  userAvailableAccount,
  userPendingAccount,
  validatePostings,
} from './postings';
import { destination } from './testing/fixtures';
import {
  holdCommandForWithdrawalEvent,
  withdrawalDecider,
  type WithdrawalCommand,
  type WithdrawalState,
} from './withdrawal-decider';
import {
  advanceWithdrawalStatus,
  canTransition,
  WITHDRAWAL_STATUS_TRACK_START,
  type WithdrawalStatusTrack,
} from './withdrawal-state-machine';
import { WITHDRAWAL_STATUSES, type WithdrawalStatus } from './withdrawal-status';

/**
 * Property tests over random command sequences. Each run replays the sequence through the
 * deciders (and, in the system property, through the process manager's money rule) and
 * checks the ledger's invariants after EVERY event:
 *
 *   postings of each event balance per currency
 *   per currency, the sum over all ledger accounts = 0
 *   amountAvailable >= 0, and equals the ledger balance of user:<id>:available
 *   amountPending = sum of open holds = the ledger balance of user:<id>:pending
 *   each hold is resolved at most once, and returned at most once after settling
 *   every withdrawal status change is in WITHDRAWAL_TRANSITIONS
 *   folding the recorded events again gives a deep-equal state
 *
 * Run counts are modest so the whole domain suite stays fast.
 */

const RUNS = 150;

let clock = 0;
/** Distinct, increasing, valid timestamps; the clock lives in the test, never in the domain. */
const meta = (): CommandMetadata => {
  clock += 1;
  const seconds = String(clock % 60).padStart(2, '0');
  const minutes = String(Math.floor(clock / 60) % 60).padStart(2, '0');
  return { now: `2026-11-23T10:${minutes}:${seconds}.000Z`, principal: 'property-test' };
};

const amountArb = fc.oneof(
  { weight: 8, arbitrary: fc.bigInt({ min: 1n, max: 5_000n }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, -1n, 10n ** 18n, 999_999_999_999_999_999n) },
);

/** Checks the account's state against its ledger balances and its hold bookkeeping. */
function checkAccount(state: AccountState, balances: Map<string, bigint>): void {
  if (state.status !== 'open') return;
  expect(state.amountAvailable >= 0n).toBe(true);
  let held = 0n;
  for (const hold of state.holdsOpen.values()) held += hold.amount;
  expect(state.amountPending).toBe(held);
  for (const id of state.holdsOpen.keys()) expect(state.holdsResolved.has(id)).toBe(false);
  expect(ledgerBalanceOf(balances, userAvailableAccount(state.accountId), state.currency)).toBe(state.amountAvailable);
  expect(ledgerBalanceOf(balances, userPendingAccount(state.accountId), state.currency)).toBe(state.amountPending);
}

function checkLedger(event: LedgerEvent, balances: Map<string, bigint>): void {
  if (isMoneyEvent(event)) expect(validatePostings(event.data.postings)).toEqual([]);
  applyPostingsInPlace(balances, postingsOf(event));
  for (const sum of ledgerSumsByCurrency(balances).values()) expect(sum).toBe(0n);
}

/** Counts hold resolutions per withdrawal: at most one settle-or-reverse, at most one return and only after a settle. */
class HoldLog {
  private readonly resolutions = new Map<string, AccountEvent['type'][]>();

  record(event: AccountEvent): void {
    if (event.type !== 'DebitSettled' && event.type !== 'DebitReversed' && event.type !== 'DebitReturned') return;
    const log = [...(this.resolutions.get(event.data.withdrawalId) ?? []), event.type];
    this.resolutions.set(event.data.withdrawalId, log);
    expect([['DebitSettled'], ['DebitReversed'], ['DebitSettled', 'DebitReturned']]).toContainEqual(log);
  }
}

describe('the account decider under random commands', () => {
  const withdrawalIdArb = fc.constantFrom('w0', 'w1', 'w2', 'w3');
  const commandArb: fc.Arbitrary<(m: CommandMetadata) => AccountCommand> = fc.oneof(
    fc.constantFrom('USD', 'EUR', 'XXX').map((currency) => (metadata: CommandMetadata) => ({
      type: 'OpenAccount' as const,
      data: { accountId: 'acc-1', ownerId: 'owner-1', currency },
      metadata,
    })),
    fc
      .record({
        depositId: fc.constantFrom('d0', 'd1', 'd2', 'd3', 'd4', 'd5'),
        amount: amountArb,
        currency: fc.constantFrom('USD', 'USD', 'EUR'),
      })
      .map((data) => (metadata: CommandMetadata) => ({
        type: 'DepositFunds' as const,
        data: { ...data, reference: 'ref' },
        metadata,
      })),
    fc
      .record({
        withdrawalId: withdrawalIdArb,
        amount: amountArb,
        currency: fc.constantFrom('USD', 'USD', 'EUR'),
        amountLimit: fc.option(fc.bigInt({ min: 1n, max: 4_000n }), { nil: undefined }),
      })
      .map((data) => (metadata: CommandMetadata) => ({
        type: 'RequestWithdrawal' as const,
        data: { ...data, destination, channel: null },
        metadata,
      })),
    fc.record({ withdrawalId: withdrawalIdArb, channel: fc.constantFrom('alpha', 'beta') }).map(
      (data) => (metadata: CommandMetadata) => ({ type: 'SettleDebit' as const, data, metadata }),
    ),
    withdrawalIdArb.map((withdrawalId) => (metadata: CommandMetadata) => ({
      type: 'ReverseDebit' as const,
      data: { withdrawalId, reason: 'payout_failed' as const },
      metadata,
    })),
    withdrawalIdArb.map((withdrawalId) => (metadata: CommandMetadata) => ({
      type: 'ReturnDebit' as const,
      data: { withdrawalId, reason: 'returned by the bank' },
      metadata,
    })),
    fc.constant((metadata: CommandMetadata) => ({ type: 'FreezeAccount' as const, data: { reason: 'check' }, metadata })),
    fc.constant((metadata: CommandMetadata) => ({ type: 'UnfreezeAccount' as const, data: { reason: 'ok' }, metadata })),
  );

  it('keeps every invariant after every event, and replays to the same state', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 60 }), (commands) => {
        let state = accountDecider.initialState();
        const recorded: AccountEvent[] = [];
        const balances = new Map<string, bigint>();
        const holds = new HoldLog();
        // Open the account first in most runs, so the sequence exercises more than `account_not_open`.
        const script = [
          (metadata: CommandMetadata): AccountCommand => ({
            type: 'OpenAccount',
            data: { accountId: 'acc-1', ownerId: 'owner-1', currency: 'USD' },
            metadata,
          }),
          ...commands,
        ];
        for (const build of script) {
          let events: AccountEvent[];
          try {
            events = accountDecider.decide(build(meta()), state);
          } catch (error) {
            // A rejection is the only acceptable failure, and it appends nothing.
            expect(error).toBeInstanceOf(DomainRejection);
            continue;
          }
          for (const event of events) {
            checkLedger(event, balances);
            holds.record(event);
            state = accountDecider.evolve(state, event);
            recorded.push(event);
            checkAccount(state, balances);
          }
        }
        expect(foldEvents(accountDecider, recorded)).toEqual(state);
        expect(foldEvents(accountDecider, recorded)).toEqual(foldEvents(accountDecider, recorded));
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------
// The whole system: two accounts in different currencies, withdrawals driven through the
// withdrawal decider by random provider reports and operator decisions, and the process
// manager's money rule applied to every withdrawal outcome.
// ---------------------------------------------------------------------------------------

type Action =
  | { kind: 'deposit'; account: number; amount: bigint }
  | { kind: 'request'; account: number; amount: bigint }
  | { kind: 'initiate'; withdrawal: number; channel: string }
  | { kind: 'submit'; withdrawal: number; attemptBack: number; reference: string }
  | { kind: 'timeout' | 'settle' | 'fail' | 'return'; withdrawal: number; attemptBack: number }
  | { kind: 'cancel' | 'review'; withdrawal: number }
  | { kind: 'resolve'; withdrawal: number; decision: 'retry' | 'fail' | 'settled' }
  | { kind: 'freeze' | 'unfreeze'; account: number };

const ACCOUNTS: ReadonlyArray<{ accountId: string; currency: CurrencyCode }> = [
  { accountId: 'acc-usd', currency: 'USD' },
  { accountId: 'acc-jpy', currency: 'JPY' },
];

const indexArb = fc.nat({ max: 3 });
const attemptBackArb = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });
/** Weighted towards actions that move a withdrawal forward, so deep states (returned) are common. */
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('deposit' as const), account: fc.nat({ max: 1 }), amount: amountArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('request' as const), account: fc.nat({ max: 1 }), amount: amountArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('initiate' as const),
      withdrawal: indexArb,
      channel: fc.constantFrom('alpha', 'beta'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('submit' as const),
      withdrawal: indexArb,
      attemptBack: attemptBackArb,
      reference: fc.constantFrom('ref-a', 'ref-b'),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('timeout' as const, 'settle' as const, 'fail' as const, 'return' as const),
      withdrawal: indexArb,
      attemptBack: attemptBackArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('cancel' as const, 'review' as const), withdrawal: indexArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      withdrawal: indexArb,
      decision: fc.constantFrom('retry' as const, 'fail' as const, 'settled' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('freeze' as const, 'unfreeze' as const), account: fc.nat({ max: 1 }) }),
  },
);

interface WithdrawalRecord {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  state: WithdrawalState;
  readonly events: WithdrawalEvent[];
  /** The projection's view, folded from both streams in global order. */
  track: WithdrawalStatusTrack;
}

class LedgerSimulation {
  readonly accounts = new Map<string, { state: AccountState; events: AccountEvent[] }>();
  readonly withdrawals: WithdrawalRecord[] = [];
  readonly balances = new Map<string, bigint>();
  private readonly holds = new HoldLog();

  constructor() {
    for (const { accountId, currency } of ACCOUNTS) {
      this.accounts.set(accountId, { state: accountDecider.initialState(), events: [] });
      this.account(accountId, { type: 'OpenAccount', data: { accountId, ownerId: 'owner', currency }, metadata: meta() });
      // Start funded, so most withdrawal requests pass and the runs explore payouts, not refusals.
      this.account(accountId, {
        type: 'DepositFunds',
        data: { depositId: 'dep-initial', amount: 20_000n, currency, reference: 'opening balance' },
        metadata: meta(),
      });
    }
  }

  run(action: Action): void {
    try {
      this.step(action);
    } catch (error) {
      if (!(error instanceof DomainRejection)) throw error;
    }
  }

  private step(action: Action): void {
    switch (action.kind) {
      case 'deposit': {
        const { accountId, currency } = ACCOUNTS[action.account]!;
        const depositId = `dep-${clock}`;
        this.account(accountId, {
          type: 'DepositFunds',
          data: { depositId, amount: action.amount, currency, reference: 'wire' },
          metadata: meta(),
        });
        return;
      }
      case 'request': {
        const { accountId, currency } = ACCOUNTS[action.account]!;
        const withdrawalId = `wd-${this.withdrawals.length}`;
        this.account(accountId, {
          type: 'RequestWithdrawal',
          data: { withdrawalId, amount: action.amount, currency, destination, channel: null, amountLimit: 4_000n },
          metadata: meta(),
        });
        // Only reached when the account accepted: the hold exists, the withdrawal begins.
        this.withdrawals.push({
          withdrawalId,
          accountId,
          amount: action.amount,
          currency,
          state: withdrawalDecider.initialState(),
          events: [],
          track: WITHDRAWAL_STATUS_TRACK_START,
        });
        return;
      }
      case 'freeze':
      case 'unfreeze':
        this.account(ACCOUNTS[action.account]!.accountId, {
          type: action.kind === 'freeze' ? 'FreezeAccount' : 'UnfreezeAccount',
          data: { reason: 'ops' },
          metadata: meta(),
        });
        return;
      default: {
        const record = this.withdrawals[action.withdrawal % Math.max(this.withdrawals.length, 1)];
        if (record === undefined) return;
        this.withdrawal(record, this.withdrawalCommand(record, action));
      }
    }
  }

  private withdrawalCommand(record: WithdrawalRecord, action: Exclude<Action, { account: number }>): WithdrawalCommand {
    const facts = {
      withdrawalId: record.withdrawalId,
      accountId: record.accountId,
      amount: record.amount,
      currency: record.currency,
    };
    const metadata = meta();
    const attempt = 'attemptBack' in action ? record.state.attempt - action.attemptBack : 0;
    switch (action.kind) {
      case 'initiate':
        return { type: 'InitiatePayout', data: { ...facts, channel: action.channel, destination }, metadata };
      case 'submit':
        return { type: 'RecordPayoutSubmitted', data: { attempt, providerReference: action.reference }, metadata };
      case 'timeout':
        return { type: 'RecordOutcomeUnknown', data: { attempt, reason: 'timeout' }, metadata };
      case 'settle':
        return { type: 'RecordSettlement', data: { attempt, providerReference: null }, metadata };
      case 'fail':
        return { type: 'RecordPayoutFailure', data: { attempt, providerReference: null, reason: 'declined' }, metadata };
      case 'return':
        return { type: 'RecordPayoutReturned', data: { attempt, providerReference: null, reason: 'returned' }, metadata };
      case 'cancel':
        return { type: 'CancelWithdrawal', data: { ...facts, reason: 'user' }, metadata };
      case 'review':
        return { type: 'RequestManualReview', data: { ...facts, reason: 'stuck' }, metadata };
      case 'resolve':
        return { type: 'ResolveManualReview', data: { decision: action.decision, reason: 'ops' }, metadata };
    }
  }

  private account(accountId: string, command: AccountCommand): void {
    const account = this.accounts.get(accountId)!;
    for (const event of accountDecider.decide(command, account.state)) {
      checkLedger(event, this.balances);
      this.holds.record(event);
      account.state = accountDecider.evolve(account.state, event);
      account.events.push(event);
      checkAccount(account.state, this.balances);
      const withdrawalId = 'withdrawalId' in event.data ? event.data.withdrawalId : null;
      const record = this.withdrawals.find((candidate) => candidate.withdrawalId === withdrawalId);
      if (record !== undefined) this.project(record, event);
    }
  }

  private withdrawal(record: WithdrawalRecord, command: WithdrawalCommand): void {
    for (const event of withdrawalDecider.decide(command, record.state)) {
      const from: WithdrawalStatus = record.state.status;
      record.state = withdrawalDecider.evolve(record.state, event);
      record.events.push(event);
      // No illegal transition is ever emitted; only PayoutSubmitted reports the same status.
      if (record.state.status !== from) expect(canTransition(from, record.state.status)).toBe(true);
      else expect(event.type).toBe('PayoutSubmitted');
      this.project(record, event);
      // The process manager: the money consequence of an outcome must always be accepted.
      const reaction = holdCommandForWithdrawalEvent(event, record.state, meta());
      if (reaction !== null) this.account(reaction.accountId, reaction.command);
    }
  }

  /** The withdrawals projection's fold: it must never meet an illegal move. */
  private project(record: WithdrawalRecord, event: LedgerEvent): void {
    const step = advanceWithdrawalStatus(record.track, event);
    expect(step.verdict).not.toBe('illegal');
    record.track = step.track;
  }

  checkConsistency(): void {
    for (const record of this.withdrawals) {
      const account = this.accounts.get(record.accountId)!.state;
      if (account.status !== 'open') throw new Error('accounts are opened first');
      const open = account.holdsOpen.get(record.withdrawalId);
      const resolved = account.holdsResolved.get(record.withdrawalId);
      const status = record.state.status;
      // The account's hold follows the withdrawal's outcome, and the projection agrees with both.
      if (status === 'settled') {
        expect(resolved).toMatchObject({ resolution: 'settled', returned: false });
        expect(record.track.status).toBe('settled');
      } else if (status === 'returned') {
        expect(resolved).toMatchObject({ resolution: 'settled', returned: true });
        expect(record.track.status).toBe('reversed');
      } else if (status === 'failed' || status === 'cancelled') {
        expect(resolved).toMatchObject({ resolution: 'reversed' });
        expect(record.track.status).toBe('reversed');
      } else {
        expect(open).toMatchObject({ amount: record.amount });
        expect(record.track.status).toBe(status);
      }
      expect(foldEvents(withdrawalDecider, record.events)).toEqual(record.state);
    }
    for (const { state, events } of this.accounts.values()) {
      expect(foldEvents(accountDecider, events)).toEqual(state);
    }
  }
}

describe('the ledger as a whole under random payouts', () => {
  it('keeps every invariant after every event, with the hold following each outcome', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 1, maxLength: 80 }), (actions) => {
        const simulation = new LedgerSimulation();
        for (const action of actions) simulation.run(action);
        simulation.checkConsistency();
      }),
      { numRuns: RUNS },
    );
  });

  it('reaches every withdrawal status, so the property is not vacuous', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 20, maxLength: 80 }), (actions) => {
        const simulation = new LedgerSimulation();
        for (const action of actions) simulation.run(action);
        for (const record of simulation.withdrawals) {
          for (const status of record.track.statusesVisited) seen.add(status);
        }
      }),
      { numRuns: RUNS },
    );
    expect([...seen].sort()).toEqual([...WITHDRAWAL_STATUSES].sort());
  });
});
