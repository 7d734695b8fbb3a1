import {
  assertCommandMetadata,
  assertNever,
  requireChannel,
  requireEntityId,
  requireText,
  type Decider,
  type DomainCommand,
} from './decider';
import { DomainRejection, InvariantViolation } from './errors';
import { DEBIT_REVERSAL_REASONS, type AccountEvent, type DebitReversalReason, type PayoutDestination } from './events';
import { AMOUNT_MAX, decodeAmount, encodeAmount, isCurrencyCode, minorUnitExponent, type CurrencyCode } from './money';
import {
  assertPostingsValid,
  EXTERNAL_DEPOSITS_ACCOUNT,
  payoutsSettledAccount,
  transfer,
  userAvailableAccount,
  userPendingAccount,
} from './postings';

/**
 * The account decider, stream `account-<accountId>`. It owns the user's balances:
 *
 *   amountAvailable >= 0
 *   amountPending   =  sum of amounts of holdsOpen
 *   each withdrawal id is held at most once, and each hold is resolved (settled or
 *   reversed) at most once; a settled hold is returned at most once
 *
 * Rules a reviewer should know:
 * - Deposits to a frozen account are refused (`account_frozen`): a freeze stops money
 *   movements the user or a payer starts. Holds already placed still settle, reverse and
 *   return on a frozen account, because that money has already left or come back at the
 *   bank and the ledger must follow the bank.
 * - A deposit id is applied at most once; a second `DepositFunds` with the same id is
 *   refused with `deposit_already_applied` rather than silently ignored, so a retry with a
 *   different amount under the same id cannot pass unnoticed. HTTP retries are answered by
 *   the idempotency-key store before they reach the decider.
 * - A deposit may not take available + pending above `AMOUNT_MAX` (`balance_exceeds_max`),
 *   so every user balance fits a PostgreSQL bigint. A returned payout is credited even past
 *   that bound: the money is back at the bank and refusing it would falsify the ledger.
 */

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

export type OpenAccount = DomainCommand<
  'OpenAccount',
  { readonly accountId: string; readonly ownerId: string; readonly currency: string }
>;

export type DepositFunds = DomainCommand<
  'DepositFunds',
  { readonly depositId: string; readonly amount: bigint; readonly currency: string; readonly reference: string }
>;

export type RequestWithdrawal = DomainCommand<
  'RequestWithdrawal',
  {
    readonly withdrawalId: string;
    readonly amount: bigint;
    readonly currency: string;
    readonly destination: PayoutDestination;
    /** The channel the client asked for, or null to let routing choose. */
    readonly channel: string | null;
    /**
     * The largest amount one withdrawal may have, in minor units, from configuration. When
     * absent, `withdrawalAmountLimitDefault(currency)` applies.
     */
    readonly amountLimit?: bigint;
  }
>;

/** The payout was paid through `channel` (the withdrawal's `Settled` or a `settled` review). */
export type SettleDebit = DomainCommand<'SettleDebit', { readonly withdrawalId: string; readonly channel: string }>;

/** The payout will not happen: release the hold. */
export type ReverseDebit = DomainCommand<
  'ReverseDebit',
  { readonly withdrawalId: string; readonly reason: DebitReversalReason }
>;

/** A settled payout came back from the bank (the withdrawal's `PayoutReturned`). */
export type ReturnDebit = DomainCommand<'ReturnDebit', { readonly withdrawalId: string; readonly reason: string }>;

export type FreezeAccount = DomainCommand<'FreezeAccount', { readonly reason: string }>;

export type UnfreezeAccount = DomainCommand<'UnfreezeAccount', { readonly reason: string }>;

export type AccountCommand =
  | OpenAccount
  | DepositFunds
  | RequestWithdrawal
  | SettleDebit
  | ReverseDebit
  | ReturnDebit
  | FreezeAccount
  | UnfreezeAccount;

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

export interface OpenHold {
  readonly withdrawalId: string;
  readonly amount: bigint;
}

export interface ResolvedHold {
  readonly withdrawalId: string;
  readonly amount: bigint;
  readonly resolution: 'settled' | 'reversed';
  /** The channel that paid a settled hold; null for a reversed one. */
  readonly channel: string | null;
  /** True once a settled payout came back (`DebitReturned`). */
  readonly returned: boolean;
}

export interface AccountNotOpen {
  readonly status: 'not_open';
}

