import {
  accountDecider,
  withdrawalAmountLimitDefault,
  type AccountCommand,
  type AccountOpen,
} from './account-decider';
import { foldEvents } from './decider';
import { InvariantViolation } from './errors';
import type {
  AccountEvent,
  AccountFrozen,
  AccountOpened,
  DebitReversed,
  DebitSettled,
  Debited,
  FundsDeposited,
  PayoutDestination,
  WithdrawalRequested,
} from './events';
import { DeciderSpecification } from './testing/decider-specification';
import { destination, metadata, NOW, operator } from './testing/fixtures';

const spec = DeciderSpecification.for(accountDecider);

const opened: AccountOpened = {
  type: 'AccountOpened',
  data: { accountId: 'acc-1', ownerId: 'owner-1', currency: 'USD', openedAt: NOW },
};

const depositedOf = (amount: string): FundsDeposited => ({
  type: 'FundsDeposited',
  data: {
    accountId: 'acc-1',
    depositId: 'dep-1',
    amount,
    currency: 'USD',
    reference: 'wire 42',
    depositedAt: NOW,
    postings: [
      { account: 'external:deposits', side: 'debit', amount, currency: 'USD' },
      { account: 'user:acc-1:available', side: 'credit', amount, currency: 'USD' },
    ],
  },
});

const deposited = depositedOf('10000');

const requested: WithdrawalRequested = {
  type: 'WithdrawalRequested',
  data: {
    accountId: 'acc-1',
    withdrawalId: 'wd-1',
    amount: '2500',
    currency: 'USD',
    destination,
    channel: null,
    requestedAt: NOW,
  },
};

const debited: Debited = {
  type: 'Debited',
  data: {
    accountId: 'acc-1',
    withdrawalId: 'wd-1',
    amount: '2500',
    currency: 'USD',
    debitedAt: NOW,
    postings: [
      { account: 'user:acc-1:available', side: 'debit', amount: '2500', currency: 'USD' },
      { account: 'user:acc-1:pending', side: 'credit', amount: '2500', currency: 'USD' },
    ],
  },
};

const debitSettled: DebitSettled = {
  type: 'DebitSettled',
  data: {
    accountId: 'acc-1',
    withdrawalId: 'wd-1',
    amount: '2500',
    currency: 'USD',
    channel: 'sandbox',
    settledAt: NOW,
    postings: [
      { account: 'user:acc-1:pending', side: 'debit', amount: '2500', currency: 'USD' },
      { account: 'payouts:settled:sandbox', side: 'credit', amount: '2500', currency: 'USD' },
    ],
  },
};

const debitReversed: DebitReversed = {
  type: 'DebitReversed',
  data: {
    accountId: 'acc-1',
    withdrawalId: 'wd-1',
    amount: '2500',
    currency: 'USD',
    reason: 'payout_failed',
    reversedAt: NOW,
    postings: [
      { account: 'user:acc-1:pending', side: 'debit', amount: '2500', currency: 'USD' },
      { account: 'user:acc-1:available', side: 'credit', amount: '2500', currency: 'USD' },
    ],
  },
};

const frozen: AccountFrozen = {
  type: 'AccountFrozen',
  data: { accountId: 'acc-1', reason: 'fraud check', frozenAt: NOW, frozenBy: 'operator:alice' },
};

const open = (data: Partial<{ accountId: string; ownerId: string; currency: string }> = {}): AccountCommand => ({
  type: 'OpenAccount',
  data: { accountId: 'acc-1', ownerId: 'owner-1', currency: 'USD', ...data },
  metadata,
});

const deposit = (
  data: Partial<{ depositId: string; amount: bigint; currency: string; reference: string }> = {},
): AccountCommand => ({
  type: 'DepositFunds',
  data: { depositId: 'dep-1', amount: 10_000n, currency: 'USD', reference: 'wire 42', ...data },
  metadata,
});

const withdraw = (
  data: Partial<{
    withdrawalId: string;
    amount: bigint;
    currency: string;
    destination: PayoutDestination;
    channel: string | null;
    amountLimit: bigint;
  }> = {},
): AccountCommand => ({
  type: 'RequestWithdrawal',
  data: { withdrawalId: 'wd-1', amount: 2_500n, currency: 'USD', destination, channel: null, ...data },
  metadata,
});

