import { randomUUID } from 'node:crypto';
import {
  accountDecider,
  accountStream,
  withdrawalDecider,
  withdrawalStream,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type LedgerEvent,
  type WithdrawalEvent,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { InvariantChecker, type InvariantCode, type Violation } from './invariant-checker';
import { ReadModelModel } from './read-model-model';

const meta = (second: number) => ({ now: `2026-11-23T09:00:${String(second).padStart(2, '0')}.000Z`, principal: 'test' });
const destination = { type: 'bank_account', accountNumber: 'DE89', bankCode: 'COBA', holderName: 'Ada' } as const;

/** A log being written by hand: events recorded with consecutive positions and per-stream revisions. */
class Log {
  readonly events: RecordedEvent[] = [];
  private readonly revisions = new Map<string, bigint>();

  record(stream: string, event: LedgerEvent | { type: string; data: unknown }): RecordedEvent {
    const revision = this.revisions.has(stream) ? this.revisions.get(stream)! + 1n : 0n;
    this.revisions.set(stream, revision);
    const recorded: RecordedEvent = {
      id: randomUUID(),
      streamName: stream,
      type: event.type,
      data: event.data,
      metadata: {},
      streamRevision: revision,
      globalPosition: BigInt(this.events.length + 1),
      recordedAt: new Date(Date.parse('2026-11-23T09:00:00.000Z') + this.events.length),
    };
    this.events.push(recorded);
    return recorded;
  }
}

/** An account decided by the real decider, its events recorded into the log. */
function account(log: Log, accountId: string): { run(command: AccountCommand): AccountEvent[] } {
  let state: AccountState = accountDecider.initialState();
  return {
    run(command) {
      const events = accountDecider.decide(command, state);
      for (const event of events) {
        state = accountDecider.evolve(state, event);
        log.record(accountStream(accountId), event);
      }
      return events;
    },
  };
}

function check(events: readonly RecordedEvent[], densePositions = true): Violation[] {
  const violations: Violation[] = [];
  const checker = new InvariantChecker((violation) => violations.push(violation), { densePositions });
  const model = new ReadModelModel();
  for (const event of events) checker.check(event, model.apply(event).findings);
  checker.finish();
  return violations;
}

const codes = (violations: readonly Violation[]): InvariantCode[] => violations.map((violation) => violation.invariant);

/** A clean history: an account with a deposit and a withdrawal that is paid out. */
function cleanLedger(): { log: Log; acc: ReturnType<typeof account> } {
  const log = new Log();
  const acc = account(log, 'a-1');
  acc.run({ type: 'OpenAccount', data: { accountId: 'a-1', ownerId: 'o', currency: 'EUR' }, metadata: meta(0) });
  acc.run({ type: 'DepositFunds', data: { depositId: 'd-1', amount: 1_000n, currency: 'EUR', reference: 'r' }, metadata: meta(1) });
  acc.run({ type: 'RequestWithdrawal', data: { withdrawalId: 'w-1', amount: 400n, currency: 'EUR', destination, channel: null }, metadata: meta(2) });
  let withdrawal = withdrawalDecider.initialState();
  const decide = (command: Parameters<typeof withdrawalDecider.decide>[0]) => {
    for (const event of withdrawalDecider.decide(command, withdrawal)) {
      withdrawal = withdrawalDecider.evolve(withdrawal, event);
      log.record(withdrawalStream('w-1'), event);
    }
  };
  decide({ type: 'InitiatePayout', data: { withdrawalId: 'w-1', accountId: 'a-1', amount: 400n, currency: 'EUR', channel: 'alpha', destination }, metadata: meta(3) });
  decide({ type: 'RecordSettlement', data: { attempt: 1, providerReference: 'p-1' }, metadata: meta(4) });
  acc.run({ type: 'SettleDebit', data: { withdrawalId: 'w-1', channel: 'alpha' }, metadata: meta(5) });
  return { log, acc };
}

describe('InvariantChecker', () => {
  it('finds nothing in a history written by the deciders', () => {
    expect(check(cleanLedger().log.events)).toEqual([]);
  });

  it('M1 and M2: an unbalanced posting list, reported where the ledger goes out of balance and once at the end', () => {
    const { log } = cleanLedger();
    log.record(accountStream('a-1'), {
      type: 'FundsDeposited',
      data: {
        accountId: 'a-1',
        depositId: 'd-2',
        amount: '50',
        currency: 'EUR',
        reference: 'r',
        depositedAt: meta(6).now,
        postings: [
          { account: 'external:deposits', side: 'debit', amount: '50', currency: 'EUR' },
          { account: 'user:a-1:available', side: 'credit', amount: '60', currency: 'EUR' },
        ],
      },
    });
    const violations = check(log.events);
    expect(codes(violations)).toEqual(['M1', 'M2', 'M6', 'M2']);
    expect(violations[0]).toMatchObject({ position: 8n, stream: 'account-a-1', eventType: 'FundsDeposited', message: 'postings: EUR: debits 50 != credits 60' });
    expect(violations[3]!.message).toBe('at the end of the log the EUR ledger accounts sum to 10, not 0');
  });

  it('M5: a hold settled twice, and a reversal of a settled hold', () => {
    const { log } = cleanLedger();
    const settled = log.events.find((event) => event.type === 'DebitSettled')!;
    log.record(accountStream('a-1'), { type: 'DebitSettled', data: settled.data });
    log.record(accountStream('a-1'), {
      type: 'DebitReversed',
      data: { ...(settled.data as object), reason: 'payout_failed', reversedAt: meta(7).now, postings: [] },
    });
    const violations = check(log.events);
    expect(codes(violations)).toContain('M5');
    expect(violations.filter((v) => v.invariant === 'M5').map((v) => v.message)).toEqual([
      'DebitSettled resolves the hold of withdrawal w-1 a second time (it was settled)',
      'DebitReversed resolves the hold of withdrawal w-1 a second time (it was settled)',
    ]);
  });

  it('M3: a hold larger than the available balance', () => {
    const log = new Log();
    const acc = account(log, 'a-2');
    acc.run({ type: 'OpenAccount', data: { accountId: 'a-2', ownerId: 'o', currency: 'USD' }, metadata: meta(0) });
    log.record(accountStream('a-2'), {
      type: 'Debited',
      data: {
        accountId: 'a-2',
        withdrawalId: 'w-9',
        amount: '5',
        currency: 'USD',
        debitedAt: meta(1).now,
        postings: [
          { account: 'user:a-2:available', side: 'debit', amount: '5', currency: 'USD' },
          { account: 'user:a-2:pending', side: 'credit', amount: '5', currency: 'USD' },
        ],
      },
    });
    const violations = check(log.events);
    expect(violations.map((v) => [v.invariant, v.message])).toEqual([
      // The withdrawals projection meets a hold for a withdrawal nobody requested, too.
      ['W1', 'Debited for withdrawal w-9, which was never requested'],
      ['M3', 'the hold of 5 for withdrawal w-9 exceeds the available 0'],
      ['M3', 'account a-2 has available -5'],
    ]);
  });

  it('M7: an amount that is not an exact digit string', () => {
    const log = new Log();
    const acc = account(log, 'a-3');
    acc.run({ type: 'OpenAccount', data: { accountId: 'a-3', ownerId: 'o', currency: 'EUR' }, metadata: meta(0) });
    log.record(accountStream('a-3'), {
      type: 'FundsDeposited',
      data: {
        accountId: 'a-3',
        depositId: 'd-1',
        amount: 10.5,
        currency: 'EUR',
        reference: 'r',
        depositedAt: meta(1).now,
        postings: [
          { account: 'external:deposits', side: 'debit', amount: '10.50', currency: 'EUR' },
          { account: 'user:a-3:available', side: 'credit', amount: '10.50', currency: 'EUR' },
        ],
      },
    });
    expect(codes(check(log.events))).toEqual(['M7', 'M7', 'M7']);
  });

  it('W1 and S1: an illegal move on the withdrawal stream and a second settlement', () => {
    const { log } = cleanLedger();
    const settled = log.events.find((event) => event.type === 'Settled')!;
    log.record(withdrawalStream('w-1'), { type: 'Settled', data: settled.data } as WithdrawalEvent);
    log.record(withdrawalStream('w-1'), {
      type: 'PayoutFailed',
      data: { withdrawalId: 'w-1', channel: 'alpha', attempt: 1, providerReference: null, reason: 'late', failedAt: meta(9).now },
    });
    const violations = check(log.events);
    expect(violations.map((v) => [v.invariant, v.position])).toEqual([
      ['W1', 8n],
      ['S1', 8n],
      ['W1', 9n],
      ['W1', 9n],
    ]);
    expect(violations[0]!.message).toBe('cannot apply Settled to the withdrawal: illegal move from settled to settled');
    // The projection's own verdict on the cross-stream status: failed after settled is a contradiction.
    expect(violations[2]!.message).toBe('PayoutFailed moves withdrawal w-1 from settled to failed, which WITHDRAWAL_TRANSITIONS does not allow');
  });

  it('A1 and R1: money before the account was opened', () => {
    const log = new Log();
    log.record(accountStream('a-4'), {
      type: 'FundsDeposited',
      data: {
        accountId: 'a-4',
        depositId: 'd-1',
        amount: '10',
        currency: 'EUR',
        reference: 'r',
        depositedAt: meta(1).now,
        postings: [
          { account: 'external:deposits', side: 'debit', amount: '10', currency: 'EUR' },
          { account: 'user:a-4:available', side: 'credit', amount: '10', currency: 'EUR' },
        ],
      },
    });
    expect(codes(check(log.events))).toEqual(['R1', 'A1']);
  });

  it('E1, E2 and E3: revisions and positions', () => {
    const { log } = cleanLedger();
    const events = log.events.map((event) => ({ ...event }));
    events[3] = { ...events[3]!, streamRevision: 7n };
    const gapped = events.map((event, index) => (index >= 5 ? { ...event, globalPosition: event.globalPosition + 10n } : event));
    const violations = check(gapped);
    expect(violations.map((v) => [v.invariant, v.message])).toEqual([
      ['E1', 'revision 7 where 3 was next'],
      ['E3', 'positions 6 to 15 are missing'],
      ['E1', 'revision 4 where 8 was next'],
    ]);
    // EventStoreDB's commit positions have gaps by design.
    expect(codes(check(gapped, false))).toEqual(['E1', 'E1']);
    const backwards = [...log.events.slice(0, 3), log.events[1]!];
    expect(codes(check(backwards))).toContain('E2');
  });
});