export interface AccountOpen {
  readonly status: 'open';
  readonly accountId: string;
  readonly ownerId: string;
  readonly currency: CurrencyCode;
  readonly frozen: boolean;
  /** Spendable minor units. */
  readonly amountAvailable: bigint;
  /** Minor units held for withdrawals in flight: the sum of `holdsOpen`. */
  readonly amountPending: bigint;
  /** Holds not yet settled or reversed, by withdrawal id. */
  readonly holdsOpen: ReadonlyMap<string, OpenHold>;
  /** Holds settled or reversed, by withdrawal id; kept so none is resolved twice. */
  readonly holdsResolved: ReadonlyMap<string, ResolvedHold>;
  /** Every deposit id applied, so none is applied twice. */
  readonly depositIdsApplied: ReadonlySet<string>;
}

export type AccountState = AccountNotOpen | AccountOpen;

/**
 * The default per-withdrawal limit: 1,000,000 major units of the account's currency
 * (1,000,000.00 USD, 1,000,000 JPY, 1,000,000.000 BHD). Deployments set their own through
 * `RequestWithdrawal.amountLimit`; the default keeps an unconfigured system from paying out
 * an unbounded amount in one request.
 */
export const WITHDRAWAL_AMOUNT_LIMIT_DEFAULT_MAJOR_UNITS = 1_000_000n;

export function withdrawalAmountLimitDefault(currency: CurrencyCode): bigint {
  return WITHDRAWAL_AMOUNT_LIMIT_DEFAULT_MAJOR_UNITS * 10n ** BigInt(minorUnitExponent(currency));
}

export function initialAccountState(): AccountState {
  return { status: 'not_open' };
}

// ---------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------

export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  assertCommandMetadata(command.metadata);
  const events = decideAccountCommand(command, state);
  for (const event of events) {
    if ('postings' in event.data) assertPostingsValid(event.data.postings);
  }
  return events;
}

function decideAccountCommand(command: AccountCommand, state: AccountState): AccountEvent[] {
  switch (command.type) {
    case 'OpenAccount':
      return openAccount(command, state);
    case 'DepositFunds':
      return depositFunds(command, requireOpen(state));
    case 'RequestWithdrawal':
      return requestWithdrawal(command, requireOpen(state));
    case 'SettleDebit':
      return settleDebit(command, requireOpen(state));
    case 'ReverseDebit':
      return reverseDebit(command, requireOpen(state));
    case 'ReturnDebit':
      return returnDebit(command, requireOpen(state));
    case 'FreezeAccount':
      return freezeAccount(command, requireOpen(state));
    case 'UnfreezeAccount':
      return unfreezeAccount(command, requireOpen(state));
    default:
      return assertNever(command, 'account command');
  }
}

function openAccount(command: OpenAccount, state: AccountState): AccountEvent[] {
  if (state.status === 'open') {
    throw new DomainRejection('account_already_open', `account ${state.accountId} is already open`, {
      accountId: state.accountId,
    });
  }
  const { accountId, ownerId, currency } = command.data;
  requireEntityId(accountId, 'accountId');
  requireText(ownerId, 'ownerId');
  if (!isCurrencyCode(currency)) {
    throw new DomainRejection('unsupported_currency', `currency ${String(currency)} is not supported`, {
      currency: String(currency),
    });
  }
  return [{ type: 'AccountOpened', data: { accountId, ownerId, currency, openedAt: command.metadata.now } }];
}

function depositFunds(command: DepositFunds, account: AccountOpen): AccountEvent[] {
  const { depositId, amount, currency, reference } = command.data;
  requireEntityId(depositId, 'depositId');
  requireText(reference, 'reference');
  if (account.depositIdsApplied.has(depositId)) {
    throw new DomainRejection('deposit_already_applied', `deposit ${depositId} was already applied`, { depositId });
  }
  requireNotFrozen(account);
  requireAccountCurrency(account, currency);
  requirePositive(amount);
  if (amount > AMOUNT_MAX) {
    throw new DomainRejection('amount_exceeds_max', `an amount must not exceed ${AMOUNT_MAX.toString()}`, {
      amount: amount.toString(),
      amountMax: AMOUNT_MAX.toString(),
    });
  }
  const balanceAfter = account.amountAvailable + account.amountPending + amount;
  if (balanceAfter > AMOUNT_MAX) {
    throw new DomainRejection('balance_exceeds_max', 'the deposit would take the balance above the maximum', {
      amount: amount.toString(),
      amountAvailable: account.amountAvailable.toString(),
      amountPending: account.amountPending.toString(),
      amountMax: AMOUNT_MAX.toString(),
    });
  }
  return [
    {
      type: 'FundsDeposited',
      data: {
        accountId: account.accountId,
        depositId,
        amount: encodeAmount(amount),
        currency: account.currency,
        reference,
        depositedAt: command.metadata.now,
        postings: transfer(
          EXTERNAL_DEPOSITS_ACCOUNT,
          userAvailableAccount(account.accountId),
          amount,
          account.currency,
        ),
      },
    },
  ];
}