const settle = (withdrawalId = 'wd-1', channel = 'sandbox'): AccountCommand => ({
  type: 'SettleDebit',
  data: { withdrawalId, channel },
  metadata,
});

const reverse = (withdrawalId = 'wd-1'): AccountCommand => ({
  type: 'ReverseDebit',
  data: { withdrawalId, reason: 'payout_failed' },
  metadata,
});

const returnDebit = (withdrawalId = 'wd-1'): AccountCommand => ({
  type: 'ReturnDebit',
  data: { withdrawalId, reason: 'beneficiary account closed' },
  metadata,
});

const freeze: AccountCommand = { type: 'FreezeAccount', data: { reason: 'fraud check' }, metadata: operator };
const unfreeze: AccountCommand = { type: 'UnfreezeAccount', data: { reason: 'cleared' }, metadata: operator };

const funded: AccountEvent[] = [opened, deposited];
const held: AccountEvent[] = [...funded, requested, debited];

describe('OpenAccount', () => {
  it('opens an account in a supported currency', () => {
    spec.given([]).when(open()).then([opened]);
  });

  it('rejects an account that is already open', () => {
    spec.given([opened]).when(open()).thenThrows('account_already_open', { accountId: 'acc-1' });
  });

  it('rejects an unsupported currency', () => {
    spec.given([]).when(open({ currency: 'XXX' })).thenThrows('unsupported_currency', { currency: 'XXX' });
  });

  it('rejects a lower-case currency rather than guessing', () => {
    spec.given([]).when(open({ currency: 'usd' })).thenThrows('unsupported_currency');
  });

  it('rejects a malformed account id', () => {
    spec.given([]).when(open({ accountId: 'acc 1' })).thenThrows('malformed_id', { field: 'accountId' });
  });

  it('rejects a blank owner', () => {
    spec.given([]).when(open({ ownerId: '  ' })).thenThrows('field_required', { field: 'ownerId' });
  });
});

describe('command metadata', () => {
  it('rejects a timestamp that is not ISO-8601 UTC', () => {
    spec
      .given([])
      .when({ ...open(), metadata: { now: '2026-11-23 10:41', principal: 'p' } } as AccountCommand)
      .thenThrows('malformed_metadata', { field: 'metadata.now' });
  });

  it('rejects an impossible date', () => {
    spec
      .given([])
      .when({ ...open(), metadata: { now: '2026-02-30T00:00:00Z', principal: 'p' } } as AccountCommand)
      .thenThrows('malformed_metadata', { field: 'metadata.now' });
  });

  it('rejects a missing principal', () => {
    spec
      .given([])
      .when({ ...open(), metadata: { now: NOW, principal: '' } } as AccountCommand)
      .thenThrows('malformed_metadata', { field: 'metadata.principal' });
  });
});

describe('DepositFunds', () => {
  it('credits available from external:deposits', () => {
    const state = spec.given([opened]).when(deposit()).then([deposited]) as AccountOpen;
    expect(state.amountAvailable).toBe(10_000n);
    expect(state.amountPending).toBe(0n);
  });

  it('rejects a deposit to an account that is not open', () => {
    spec.given([]).when(deposit()).thenThrows('account_not_open');
  });

  it('rejects a currency other than the account currency', () => {
    spec
      .given([opened])
      .when(deposit({ currency: 'EUR' }))
      .thenThrows('currency_mismatch', { currencyExpected: 'USD', currencyActual: 'EUR' });
  });

  it('rejects a deposit to a frozen account', () => {
    spec.given([opened, frozen]).when(deposit()).thenThrows('account_frozen');
  });

  it('rejects a zero amount', () => {
    spec.given([opened]).when(deposit({ amount: 0n })).thenThrows('amount_must_be_positive');
  });

  it('rejects a negative amount', () => {
    spec.given([opened]).when(deposit({ amount: -5n })).thenThrows('amount_must_be_positive');
  });

  it('rejects an amount above the maximum', () => {
    spec.given([opened]).when(deposit({ amount: 10n ** 18n })).thenThrows('amount_exceeds_max');
  });

  it('rejects a deposit that would take the balance above the maximum', () => {
    spec
      .given([opened, depositedOf('999999999999999000')])
      .when(deposit({ depositId: 'dep-2', amount: 1_000n }))
      .thenThrows('balance_exceeds_max', { amountAvailable: '999999999999999000' });
  });

  it('rejects a deposit id that was already applied, even with another amount', () => {
    spec.given(funded).when(deposit({ amount: 1n })).thenThrows('deposit_already_applied', { depositId: 'dep-1' });
  });

  it('rejects a malformed deposit id', () => {
    spec.given([opened]).when(deposit({ depositId: '' })).thenThrows('malformed_id', { field: 'depositId' });
  });

  it('rejects a blank reference', () => {
    spec.given([opened]).when(deposit({ reference: '' })).thenThrows('field_required', { field: 'reference' });
  });
});

