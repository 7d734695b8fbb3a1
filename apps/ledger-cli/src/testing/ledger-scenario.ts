import { randomUUID } from 'node:crypto';
import {
  accountDecider,
  accountStream,
  holdCommandForWithdrawalEvent,
  withdrawalDecider,
  withdrawalStream,
  type AccountCommand,
  type AccountState,
  type CommandMetadata,
  type CurrencyCode,
  type LedgerEvent,
  type WithdrawalCommand,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore, NewEvent } from '@ledger/event-store';

/**
 * A ledger for the CLI's tests, written through the real command side: every event is
 * decided by the domain's deciders (the account decider, the withdrawal decider) and the
 * payout process manager's money rule (`holdCommandForWithdrawalEvent`), then appended with
 * the exact expected revision, as the command API and the process manager do. Withdrawals
 * take every path of the state machine, interleaved. The scenario keeps its state between
 * `run` calls, so a test can project, look, and go on. Test-only.
 */

type Step = (withdrawal: PendingWithdrawal) => WithdrawalCommand;

interface PendingWithdrawal {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  state: WithdrawalState;
  readonly steps: Step[];
}

interface ScenarioAccount {
  readonly accountId: string;
  readonly currency: CurrencyCode;
  state: AccountState;
  revision: bigint | null;
}

const destination = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' } as const;

/** A seeded generator, so a failing run can be replayed from the seed in the test's name. */
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

export class LedgerScenario {
  readonly accounts: ScenarioAccount[];
  private readonly withdrawalRevisions = new Map<string, bigint>();
  private readonly pending: PendingWithdrawal[] = [];
  private clock = 0;
  private created = 0;
  readonly withdrawalIds: string[] = [];
  /** Every withdrawal requested so far, with its facts. */
  readonly withdrawals = new Map<string, { accountId: string; amount: bigint; currency: CurrencyCode }>();

  constructor(
    private readonly store: EventStore,
    private readonly random: () => number,
    private readonly prefix = 'cli',
  ) {
    const currencies: CurrencyCode[] = ['EUR', 'USD', 'JPY', 'BHD', 'EUR'];
    this.accounts = currencies.map((currency, index) => ({
      accountId: `${prefix}-acc-${index}`,
      currency,
      state: accountDecider.initialState(),
      revision: null,
    }));
  }

  /** Opens the accounts (one with a nanosecond business time, which PostgreSQL rounds) and a large deposit. */
  async open(): Promise<void> {
    for (const [index, account] of this.accounts.entries()) {
      const metadata = index === 0 ? { now: '2026-11-23T08:59:59.123456789Z', principal: 'scenario' } : this.meta();
      await this.account(account.accountId, { type: 'OpenAccount', data: { accountId: account.accountId, ownerId: `owner-${index}`, currency: account.currency }, metadata });
    }
    // An amount far above 2^53: any trip through a double would change its last digits.
    const big = this.accounts[4]!;
    await this.account(big.accountId, {
      type: 'DepositFunds',
      data: { depositId: `${this.prefix}-big`, amount: 987_654_321_987_654_321n, currency: big.currency, reference: 'treasury' },
      metadata: this.meta(),
    });
  }

  /** Creates `withdrawals` withdrawals (each after a deposit that covers it) and drives them, interleaved. */
  async run(withdrawals: number, options: { finish?: boolean } = {}): Promise<void> {
    const target = this.created + withdrawals;
    const routes = this.paths();
    while (this.created < target || (options.finish !== false && this.pending.length > 0)) {
      if (this.created < target && (this.pending.length < 6 || this.random() < 0.3)) {
        const account = this.accounts[Math.floor(this.random() * this.accounts.length)]!;
        const amount = BigInt(100 + Math.floor(this.random() * 5_000));
        await this.account(account.accountId, {
          type: 'DepositFunds',
          data: { depositId: `${this.prefix}-dep-${this.created}`, amount: amount + 7n, currency: account.currency, reference: 'wire, "urgent"' },
          metadata: this.meta(),
        });
        const withdrawalId = `${this.prefix}-wd-${this.created}`;
        await this.account(account.accountId, {
          type: 'RequestWithdrawal',
          data: { withdrawalId, amount, currency: account.currency, destination, channel: null },
          metadata: this.meta(),
        });
        this.withdrawalIds.push(withdrawalId);
        this.withdrawals.set(withdrawalId, { accountId: account.accountId, amount, currency: account.currency });
        this.pending.push({
          withdrawalId,
          accountId: account.accountId,
          amount,
          currency: account.currency,
          state: withdrawalDecider.initialState(),
          steps: [...routes[this.created % routes.length]!],
        });
        this.created += 1;
        continue;
      }
      if (this.pending.length === 0) break;
      const index = Math.floor(this.random() * this.pending.length);
      const withdrawal = this.pending[index]!;
      const step = withdrawal.steps.shift();
      if (step === undefined) {
        this.pending.splice(index, 1);
        continue;
      }
      await this.withdrawal(withdrawal, step(withdrawal));
    }
  }

