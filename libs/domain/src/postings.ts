import { InvariantViolation } from './errors';
import { CHANNEL_PATTERN, ENTITY_ID_PATTERN } from './ids';
import { decodeAmount, encodeAmount, isCurrencyCode, parseAmount, type CurrencyCode } from './money';

/**
 * Double entry. Every event that moves money carries postings; per currency the debits of
 * one event equal its credits, so the ledger as a whole always sums to zero.
 *
 * Sign convention: for EVERY ledger account, balance = sum(credits) - sum(debits). One rule
 * for all accounts keeps the zero-sum invariant a one-line check:
 *
 *   for each currency c:  sum over accounts a of balance(a, c) = 0
 *
 * With this convention user accounts (what the ledger owes its users) are positive,
 * `external:deposits` is negative (minus the money that ever came in), and
 * `payouts:settled:<channel>` is positive (the money that left through that channel and did
 * not come back).
 *
 * Ledger accounts:
 * - `user:<accountId>:available`   spendable user money
 * - `user:<accountId>:pending`     user money held for withdrawals in flight
 * - `external:deposits`            the outside world's side of every deposit
 * - `payouts:settled:<channel>`    money paid out through a channel
 * - `payouts:in-transit:<channel>` reserved; no posting uses it today (see README): the
 *   money of a payout in flight is represented by the user's pending balance, which the
 *   account decider must see to enforce holds, so posting it to in-transit as well would
 *   count it twice.
 */

export type PostingSide = 'debit' | 'credit';

export interface Posting {
  /** A ledger account name matching `LEDGER_ACCOUNT_PATTERN`. */
  readonly account: string;
  readonly side: PostingSide;
  /** Minor units as a digit string, strictly positive. */
  readonly amount: string;
  readonly currency: CurrencyCode;
}

export const EXTERNAL_DEPOSITS_ACCOUNT = 'external:deposits';

export const LEDGER_ACCOUNT_PATTERN = new RegExp(
  `^(?:user:${source(ENTITY_ID_PATTERN)}:(?:available|pending)` +
    `|external:deposits` +
    `|payouts:(?:in-transit|settled):${source(CHANNEL_PATTERN)})$`,
);

export function userAvailableAccount(accountId: string): string {
  return `user:${accountId}:available`;
}

export function userPendingAccount(accountId: string): string {
  return `user:${accountId}:pending`;
}

export function payoutsInTransitAccount(channel: string): string {
  return `payouts:in-transit:${channel}`;
}

export function payoutsSettledAccount(channel: string): string {
  return `payouts:settled:${channel}`;
}

/**
 * Two postings that move `amount` out of `debitAccount` and into `creditAccount`. Every
 * money event in the domain is built from this, so it is balanced by construction; the
 * checks are assertions because a caller inside the domain passing a non-positive amount or
 * one account twice is a bug.
 */
export function transfer(
  debitAccount: string,
  creditAccount: string,
  amount: bigint,
  currency: CurrencyCode,
): Posting[] {
  if (amount <= 0n) {
    throw new InvariantViolation(`a transfer moves a positive amount, got ${amount.toString()}`);
  }
  if (debitAccount === creditAccount) {
    throw new InvariantViolation(`a transfer needs two different accounts, got ${debitAccount} twice`);
  }
  const digits = encodeAmount(amount);
  return [
    { account: debitAccount, side: 'debit', amount: digits, currency },
    { account: creditAccount, side: 'credit', amount: digits, currency },
  ];
}

export interface PostingTotals {
  readonly debitsTotal: bigint;
  readonly creditsTotal: bigint;
}

/** Sum of debits and of credits per currency. Postings are balanced when they are equal for every currency. */
export function postingsBalance(postings: readonly Posting[]): Map<CurrencyCode, PostingTotals> {
  const totals = new Map<CurrencyCode, PostingTotals>();
  for (const posting of postings) {
    const amount = decodeAmount(posting.amount);
    const current = totals.get(posting.currency) ?? { debitsTotal: 0n, creditsTotal: 0n };
    totals.set(
      posting.currency,
      posting.side === 'debit'
        ? { debitsTotal: current.debitsTotal + amount, creditsTotal: current.creditsTotal }
        : { debitsTotal: current.debitsTotal, creditsTotal: current.creditsTotal + amount },
    );
  }
  return totals;
}