describe('RequestWithdrawal', () => {
  it('records the request and holds the amount in one decision', () => {
    const state = spec.given(funded).when(withdraw()).then([requested, debited]) as AccountOpen;
    expect(state.amountAvailable).toBe(7_500n);
    expect(state.amountPending).toBe(2_500n);
    expect(state.holdsOpen.get('wd-1')).toEqual({ withdrawalId: 'wd-1', amount: 2_500n });
  });

  it('may withdraw the whole available balance', () => {
    const state = foldEvents(accountDecider, funded);
    const events = accountDecider.decide(withdraw({ amount: 10_000n }), state);
    expect((foldEvents(accountDecider, events, state) as AccountOpen).amountAvailable).toBe(0n);
  });

  it('keeps the requested channel', () => {
    const [event] = accountDecider.decide(withdraw({ channel: 'sandbox' }), foldEvents(accountDecider, funded));
    expect(event).toMatchObject({ type: 'WithdrawalRequested', data: { channel: 'sandbox' } });
  });

  it('rejects more than the available balance', () => {
    spec
      .given(funded)
      .when(withdraw({ amount: 10_001n }))
      .thenThrows('insufficient_funds', { amount: '10001', amountAvailable: '10000', currency: 'USD' });
  });

  it('does not count held money as available', () => {
    spec.given(held).when(withdraw({ withdrawalId: 'wd-2', amount: 7_501n })).thenThrows('insufficient_funds');
  });

  it('rejects a currency other than the account currency', () => {
    spec.given(funded).when(withdraw({ currency: 'GBP' })).thenThrows('currency_mismatch');
  });

  it('rejects a withdrawal from a frozen account', () => {
    spec.given([...funded, frozen]).when(withdraw()).thenThrows('account_frozen');
  });

  it('rejects a withdrawal from an account that is not open', () => {
    spec.given([]).when(withdraw()).thenThrows('account_not_open');
  });

  it('rejects a zero amount', () => {
    spec.given(funded).when(withdraw({ amount: 0n })).thenThrows('amount_must_be_positive');
  });

  it('rejects an amount above the limit given on the command', () => {
    spec
      .given(funded)
      .when(withdraw({ amount: 2_500n, amountLimit: 2_000n }))
      .thenThrows('amount_exceeds_limit', { amount: '2500', amountLimit: '2000' });
  });

  it('accepts an amount equal to the limit', () => {
    spec.given(funded).when(withdraw({ amountLimit: 2_500n })).then([requested, debited]);
  });

  it('applies the default limit of 1,000,000 major units when none is configured', () => {
    expect(withdrawalAmountLimitDefault('USD')).toBe(100_000_000n);
    expect(withdrawalAmountLimitDefault('JPY')).toBe(1_000_000n);
    expect(withdrawalAmountLimitDefault('BHD')).toBe(1_000_000_000n);
    spec
      .given([opened, depositedOf('200000000')])
      .when(withdraw({ amount: 100_000_001n }))
      .thenThrows('amount_exceeds_limit', { amountLimit: '100000000' });
  });

  it('rejects a withdrawal id that already has an open hold', () => {
    spec.given(held).when(withdraw({ amount: 1n })).thenThrows('withdrawal_already_requested', { withdrawalId: 'wd-1' });
  });

  it('rejects a withdrawal id whose hold was already resolved', () => {
    spec.given([...held, debitReversed]).when(withdraw()).thenThrows('withdrawal_already_requested');
  });

  it('rejects a malformed withdrawal id', () => {
    spec.given(funded).when(withdraw({ withdrawalId: 'wd/1' })).thenThrows('malformed_id', { field: 'withdrawalId' });
  });

  it('rejects a malformed channel', () => {
    spec.given(funded).when(withdraw({ channel: 'Sandbox-1' })).thenThrows('malformed_channel');
  });

  it('rejects a destination without a holder', () => {
    spec
      .given(funded)
      .when(withdraw({ destination: { ...destination, holderName: '' } }))
      .thenThrows('field_required', { field: 'destination.holderName' });
  });
});