  private async withdrawal(w: PendingWithdrawal, command: WithdrawalCommand): Promise<void> {
    const events = withdrawalDecider.decide(command, w.state);
    if (events.length === 0) return;
    const stream = withdrawalStream(w.withdrawalId);
    const result = await this.store.append(stream, events.map(toNew), { expectedRevision: this.withdrawalRevisions.get(stream) ?? 'no_stream' });
    this.withdrawalRevisions.set(stream, result.nextExpectedRevision);
    for (const event of events) {
      w.state = withdrawalDecider.evolve(w.state, event);
      // The payout process manager's reaction: the money moves on the account stream.
      const reaction = holdCommandForWithdrawalEvent(event, w.state, this.meta());
      if (reaction !== null) await this.account(reaction.accountId, reaction.command);
    }
  }

  private async account(accountId: string, command: AccountCommand): Promise<void> {
    const account = this.accounts.find((candidate) => candidate.accountId === accountId)!;
    const events = accountDecider.decide(command, account.state);
    const result = await this.store.append(accountStream(accountId), events.map(toNew), { expectedRevision: account.revision ?? 'no_stream' });
    account.revision = result.nextExpectedRevision;
    for (const event of events) account.state = accountDecider.evolve(account.state, event);
  }

  private meta(): CommandMetadata {
    this.clock += 1;
    return { now: new Date(Date.parse('2026-11-23T09:00:00.000Z') + this.clock * 1_000).toISOString(), principal: 'scenario' };
  }

  /** Every path of the state machine, as the commands that drive a withdrawal along it. */
  private paths(): Step[][] {
    const meta = () => this.meta();
    const facts = (w: PendingWithdrawal) => ({ withdrawalId: w.withdrawalId, accountId: w.accountId, amount: w.amount, currency: w.currency });
    const initiate = (channel = 'alpha'): Step => (w) => ({ type: 'InitiatePayout', data: { ...facts(w), channel, destination }, metadata: meta() });
    const submit: Step = (w) => ({ type: 'RecordPayoutSubmitted', data: { attempt: w.state.attempt, providerReference: `ref-${w.withdrawalId}-${w.state.attempt}` }, metadata: meta() });
    const settle: Step = (w) => ({ type: 'RecordSettlement', data: { attempt: w.state.attempt, providerReference: null }, metadata: meta() });
    const fail: Step = (w) => ({ type: 'RecordPayoutFailure', data: { attempt: w.state.attempt, providerReference: null, reason: 'declined' }, metadata: meta() });
    const attemptFailed: Step = (w) => ({ type: 'RecordPayoutAttemptFailed', data: { attempt: w.state.attempt, code: 'rejected', reason: 'refused' }, metadata: meta() });
    const timeout: Step = (w) => ({ type: 'RecordOutcomeUnknown', data: { attempt: w.state.attempt, reason: 'timeout' }, metadata: meta() });
    const giveBack: Step = (w) => ({ type: 'RecordPayoutReturned', data: { attempt: w.state.attempt, providerReference: null, reason: 'closed account' }, metadata: meta() });
    const cancel: Step = (w) => ({ type: 'CancelWithdrawal', data: { ...facts(w), reason: 'user' }, metadata: meta() });
    const review: Step = (w) => ({ type: 'RequestManualReview', data: { ...facts(w), reason: 'stuck' }, metadata: meta() });
    const resolve =
      (decision: 'retry' | 'fail' | 'settled'): Step =>
      () => ({ type: 'ResolveManualReview', data: { decision, reason: 'ops' }, metadata: meta() });
    return [
      [initiate(), submit, settle],
      [initiate(), fail],
      [initiate(), submit, timeout, settle],
      [initiate(), timeout, fail],
      [cancel],
      [initiate(), review, resolve('retry'), initiate('beta'), submit, settle],
      [initiate(), submit, settle, giveBack],
      [review, resolve('fail')],
      [initiate(), timeout, review, resolve('settled')],
      [initiate(), attemptFailed, initiate('beta'), submit, settle],
      [initiate(), submit],
      [review],
    ];
  }
}

function toNew(event: LedgerEvent): NewEvent {
  return { id: randomUUID(), type: event.type, data: event.data, metadata: { principal: 'scenario', correlationId: randomUUID() } };
}
