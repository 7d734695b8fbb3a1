import { randomUUID } from 'node:crypto';
import {
  accountDecider,
  accountStream,
  advanceWithdrawalStatus,
  applyPostingsInPlace,
  DomainRejection,
  holdCommandForWithdrawalEvent,
  postingsOf,
  WITHDRAWAL_STATUS_TRACK_START,
  withdrawalDecider,
  withdrawalStream,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type CommandMetadata,
  type CurrencyCode,
  type LedgerEvent,
  type PayoutDestination,
  type WithdrawalCommand,
  type WithdrawalState,
  type WithdrawalStatusTrack,
} from '@ledger/domain';
import type { EventStore, NewEvent } from '@ledger/event-store';

/**
 * A whole ledger driven through the real deciders and the process manager's money rule,
 * for tests: every accepted command becomes one append, in decision order, and the
 * simulation keeps what the read models must equal afterwards (each account's decider
 * state, each ledger account's balance, each withdrawal's status as the domain folds it).
 * Test-only; not exported from the library's index.
 */

export type SimulationAction =
  | { kind: 'deposit'; account: number; amount: bigint }
  | { kind: 'request'; account: number; amount: bigint }
  | { kind: 'initiate'; withdrawal: number; channel: string }
  | { kind: 'submit'; withdrawal: number; attemptBack: number; reference: string }
  | { kind: 'timeout' | 'settle' | 'fail' | 'return'; withdrawal: number; attemptBack: number }
  | { kind: 'cancel' | 'review'; withdrawal: number }
  | { kind: 'resolve'; withdrawal: number; decision: 'retry' | 'fail' | 'settled' }
  | { kind: 'freeze' | 'unfreeze'; account: number };

export interface SimulatedAccount {
  readonly accountId: string;
  readonly currency: CurrencyCode;
  state: AccountState;
}

export interface SimulatedWithdrawal {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  state: WithdrawalState;
  /** The status the projection must show: the domain's fold over both streams in order. */
  track: WithdrawalStatusTrack;
}

export interface Append {
  readonly stream: string;
  readonly events: NewEvent[];
}

export const destination: PayoutDestination = {
  type: 'bank_account',
  accountNumber: 'DE89370400440532013000',
  bankCode: 'COBADEFFXXX',
  holderName: 'Ada Lovelace',
};

const CLOCK_START_MS = Date.parse('2026-11-23T10:00:00.000Z');

export class LedgerSimulation {
  readonly accounts: SimulatedAccount[] = [];
  readonly withdrawals: SimulatedWithdrawal[] = [];
  readonly appends: Append[] = [];
  /** Ledger balances by `ledgerBalanceKey(currency, account)`. */
  readonly balances = new Map<string, bigint>();
  private clock = 0;
  private appended = 0;
  private readonly revisions = new Map<string, bigint>();

  /**
   * @param prefix keeps the ids of several simulations in one store apart.
   * @param currencies one account per entry, opened and funded with `openingDeposit`.
   */
  constructor(
    readonly prefix: string,
    currencies: readonly CurrencyCode[],
    openingDeposit = 20_000n,
  ) {
    currencies.forEach((currency, index) => {
      const accountId = `${prefix}acc-${index}`;
      this.accounts.push({ accountId, currency, state: accountDecider.initialState() });
      this.account(accountId, { type: 'OpenAccount', data: { accountId, ownerId: `${prefix}owner`, currency }, metadata: this.meta() });
      if (openingDeposit > 0n) {
        this.account(accountId, {
          type: 'DepositFunds',
          data: { depositId: 'dep-opening', amount: openingDeposit, currency, reference: 'opening balance' },
          metadata: this.meta(),
        });
      }
    });
  }

  /** Runs one action; a domain rejection is an expected outcome and appends nothing. */
  run(action: SimulationAction): void {
    try {
      this.step(action);
    } catch (error) {
      if (!(error instanceof DomainRejection)) throw error;
    }
  }

  eventCount(): number {
    return this.appends.reduce((sum, append) => sum + append.events.length, 0);
  }

  /**
   * Appends, in decision order and each with the exact expected revision, the next `count`
   * appends not yet written (all of them by default); a later call continues where this one
   * stopped.
   */
  async appendTo(store: EventStore, count = this.appends.length - this.appended): Promise<void> {
    const until = Math.min(this.appends.length, this.appended + count);
    for (; this.appended < until; this.appended += 1) {
      const append = this.appends[this.appended]!;
      const revision = this.revisions.get(append.stream);
      const result = await store.append(append.stream, append.events, {
        expectedRevision: revision === undefined ? 'no_stream' : revision,
      });
      this.revisions.set(append.stream, result.nextExpectedRevision);
    }
  }

  private meta(): CommandMetadata {
    this.clock += 1;
    return { now: new Date(CLOCK_START_MS + this.clock * 1_000).toISOString(), principal: 'simulation' };
  }