describe('SettleDebit', () => {
  it('moves the hold from pending to the channel', () => {
    const state = spec.given(held).when(settle()).then([debitSettled]) as AccountOpen;
    expect(state.amountPending).toBe(0n);
    expect(state.amountAvailable).toBe(7_500n);
    expect(state.holdsOpen.size).toBe(0);
    expect(state.holdsResolved.get('wd-1')).toMatchObject({ resolution: 'settled', channel: 'sandbox', returned: false });
  });

  it('settles on a frozen account, because the bank already paid', () => {
    spec.given([...held, frozen]).when(settle()).then([debitSettled]);
  });

  it('rejects an unknown withdrawal', () => {
    spec.given(held).when(settle('wd-9')).thenThrows('hold_not_found', { withdrawalId: 'wd-9' });
  });

  it('rejects a hold that was already settled', () => {
    spec.given([...held, debitSettled]).when(settle()).thenThrows('hold_already_resolved', { resolution: 'settled' });
  });

  it('rejects a hold that was already reversed', () => {
    spec.given([...held, debitReversed]).when(settle()).thenThrows('hold_already_resolved', { resolution: 'reversed' });
  });

  it('rejects a malformed channel', () => {
    spec.given(held).when(settle('wd-1', 'no channel')).thenThrows('malformed_channel');
  });

  it('rejects when the account is not open', () => {
    spec.given([]).when(settle()).thenThrows('account_not_open');
  });
});

describe('ReverseDebit', () => {
  it('returns the hold to available', () => {
    const state = spec.given(held).when(reverse()).then([debitReversed]) as AccountOpen;
    expect(state.amountAvailable).toBe(10_000n);
    expect(state.amountPending).toBe(0n);
    expect(state.holdsResolved.get('wd-1')).toMatchObject({ resolution: 'reversed', channel: null });
  });

  it('reverses on a frozen account', () => {
    spec.given([...held, frozen]).when(reverse()).then([debitReversed]);
  });

  it('rejects an unknown withdrawal', () => {
    spec.given(held).when(reverse('wd-9')).thenThrows('hold_not_found');
  });

  it('rejects a hold that was already reversed', () => {
    spec.given([...held, debitReversed]).when(reverse()).thenThrows('hold_already_resolved', { resolution: 'reversed' });
  });

  it('rejects a hold that was already settled', () => {
    spec.given([...held, debitSettled]).when(reverse()).thenThrows('hold_already_resolved', { resolution: 'settled' });
  });

  it('rejects an unknown reason', () => {
    spec
      .given(held)
      .when({ type: 'ReverseDebit', data: { withdrawalId: 'wd-1', reason: 'whim' }, metadata } as unknown as AccountCommand)
      .thenThrows('field_required', { field: 'reason' });
  });

  it('rejects when the account is not open', () => {
    spec.given([]).when(reverse()).thenThrows('account_not_open');
  });
});