function requestWithdrawal(command: RequestWithdrawal, account: AccountOpen): AccountEvent[] {
  const { withdrawalId, amount, currency, destination, channel } = command.data;
  requireEntityId(withdrawalId, 'withdrawalId');
  requireDestination(destination);
  if (channel !== null) requireChannel(channel);
  if (account.holdsOpen.has(withdrawalId) || account.holdsResolved.has(withdrawalId)) {
    throw new DomainRejection('withdrawal_already_requested', `withdrawal ${withdrawalId} was already requested`, {
      withdrawalId,
    });
  }
  requireNotFrozen(account);
  requireAccountCurrency(account, currency);
  requirePositive(amount);
  const amountLimit = command.data.amountLimit ?? withdrawalAmountLimitDefault(account.currency);
  if (amount > amountLimit) {
    throw new DomainRejection('amount_exceeds_limit', 'the amount exceeds the per-withdrawal limit', {
      amount: amount.toString(),
      amountLimit: amountLimit.toString(),
      currency: account.currency,
    });
  }
  if (amount > account.amountAvailable) {
    throw new DomainRejection('insufficient_funds', 'the available balance does not cover the withdrawal', {
      amount: amount.toString(),
      amountAvailable: account.amountAvailable.toString(),
      currency: account.currency,
    });
  }
  const now = command.metadata.now;
  const amountDigits = encodeAmount(amount);
  return [
    {
      type: 'WithdrawalRequested',
      data: {
        accountId: account.accountId,
        withdrawalId,
        amount: amountDigits,
        currency: account.currency,
        destination,
        channel,
        requestedAt: now,
      },
    },
    {
      type: 'Debited',
      data: {
        accountId: account.accountId,
        withdrawalId,
        amount: amountDigits,
        currency: account.currency,
        debitedAt: now,
        postings: transfer(
          userAvailableAccount(account.accountId),
          userPendingAccount(account.accountId),
          amount,
          account.currency,
        ),
      },
    },
  ];
}

function settleDebit(command: SettleDebit, account: AccountOpen): AccountEvent[] {
  const { withdrawalId, channel } = command.data;
  requireChannel(channel);
  const hold = requireOpenHold(account, withdrawalId);
  return [
    {
      type: 'DebitSettled',
      data: {
        accountId: account.accountId,
        withdrawalId,
        amount: encodeAmount(hold.amount),
        currency: account.currency,
        channel,
        settledAt: command.metadata.now,
        postings: transfer(
          userPendingAccount(account.accountId),
          payoutsSettledAccount(channel),
          hold.amount,
          account.currency,
        ),
      },
    },
  ];
}

function reverseDebit(command: ReverseDebit, account: AccountOpen): AccountEvent[] {
  const { withdrawalId, reason } = command.data;
  if (!(DEBIT_REVERSAL_REASONS as readonly string[]).includes(reason)) {
    throw new DomainRejection('field_required', `reason must be one of ${DEBIT_REVERSAL_REASONS.join(', ')}`, {
      field: 'reason',
    });
  }
  const hold = requireOpenHold(account, withdrawalId);
  return [
    {
      type: 'DebitReversed',
      data: {
        accountId: account.accountId,
        withdrawalId,
        amount: encodeAmount(hold.amount),
        currency: account.currency,
        reason,
        reversedAt: command.metadata.now,
        postings: transfer(
          userPendingAccount(account.accountId),
          userAvailableAccount(account.accountId),
          hold.amount,
          account.currency,
        ),
      },
    },
  ];
}