export function postingsAreBalanced(postings: readonly Posting[]): boolean {
  for (const totals of postingsBalance(postings).values()) {
    if (totals.debitsTotal !== totals.creditsTotal) return false;
  }
  return true;
}

/**
 * Checks postings read from anywhere (an event, an import) and names every problem; an empty
 * list means valid. Valid postings are non-empty, each has a known account name, a side, a
 * strictly positive canonical amount and a supported currency, and they balance per currency.
 */
export function validatePostings(postings: readonly Posting[]): string[] {
  const problems: string[] = [];
  if (postings.length === 0) problems.push('a money event needs at least one posting');
  postings.forEach((posting, index) => {
    if (!LEDGER_ACCOUNT_PATTERN.test(posting.account)) problems.push(`posting ${index}: unknown ledger account`);
    if (posting.side !== 'debit' && posting.side !== 'credit') {
      problems.push(`posting ${index}: side must be debit or credit`);
    }
    if (!isCurrencyCode(posting.currency)) problems.push(`posting ${index}: unsupported currency`);
    const amount = parseAmount(posting.amount);
    if (!amount.ok) problems.push(`posting ${index}: ${amount.error.code}`);
    else if (amount.value === 0n) problems.push(`posting ${index}: amount must be positive`);
  });
  if (problems.length === 0) {
    for (const [currency, totals] of postingsBalance(postings)) {
      if (totals.debitsTotal !== totals.creditsTotal) {
        problems.push(
          `${currency}: debits ${totals.debitsTotal.toString()} != credits ${totals.creditsTotal.toString()}`,
        );
      }
    }
  }
  return problems;
}

/** Throws `InvariantViolation` unless the postings are valid. Deciders assert every event they emit. */
export function assertPostingsValid(postings: readonly Posting[]): void {
  const problems = validatePostings(postings);
  if (problems.length > 0) throw new InvariantViolation(`invalid postings: ${problems.join('; ')}`);
}

/**
 * Ledger balances keyed by `ledgerBalanceKey(currency, account)`. One account name such as
 * `external:deposits` holds a separate balance per currency, so the key carries both.
 */
export type LedgerBalances = ReadonlyMap<string, bigint>;

/** `USD/user:42:available`. Currency codes never contain `/`, so the first `/` splits the key. */
export function ledgerBalanceKey(currency: CurrencyCode, account: string): string {
  return `${currency}/${account}`;
}

export function ledgerBalanceOf(balances: LedgerBalances, account: string, currency: CurrencyCode): bigint {
  return balances.get(ledgerBalanceKey(currency, account)) ?? 0n;
}

/** Returns new balances with the postings applied (credit adds, debit subtracts); the input is not changed. */
export function applyPostings(balances: LedgerBalances, postings: readonly Posting[]): Map<string, bigint> {
  const next = new Map(balances);
  applyPostingsInPlace(next, postings);
  return next;
}

/**
 * Same rule as `applyPostings`, writing into `balances`. For replaying millions of events
 * (`ledger verify`), where copying the map per event would be quadratic.
 */
export function applyPostingsInPlace(balances: Map<string, bigint>, postings: readonly Posting[]): void {
  for (const posting of postings) {
    const key = ledgerBalanceKey(posting.currency, posting.account);
    const amount = decodeAmount(posting.amount);
    balances.set(key, (balances.get(key) ?? 0n) + (posting.side === 'credit' ? amount : -amount));
  }
}

/** Per currency, the sum over all ledger accounts. The double-entry invariant says every value is 0n. */
export function ledgerSumsByCurrency(balances: LedgerBalances): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const [key, balance] of balances) {
    const currency = key.slice(0, key.indexOf('/'));
    sums.set(currency, (sums.get(currency) ?? 0n) + balance);
  }
  return sums;
}

/** The body of an anchored pattern, to compose patterns without repeating them. */
function source(pattern: RegExp): string {
  return pattern.source.replace(/^\^/, '').replace(/\$$/, '');
}
