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
 * A realistic ledger history for the projector's process-level tests: accounts in several
 * currencies, deposits, and withdrawals that take every path of the state machine
 * (settled, failed, timed out, cancelled, reviewed and retried, returned), all decided by
 * the real deciders and the process manager's money rule and interleaved across
 * withdrawals. Test-only.
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

const destination = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' } as const;

const facts = (w: PendingWithdrawal) => ({ withdrawalId: w.withdrawalId, accountId: w.accountId, amount: w.amount, currency: w.currency });

/** The paths a withdrawal may take, as the commands that drive it. */
function paths(meta: () => CommandMetadata): Step[][] {
  const initiate: Step = (w) => ({ type: 'InitiatePayout', data: { ...facts(w), channel: 'alpha', destination }, metadata: meta() });
  const submit: Step = (w) => ({ type: 'RecordPayoutSubmitted', data: { attempt: w.state.attempt, providerReference: `ref-${w.withdrawalId}-${w.state.attempt}` }, metadata: meta() });
  const settle: Step = (w) => ({ type: 'RecordSettlement', data: { attempt: w.state.attempt, providerReference: null }, metadata: meta() });
  const fail: Step = (w) => ({ type: 'RecordPayoutFailure', data: { attempt: w.state.attempt, providerReference: null, reason: 'declined' }, metadata: meta() });
  const timeout: Step = (w) => ({ type: 'RecordOutcomeUnknown', data: { attempt: w.state.attempt, reason: 'timeout' }, metadata: meta() });
  const giveBack: Step = (w) => ({ type: 'RecordPayoutReturned', data: { attempt: w.state.attempt, providerReference: null, reason: 'closed account' }, metadata: meta() });
  const cancel: Step = (w) => ({ type: 'CancelWithdrawal', data: { ...facts(w), reason: 'user' }, metadata: meta() });
  const review: Step = (w) => ({ type: 'RequestManualReview', data: { ...facts(w), reason: 'stuck' }, metadata: meta() });
  const resolve = (decision: 'retry' | 'fail' | 'settled'): Step => () => ({ type: 'ResolveManualReview', data: { decision, reason: 'ops' }, metadata: meta() });
  return [
    [initiate, submit, settle],
    [initiate, submit, settle],
    [initiate, fail],
    [initiate, submit, timeout, settle],
    [initiate, timeout, fail],
    [cancel],
    [initiate, review, resolve('retry'), initiate, submit, settle],
    [initiate, submit, settle, giveBack],
    [review, resolve('fail')],
    [initiate, timeout, review, resolve('settled')],
    [initiate, submit],
  ];
}

export interface LedgerHistory {
  appends: Array<{ stream: string; events: NewEvent[] }>;
  eventCount: number;
}

export function ledgerHistory(options: { withdrawals: number; random: () => number }): LedgerHistory {
  let clock = 0;
  const meta = (): CommandMetadata => {
    clock += 1;
    return { now: new Date(Date.parse('2026-11-23T09:00:00.000Z') + clock * 1_000).toISOString(), principal: 'history' };
  };
  const appends: LedgerHistory['appends'] = [];
  const currencies: CurrencyCode[] = ['EUR', 'USD', 'JPY', 'BHD', 'EUR', 'USD'];
  const accounts = currencies.map((currency, index) => ({ accountId: `hist-${index}`, currency, state: accountDecider.initialState() as AccountState }));
  const toNew = (event: LedgerEvent): NewEvent => ({ id: randomUUID(), type: event.type, data: event.data, metadata: { principal: 'history' } });
  const account = (accountId: string, command: AccountCommand) => {
    const target = accounts.find((candidate) => candidate.accountId === accountId)!;
    const events = accountDecider.decide(command, target.state);
    for (const event of events) target.state = accountDecider.evolve(target.state, event);
    appends.push({ stream: accountStream(accountId), events: events.map(toNew) });
  };
  for (const { accountId, currency } of accounts) {
    account(accountId, { type: 'OpenAccount', data: { accountId, ownerId: `owner-${accountId}`, currency }, metadata: meta() });
  }

  const routes = paths(meta);
  const pending: PendingWithdrawal[] = [];
  let created = 0;
  while (created < options.withdrawals || pending.length > 0) {
    if (created < options.withdrawals && (pending.length < 8 || options.random() < 0.3)) {
      const target = accounts[Math.floor(options.random() * accounts.length)]!;
      const amount = BigInt(100 + Math.floor(options.random() * 5_000));
      account(target.accountId, {
        type: 'DepositFunds',
        data: { depositId: `dep-${created}`, amount, currency: target.currency, reference: 'wire' },
        metadata: meta(),
      });
      const withdrawalId = `hist-wd-${created}`;
      account(target.accountId, {
        type: 'RequestWithdrawal',
        data: { withdrawalId, amount, currency: target.currency, destination, channel: null },
        metadata: meta(),
      });
      pending.push({
        withdrawalId,
        accountId: target.accountId,
        amount,
        currency: target.currency,
        state: withdrawalDecider.initialState(),
        steps: [...routes[Math.floor(options.random() * routes.length)]!],
      });
      created += 1;
      continue;
    }
    const index = Math.floor(options.random() * pending.length);
    const w = pending[index]!;
    const step = w.steps.shift();
    if (step === undefined) {
      pending.splice(index, 1);
      continue;
    }
    const events = withdrawalDecider.decide(step(w), w.state);
    if (events.length === 0) continue;
    appends.push({ stream: withdrawalStream(w.withdrawalId), events: events.map(toNew) });
    for (const event of events) {
      w.state = withdrawalDecider.evolve(w.state, event);
      const reaction = holdCommandForWithdrawalEvent(event, w.state, meta());
      if (reaction !== null) account(reaction.accountId, reaction.command);
    }
  }
  return { appends, eventCount: appends.reduce((sum, append) => sum + append.events.length, 0) };
}

export async function appendHistory(store: EventStore, history: LedgerHistory): Promise<void> {
  const revisions = new Map<string, bigint>();
  for (const append of history.appends) {
    const revision = revisions.get(append.stream);
    const result = await store.append(append.stream, append.events, { expectedRevision: revision ?? 'no_stream' });
    revisions.set(append.stream, result.nextExpectedRevision);
  }
}