function returnDebit(command: ReturnDebit, account: AccountOpen): AccountEvent[] {
  const { withdrawalId, reason } = command.data;
  requireText(reason, 'reason');
  if (account.holdsOpen.has(withdrawalId)) {
    throw new DomainRejection('debit_not_settled', `the hold for withdrawal ${withdrawalId} is not settled yet`, {
      withdrawalId,
      holdStatus: 'open',
    });
  }
  const hold = account.holdsResolved.get(withdrawalId);
  if (hold === undefined) {
    throw new DomainRejection('hold_not_found', `no hold for withdrawal ${withdrawalId}`, { withdrawalId });
  }
  if (hold.resolution !== 'settled' || hold.channel === null) {
    throw new DomainRejection(
      'debit_not_settled',
      `the hold for withdrawal ${withdrawalId} was reversed, not settled`,
      { withdrawalId, holdStatus: hold.resolution },
    );
  }
  if (hold.returned) {
    throw new DomainRejection(
      'debit_already_returned',
      `the payout of withdrawal ${withdrawalId} was already returned`,
      { withdrawalId },
    );
  }
  return [
    {
      type: 'DebitReturned',
      data: {
        accountId: account.accountId,
        withdrawalId,
        amount: encodeAmount(hold.amount),
        currency: account.currency,
        channel: hold.channel,
        reason,
        returnedAt: command.metadata.now,
        postings: transfer(
          payoutsSettledAccount(hold.channel),
          userAvailableAccount(account.accountId),
          hold.amount,
          account.currency,
        ),
      },
    },
  ];
}

function freezeAccount(command: FreezeAccount, account: AccountOpen): AccountEvent[] {
  requireText(command.data.reason, 'reason');
  if (account.frozen) {
    throw new DomainRejection('account_already_frozen', `account ${account.accountId} is already frozen`, {
      accountId: account.accountId,
    });
  }
  return [
    {
      type: 'AccountFrozen',
      data: {
        accountId: account.accountId,
        reason: command.data.reason,
        frozenAt: command.metadata.now,
        frozenBy: command.metadata.principal,
      },
    },
  ];
}

function unfreezeAccount(command: UnfreezeAccount, account: AccountOpen): AccountEvent[] {
  requireText(command.data.reason, 'reason');
  if (!account.frozen) {
    throw new DomainRejection('account_not_frozen', `account ${account.accountId} is not frozen`, {
      accountId: account.accountId,
    });
  }
  return [
    {
      type: 'AccountUnfrozen',
      data: {
        accountId: account.accountId,
        reason: command.data.reason,
        unfrozenAt: command.metadata.now,
        unfrozenBy: command.metadata.principal,
      },
    },
  ];
}

function requireOpen(state: AccountState): AccountOpen {
  if (state.status !== 'open') {
    throw new DomainRejection('account_not_open', 'the account is not open');
  }
  return state;
}

function requireNotFrozen(account: AccountOpen): void {
  if (account.frozen) {
    throw new DomainRejection('account_frozen', `account ${account.accountId} is frozen`, {
      accountId: account.accountId,
    });
  }
}

function requireAccountCurrency(account: AccountOpen, currency: string): void {
  if (currency !== account.currency) {
    throw new DomainRejection('currency_mismatch', `the account holds ${account.currency}, not ${String(currency)}`, {
      currencyExpected: account.currency,
      currencyActual: String(currency),
    });
  }
}

function requirePositive(amount: bigint): void {
  if (typeof amount !== 'bigint' || amount <= 0n) {
    throw new DomainRejection('amount_must_be_positive', 'the amount must be greater than zero', {
      amount: String(amount),
    });
  }
}

function requireDestination(destination: PayoutDestination): void {
  if (destination.type !== 'bank_account') {
    throw new DomainRejection('field_required', 'destination.type must be bank_account', { field: 'destination.type' });
  }
  requireText(destination.accountNumber, 'destination.accountNumber');
  requireText(destination.bankCode, 'destination.bankCode');
  requireText(destination.holderName, 'destination.holderName');
}

/** The open hold of a withdrawal, or the rejection that says why there is none. */
function requireOpenHold(account: AccountOpen, withdrawalId: string): OpenHold {
  const hold = account.holdsOpen.get(withdrawalId);
  if (hold !== undefined) return hold;
  const resolved = account.holdsResolved.get(withdrawalId);
  if (resolved !== undefined) {
    throw new DomainRejection(
      'hold_already_resolved',
      `the hold for withdrawal ${withdrawalId} was already ${resolved.resolution}`,
      { withdrawalId, resolution: resolved.resolution },
    );
  }
  throw new DomainRejection('hold_not_found', `no hold for withdrawal ${withdrawalId}`, { withdrawalId });
}

// ---------------------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------------------

/**
 * Folds one recorded event into the account state. It never mutates its input: a cached
 * state stays valid when an append fails. An event that contradicts the state (money before
 * the account opened, a hold resolved twice, an overdraft) means a corrupt stream and throws
 * `InvariantViolation`, because replaying it quietly would show a wrong balance.
 */