  private step(action: SimulationAction): void {
    switch (action.kind) {
      case 'deposit': {
        const account = this.accounts[action.account % this.accounts.length]!;
        this.account(account.accountId, {
          type: 'DepositFunds',
          data: { depositId: `dep-${this.clock}`, amount: action.amount, currency: account.currency, reference: 'wire' },
          metadata: this.meta(),
        });
        return;
      }
      case 'request': {
        const account = this.accounts[action.account % this.accounts.length]!;
        const withdrawalId = `${this.prefix}wd-${this.withdrawals.length}`;
        const record: SimulatedWithdrawal = {
          withdrawalId,
          accountId: account.accountId,
          amount: action.amount,
          currency: account.currency,
          state: withdrawalDecider.initialState(),
          track: WITHDRAWAL_STATUS_TRACK_START,
        };
        this.account(
          account.accountId,
          {
            type: 'RequestWithdrawal',
            data: { withdrawalId, amount: action.amount, currency: account.currency, destination, channel: null, amountLimit: 4_000n },
            metadata: this.meta(),
          },
          record,
        );
        return;
      }
      case 'freeze':
      case 'unfreeze': {
        // An unfreeze goes to the next frozen account, so freezes do not pile up and starve deposits.
        const start = action.account % this.accounts.length;
        const order = this.accounts.map((_, i) => this.accounts[(start + i) % this.accounts.length]!);
        const frozen = (a: SimulatedAccount) => a.state.status === 'open' && a.state.frozen;
        const account = (action.kind === 'unfreeze' ? order.find(frozen) : undefined) ?? order[0]!;
        this.account(account.accountId, {
          type: action.kind === 'freeze' ? 'FreezeAccount' : 'UnfreezeAccount',
          data: { reason: 'ops' },
          metadata: this.meta(),
        });
        return;
      }
      default: {
        // Counted back from the newest: recent withdrawals are the ones with moves left.
        const record = this.withdrawals[this.withdrawals.length - 1 - (action.withdrawal % Math.max(this.withdrawals.length, 1))];
        if (record !== undefined) this.withdrawal(record, this.withdrawalCommand(record, action));
      }
    }
  }

  private withdrawalCommand(
    record: SimulatedWithdrawal,
    action: Exclude<SimulationAction, { account: number }>,
  ): WithdrawalCommand {
    const facts = { withdrawalId: record.withdrawalId, accountId: record.accountId, amount: record.amount, currency: record.currency };
    const metadata = this.meta();
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

  private account(accountId: string, command: AccountCommand, created?: SimulatedWithdrawal): void {
    const account = this.accounts.find((candidate) => candidate.accountId === accountId)!;
    const events = accountDecider.decide(command, account.state);
    // Decided without error: from here on nothing may throw a rejection.
    if (created !== undefined) this.withdrawals.push(created);
    for (const event of events) {
      account.state = accountDecider.evolve(account.state, event);
      this.observe(event);
    }
    this.appends.push({ stream: accountStream(accountId), events: events.map(toNewEvent) });
  }

  private withdrawal(record: SimulatedWithdrawal, command: WithdrawalCommand): void {
    const events = withdrawalDecider.decide(command, record.state);
    if (events.length === 0) return;
    this.appends.push({ stream: withdrawalStream(record.withdrawalId), events: events.map(toNewEvent) });
    for (const event of events) {
      record.state = withdrawalDecider.evolve(record.state, event);
      this.observe(event);
      // The process manager: the money consequence of an outcome, appended right after it.
      const reaction = holdCommandForWithdrawalEvent(event, record.state, this.meta());
      if (reaction !== null) this.account(reaction.accountId, reaction.command);
    }
  }

  private observe(event: AccountEvent | LedgerEvent): void {
    applyPostingsInPlace(this.balances, postingsOf(event as LedgerEvent));
    const withdrawalId = 'withdrawalId' in event.data ? event.data.withdrawalId : null;
    const record = this.withdrawals.find((candidate) => candidate.withdrawalId === withdrawalId);
    if (record !== undefined) record.track = advanceWithdrawalStatus(record.track, event as LedgerEvent).track;
  }
}

function toNewEvent(event: LedgerEvent): NewEvent {
  return { id: randomUUID(), type: event.type, data: event.data, metadata: { principal: 'simulation' } };
}

/** A small deterministic generator (mulberry32), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Seeded random actions weighted like the domain's property test: towards moving
 * withdrawals forward, so deep states (returned, reversed, reviews) are common.
 */
export function randomActions(seed: number, count: number): SimulationAction[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const withdrawal = () => Math.floor(random() * random() * 8);
  const amount = () => BigInt(1 + Math.floor(random() * 3_000));
  const attemptBack = () => (random() < 0.85 ? 0 : 1);
  const actions: SimulationAction[] = [];
  for (let i = 0; i < count; i += 1) {
    const roll = random() * 25;
    if (roll < 4) actions.push({ kind: 'deposit', account: Math.floor(random() * 100), amount: amount() });
    else if (roll < 8) actions.push({ kind: 'request', account: Math.floor(random() * 100), amount: amount() });
    else if (roll < 11) actions.push({ kind: 'initiate', withdrawal: withdrawal(), channel: pick(['alpha', 'beta']) });
    else if (roll < 12) actions.push({ kind: 'submit', withdrawal: withdrawal(), attemptBack: attemptBack(), reference: pick(['ref-a', 'ref-b']) });
    else if (roll < 20) actions.push({ kind: pick(['timeout', 'settle', 'settle', 'fail', 'return'] as const), withdrawal: withdrawal(), attemptBack: attemptBack() });
    else if (roll < 22) actions.push({ kind: pick(['cancel', 'review'] as const), withdrawal: withdrawal() });
    else if (roll < 24) actions.push({ kind: 'resolve', withdrawal: withdrawal(), decision: pick(['retry', 'fail', 'settled'] as const) });
    // Unfreezing more often than freezing keeps accounts open to deposits most of the time.
    else actions.push({ kind: pick(['freeze', 'unfreeze', 'unfreeze'] as const), account: Math.floor(random() * 100) });
  }
  return actions;
}