describe('ReturnDebit', () => {
  const settledHold = [...held, debitSettled];

  it('credits a returned payout back to available from the channel', () => {
    const state = spec
      .given(settledHold)
      .when(returnDebit())
      .then([
        {
          type: 'DebitReturned',
          data: {
            accountId: 'acc-1',
            withdrawalId: 'wd-1',
            amount: '2500',
            currency: 'USD',
            channel: 'sandbox',
            reason: 'beneficiary account closed',
            returnedAt: NOW,
            postings: [
              { account: 'payouts:settled:sandbox', side: 'debit', amount: '2500', currency: 'USD' },
              { account: 'user:acc-1:available', side: 'credit', amount: '2500', currency: 'USD' },
            ],
          },
        },
      ]) as AccountOpen;
    expect(state.amountAvailable).toBe(10_000n);
    expect(state.amountPending).toBe(0n);
  });

  it('rejects a return of a hold still open', () => {
    spec.given(held).when(returnDebit()).thenThrows('debit_not_settled', { holdStatus: 'open' });
  });

  it('rejects a return of a reversed hold', () => {
    spec.given([...held, debitReversed]).when(returnDebit()).thenThrows('debit_not_settled', { holdStatus: 'reversed' });
  });

  it('rejects a second return', () => {
    const events = accountDecider.decide(returnDebit(), foldEvents(accountDecider, settledHold));
    spec.given([...settledHold, ...events]).when(returnDebit()).thenThrows('debit_already_returned');
  });

  it('rejects an unknown withdrawal', () => {
    spec.given(settledHold).when(returnDebit('wd-9')).thenThrows('hold_not_found');
  });

  it('rejects a blank reason', () => {
    spec
      .given(settledHold)
      .when({ type: 'ReturnDebit', data: { withdrawalId: 'wd-1', reason: '' }, metadata })
      .thenThrows('field_required', { field: 'reason' });
  });

  it('rejects when the account is not open', () => {
    spec.given([]).when(returnDebit()).thenThrows('account_not_open');
  });
});

describe('FreezeAccount and UnfreezeAccount', () => {
  it('freezes, recording who and why', () => {
    const state = spec.given([opened]).when(freeze).then([frozen]) as AccountOpen;
    expect(state.frozen).toBe(true);
  });

  it('rejects freezing a frozen account', () => {
    spec.given([opened, frozen]).when(freeze).thenThrows('account_already_frozen');
  });

  it('unfreezes', () => {
    const state = spec
      .given([opened, frozen])
      .when(unfreeze)
      .then([
        {
          type: 'AccountUnfrozen',
          data: { accountId: 'acc-1', reason: 'cleared', unfrozenAt: NOW, unfrozenBy: 'operator:alice' },
        },
      ]) as AccountOpen;
    expect(state.frozen).toBe(false);
  });

  it('rejects unfreezing an account that is not frozen', () => {
    spec.given([opened]).when(unfreeze).thenThrows('account_not_frozen');
  });

  it('rejects a freeze without a reason', () => {
    spec
      .given([opened])
      .when({ type: 'FreezeAccount', data: { reason: ' ' }, metadata: operator })
      .thenThrows('field_required', { field: 'reason' });
  });

  it('rejects freezing or unfreezing an account that is not open', () => {
    spec.given([]).when(freeze).thenThrows('account_not_open');
    spec.given([]).when(unfreeze).thenThrows('account_not_open');
  });

  it('accepts deposits and withdrawals again after an unfreeze', () => {
    const unfrozen: AccountEvent = {
      type: 'AccountUnfrozen',
      data: { accountId: 'acc-1', reason: 'cleared', unfrozenAt: NOW, unfrozenBy: 'operator:alice' },
    };
    spec.given([opened, frozen, unfrozen]).when(deposit()).then([deposited]);
  });
});

describe('evolve', () => {
  it('refuses a corrupt stream instead of showing a wrong balance', () => {
    expect(() => foldEvents(accountDecider, [deposited])).toThrow(InvariantViolation);
    expect(() => foldEvents(accountDecider, [opened, opened])).toThrow(InvariantViolation);
    expect(() => foldEvents(accountDecider, [opened, debited])).toThrow(InvariantViolation);
    expect(() => foldEvents(accountDecider, [...held, debitSettled, debitReversed])).toThrow(InvariantViolation);
    expect(() => foldEvents(accountDecider, [...funded, deposited])).toThrow(InvariantViolation);
    expect(() => foldEvents(accountDecider, [...funded, debitSettled])).toThrow(InvariantViolation);
  });

  it('does not mutate the state it is given', () => {
    const before = foldEvents(accountDecider, held);
    const snapshot = foldEvents(accountDecider, held);
    accountDecider.evolve(before, debitSettled);
    expect(before).toEqual(snapshot);
  });
});