export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  if (event.type === 'AccountOpened') {
    if (state.status === 'open') throw corrupt(event, 'the account is already open');
    return {
      status: 'open',
      accountId: event.data.accountId,
      ownerId: event.data.ownerId,
      currency: event.data.currency,
      frozen: false,
      amountAvailable: 0n,
      amountPending: 0n,
      holdsOpen: new Map(),
      holdsResolved: new Map(),
      depositIdsApplied: new Set(),
    };
  }
  if (state.status !== 'open') throw corrupt(event, 'the account is not open');
  const account = state;
  switch (event.type) {
    case 'FundsDeposited': {
      if (account.depositIdsApplied.has(event.data.depositId)) {
        throw corrupt(event, 'the deposit id was already applied');
      }
      const depositIdsApplied = new Set(account.depositIdsApplied).add(event.data.depositId);
      return {
        ...account,
        amountAvailable: account.amountAvailable + decodeAmount(event.data.amount),
        depositIdsApplied,
      };
    }
    case 'WithdrawalRequested':
      // The hold is placed by the `Debited` appended with it; the request itself moves nothing.
      return account;
    case 'Debited': {
      const amount = decodeAmount(event.data.amount);
      const { withdrawalId } = event.data;
      if (account.holdsOpen.has(withdrawalId) || account.holdsResolved.has(withdrawalId)) {
        throw corrupt(event, 'the withdrawal already has a hold');
      }
      if (amount > account.amountAvailable) throw corrupt(event, 'the hold exceeds the available balance');
      return {
        ...account,
        amountAvailable: account.amountAvailable - amount,
        amountPending: account.amountPending + amount,
        holdsOpen: new Map(account.holdsOpen).set(withdrawalId, { withdrawalId, amount }),
      };
    }
    case 'DebitSettled': {
      const hold = expectOpenHold(account, event, event.data.withdrawalId, event.data.amount);
      return {
        ...resolveHold(account, hold, 'settled', event.data.channel),
        amountPending: account.amountPending - hold.amount,
      };
    }
    case 'DebitReversed': {
      const hold = expectOpenHold(account, event, event.data.withdrawalId, event.data.amount);
      return {
        ...resolveHold(account, hold, 'reversed', null),
        amountAvailable: account.amountAvailable + hold.amount,
        amountPending: account.amountPending - hold.amount,
      };
    }
    case 'DebitReturned': {
      const hold = account.holdsResolved.get(event.data.withdrawalId);
      if (hold === undefined || hold.resolution !== 'settled' || hold.returned) {
        throw corrupt(event, 'there is no settled, unreturned hold for the withdrawal');
      }
      if (decodeAmount(event.data.amount) !== hold.amount) throw corrupt(event, 'the amount differs from the hold');
      return {
        ...account,
        amountAvailable: account.amountAvailable + hold.amount,
        holdsResolved: new Map(account.holdsResolved).set(hold.withdrawalId, { ...hold, returned: true }),
      };
    }
    case 'AccountFrozen':
      return { ...account, frozen: true };
    case 'AccountUnfrozen':
      return { ...account, frozen: false };
    default:
      return assertNever(event, 'account event');
  }
}

function expectOpenHold(
  account: AccountOpen,
  event: AccountEvent,
  withdrawalId: string,
  amountDigits: string,
): OpenHold {
  const hold = account.holdsOpen.get(withdrawalId);
  if (hold === undefined) throw corrupt(event, 'the withdrawal has no open hold');
  if (decodeAmount(amountDigits) !== hold.amount) throw corrupt(event, 'the amount differs from the hold');
  return hold;
}

function resolveHold(
  account: AccountOpen,
  hold: OpenHold,
  resolution: ResolvedHold['resolution'],
  channel: string | null,
): AccountOpen {
  const holdsOpen = new Map(account.holdsOpen);
  holdsOpen.delete(hold.withdrawalId);
  const holdsResolved = new Map(account.holdsResolved).set(hold.withdrawalId, {
    withdrawalId: hold.withdrawalId,
    amount: hold.amount,
    resolution,
    channel,
    returned: false,
  });
  return { ...account, holdsOpen, holdsResolved };
}

function corrupt(event: AccountEvent, why: string): InvariantViolation {
  return new InvariantViolation(`cannot apply ${event.type} to the account: ${why}`);
}

export const accountDecider: Decider<AccountState, AccountCommand, AccountEvent> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccountState,
};
