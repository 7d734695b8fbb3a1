import {
  applyPostingsInPlace,
  evolveWithdrawal,
  initialWithdrawalState,
  isAccountEvent,
  isLedgerEventType,
  isMoneyEvent,
  isWithdrawalEvent,
  ledgerBalanceKey,
  ledgerSumsByCurrency,
  parseAmount,
  postingsOf,
  userAvailableAccount,
  userPendingAccount,
  validatePostings,
  type AccountEvent,
  type CurrencyCode,
  type LedgerEvent,
  type WithdrawalEvent,
  type WithdrawalState,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import type { ModelFinding } from './read-model-model';

/**
 * The invariants `ledger verify` checks on the log, after every event. The M and W codes are
 * those of docs/invariants.md; the others are named here (docs/cli.md lists them all).
 */
export const INVARIANTS = {
  M1: 'every money event balances: per currency, debits = credits',
  M2: 'per currency, the sum over all ledger accounts is zero after every event',
  M3: 'no available (or pending) balance is negative; no hold exceeds the available balance',
  M4: 'pending = the sum of the open holds of the account',
  M5: 'every hold is resolved (settled or reversed) at most once, and returned at most once after it settled',
  M6: "a user's ledger accounts equal the account decider's state (postings agree with the events' amounts)",
  M7: 'every amount is an exact digit string',
  W1: 'every withdrawal status change is in WITHDRAWAL_TRANSITIONS',
  S1: 'a withdrawal is settled at most once (a Settled event or a settled review decision)',
  A1: 'streams are consistent: an account opens once, before anything else, in one currency; events name their own stream',
  R1: 'every event can be projected: the read models would not refuse it',
  E1: 'stream revisions run 0, 1, 2, ... without gaps',
  E2: 'global positions strictly increase',
  E3: 'PostgreSQL positions are dense: no gaps',
} as const;

export type InvariantCode = keyof typeof INVARIANTS;

export interface Violation {
  readonly invariant: InvariantCode;
  readonly position: bigint;
  readonly stream: string;
  readonly eventType: string;
  readonly message: string;
}

interface AccountFold {
  currency: string | null;
  /** The decider's available balance, from the events' `amount` fields. */
  amountAvailable: bigint;
  /** The sum of the account's open holds. */
  holdsOpenTotal: bigint;
}

interface Hold {
  readonly accountId: string;
  readonly amount: bigint;
  state: 'open' | 'settled' | 'reversed';
  returned: boolean;
}

interface WithdrawalFold {
  state: WithdrawalState;
  settlements: number;
}

const AMOUNT_SYNTAX_PROBLEM = /amount_(not_a_string|empty|not_digits|leading_zero|exceeds_max)/;

/**
 * Checks the invariants on the log, one event at a time, keeping only folded state: the
 * ledger balances (one per ledger account and currency), per account its decider balance,
 * per withdrawal its hold and its stream's state, per stream its last revision.
 *
 * It folds with its own mutable maps instead of the account decider's `evolve`, which copies
 * an account's maps on every event (right for a decider, quadratic over a hot account's
 * millions of events), and reports each broken rule by name and goes on instead of stopping
 * at the first, as `evolve` must. The withdrawal stream is folded with the domain's
 * `evolveWithdrawal`, whose state is small.
 *
 * A condition that holds over a stretch of the log (a negative balance, a ledger out of
 * balance) is reported where it starts, once, and again only if it clears and comes back.
 */
export class InvariantChecker {
  private readonly ledger = new Map<string, bigint>();
  private readonly sums = new Map<string, bigint>();
  private readonly accounts = new Map<string, AccountFold>();
  private readonly holds = new Map<string, Hold>();
  private readonly withdrawals = new Map<string, WithdrawalFold>();
  private readonly revisions = new Map<string, bigint>();
  private readonly ongoing = new Set<string>();
  private lastPosition: bigint | null = null;
  private current: RecordedEvent | undefined;

  constructor(
    private readonly report: (violation: Violation) => void,
    private readonly options: { densePositions: boolean },
  ) {}

  check(recorded: RecordedEvent, findings: readonly ModelFinding[]): void {
    this.current = recorded;
    this.checkLog(recorded);
    for (const finding of findings) this.violation(finding.kind === 'illegal_transition' ? 'W1' : 'R1', finding.message);
    if (!isLedgerEventType(recorded.type)) return;
    const event = { type: recorded.type, data: recorded.data } as LedgerEvent;
    this.checkAmounts(event);
    const posted = this.post(event);
    if (isAccountEvent(event)) this.foldAccount(recorded, event);
    if (isWithdrawalEvent(event)) this.foldWithdrawal(recorded, event);
    for (const accountId of posted) this.checkAccountBalances(accountId);
  }

  /** The checks that need the whole log: M2 over the final ledger balances. */
  finish(): Map<string, bigint> {
    this.current = undefined;
    const sums = ledgerSumsByCurrency(this.ledger);
    for (const [currency, sum] of sums) {
      if (sum !== 0n) this.violation('M2', `at the end of the log the ${currency} ledger accounts sum to ${sum.toString()}, not 0`);
    }
    return sums;
  }

  get accountsSeen(): number {
    return this.accounts.size;
  }

  get withdrawalsSeen(): number {
    return this.withdrawals.size;
  }

  private checkLog(recorded: RecordedEvent): void {
    const position = recorded.globalPosition;
    if (this.lastPosition !== null && position <= this.lastPosition) {
      this.violation('E2', `position ${position.toString()} follows position ${this.lastPosition.toString()}`);
    } else if (this.options.densePositions && position !== (this.lastPosition ?? 0n) + 1n) {
      this.violation('E3', `positions ${((this.lastPosition ?? 0n) + 1n).toString()} to ${(position - 1n).toString()} are missing`);
    }
    this.lastPosition = position;
    const last = this.revisions.get(recorded.streamName);
    const expected = last === undefined ? 0n : last + 1n;
    if (recorded.streamRevision !== expected) {
      this.violation('E1', `revision ${recorded.streamRevision.toString()} where ${expected.toString()} was next`);
    }
    this.revisions.set(recorded.streamName, recorded.streamRevision);
  }

  private checkAmounts(event: LedgerEvent): void {
    const data = event.data as { amount?: unknown };
    if ('amount' in data) {
      const parsed = parseAmount(data.amount);
      if (!parsed.ok) this.violation('M7', `data.amount ${JSON.stringify(data.amount)}: ${parsed.error.code}`);
    }
  }

  /** Applies the event's postings to the ledger (M1, M2, M7); returns the user accounts they touch. */
  private post(event: LedgerEvent): Set<string> {
    const touched = new Set<string>();
    if (!isMoneyEvent(event)) return touched;
    const postings = postingsOf(event);
    const problems = validatePostings(postings);
    for (const problem of problems) this.violation(AMOUNT_SYNTAX_PROBLEM.test(problem) ? 'M7' : 'M1', `postings: ${problem}`);
    if (postings.some((posting) => !parseAmount(posting.amount).ok)) return touched;
    applyPostingsInPlace(this.ledger, postings);
    const currencies = new Set<string>();
    for (const posting of postings) {
      const amount = BigInt(posting.amount);
      currencies.add(posting.currency);
      this.sums.set(posting.currency, (this.sums.get(posting.currency) ?? 0n) + (posting.side === 'credit' ? amount : -amount));
      const user = /^user:(.+):(available|pending)$/.exec(posting.account);
      if (user !== null) touched.add(user[1]!);
    }
    for (const currency of currencies) {
      const sum = this.sums.get(currency)!;
      this.condition('M2', currency, sum !== 0n, () => `the ${currency} ledger accounts sum to ${sum.toString()}, not 0`);
    }
    return touched;
  }

  private foldAccount(recorded: RecordedEvent, event: AccountEvent): void {
    const streamId = recorded.streamName.startsWith('account-') ? recorded.streamName.slice('account-'.length) : null;
    if (streamId !== event.data.accountId) {
      this.violation('A1', `${event.type} of account ${event.data.accountId} is on stream ${recorded.streamName}`);
    }
    const accountId = event.data.accountId;
    let account = this.accounts.get(accountId);
    if (event.type === 'AccountOpened') {
      if (account?.currency) this.violation('A1', `account ${accountId} is opened a second time`);
      if (account === undefined) {
        account = { currency: event.data.currency, amountAvailable: 0n, holdsOpenTotal: 0n };
        this.accounts.set(accountId, account);
      } else {
        account.currency ??= event.data.currency;
      }
      return;
    }
    if (account === undefined || account.currency === null) {
      this.violation('A1', `${event.type} before account ${accountId} was opened`);
      account ??= { currency: null, amountAvailable: 0n, holdsOpenTotal: 0n };
      this.accounts.set(accountId, account);
    }
    for (const posting of postingsOf(event)) {
      if (account.currency !== null && posting.currency !== account.currency) {
        this.violation('A1', `a ${posting.currency} posting on ${account.currency} account ${accountId}`);
      }
    }
    const amount = 'amount' in event.data ? safeAmount(event.data.amount) : 0n;
    switch (event.type) {
      case 'FundsDeposited':
        account.amountAvailable += amount;
        return;
      case 'Debited': {
        const { withdrawalId } = event.data;
        const existing = this.holds.get(withdrawalId);
        if (existing !== undefined) {
          this.violation('M5', `a second hold for withdrawal ${withdrawalId} (the first is ${existing.state}, on account ${existing.accountId})`);
          return;
        }
        if (amount > account.amountAvailable) {
          this.violation('M3', `the hold of ${amount.toString()} for withdrawal ${withdrawalId} exceeds the available ${account.amountAvailable.toString()}`);
        }
        account.amountAvailable -= amount;
        account.holdsOpenTotal += amount;
        this.holds.set(withdrawalId, { accountId, amount, state: 'open', returned: false });
        return;
      }
      case 'DebitSettled':
      case 'DebitReversed': {
        const hold = this.openHold(event.data.withdrawalId, accountId, event.type);
        if (hold === null) return;
        if (amount !== hold.amount) {
          this.violation('M5', `${event.type} of ${amount.toString()} for a hold of ${hold.amount.toString()} (withdrawal ${event.data.withdrawalId})`);
        }
        hold.state = event.type === 'DebitSettled' ? 'settled' : 'reversed';
        account.holdsOpenTotal -= hold.amount;
        if (event.type === 'DebitReversed') account.amountAvailable += hold.amount;
        return;
      }
      case 'DebitReturned': {
        const { withdrawalId } = event.data;
        const hold = this.holds.get(withdrawalId);
        if (hold === undefined || hold.accountId !== accountId || hold.state !== 'settled') {
          this.violation('M5', `DebitReturned for withdrawal ${withdrawalId}, whose hold on this account is ${hold === undefined || hold.accountId !== accountId ? 'missing' : hold.state}, not settled`);
          return;
        }
        if (hold.returned) {
          this.violation('M5', `withdrawal ${withdrawalId} is returned a second time`);
          return;
        }
        if (amount !== hold.amount) {
          this.violation('M5', `DebitReturned of ${amount.toString()} for a hold of ${hold.amount.toString()} (withdrawal ${withdrawalId})`);
        }
        hold.returned = true;
        account.amountAvailable += hold.amount;
        return;
      }
      case 'WithdrawalRequested':
      case 'AccountFrozen':
      case 'AccountUnfrozen':
        return;
    }
  }

  /** The hold a settlement or reversal resolves, or null (reported) when it is not open. */
  private openHold(withdrawalId: string, accountId: string, type: string): Hold | null {
    const hold = this.holds.get(withdrawalId);
    if (hold === undefined || hold.accountId !== accountId) {
      this.violation('M5', `${type} for withdrawal ${withdrawalId}, which has no hold on account ${accountId}`);
      return null;
    }
    if (hold.state !== 'open') {
      this.violation('M5', `${type} resolves the hold of withdrawal ${withdrawalId} a second time (it was ${hold.state})`);
      return null;
    }
    return hold;
  }

  /** M3, M4, M6 for one user account after an event that posted to it. */
  private checkAccountBalances(accountId: string): void {
    const account = this.accounts.get(accountId);
    if (account?.currency === null || account === undefined) return;
    const currency = account.currency as CurrencyCode;
    const available = this.ledger.get(ledgerBalanceKey(currency, userAvailableAccount(accountId))) ?? 0n;
    const pending = this.ledger.get(ledgerBalanceKey(currency, userPendingAccount(accountId))) ?? 0n;
    this.condition('M3', `available:${accountId}`, available < 0n, () => `account ${accountId} has available ${available.toString()}`);
    this.condition('M3', `pending:${accountId}`, pending < 0n, () => `account ${accountId} has pending ${pending.toString()}`);
    this.condition(
      'M4',
      accountId,
      pending !== account.holdsOpenTotal,
      () => `account ${accountId} has pending ${pending.toString()} but its open holds add up to ${account.holdsOpenTotal.toString()}`,
    );
    this.condition(
      'M6',
      accountId,
      available !== account.amountAvailable,
      () => `account ${accountId}: the postings give available ${available.toString()}, the events' amounts ${account.amountAvailable.toString()}`,
    );
  }

  private foldWithdrawal(recorded: RecordedEvent, event: WithdrawalEvent): void {
    const { withdrawalId } = event.data;
    if (recorded.streamName !== `withdrawal-${withdrawalId}`) {
      this.violation('A1', `${event.type} of withdrawal ${withdrawalId} is on stream ${recorded.streamName}`);
    }
    let fold = this.withdrawals.get(withdrawalId);
    if (fold === undefined) {
      fold = { state: initialWithdrawalState(), settlements: 0 };
      this.withdrawals.set(withdrawalId, fold);
    }
    try {
      fold.state = evolveWithdrawal(fold.state, event);
    } catch (error) {
      // The decider refuses the event (an illegal move, a wrong attempt number, facts that
      // differ): the status stays where it was, as the projection keeps it.
      this.violation('W1', error instanceof Error ? error.message : String(error));
    }
    if (event.type === 'Settled' || (event.type === 'ManualReviewResolved' && event.data.decision === 'settled')) {
      fold.settlements += 1;
      if (fold.settlements > 1) this.violation('S1', `withdrawal ${withdrawalId} is settled for the ${ordinal(fold.settlements)} time`);
    }
  }

  /** Reports a violation that lasts over a stretch of the log where it starts, once. */
  private condition(invariant: InvariantCode, subject: string, violated: boolean, message: () => string): void {
    const key = `${invariant}\u0000${subject}`;
    if (violated && !this.ongoing.has(key)) {
      this.ongoing.add(key);
      this.violation(invariant, message());
    } else if (!violated) {
      this.ongoing.delete(key);
    }
  }

  private violation(invariant: InvariantCode, message: string): void {
    const event = this.current;
    this.report({
      invariant,
      position: event?.globalPosition ?? (this.lastPosition ?? 0n),
      stream: event?.streamName ?? '(end of log)',
      eventType: event?.type ?? '',
      message,
    });
  }
}

function safeAmount(value: unknown): bigint {
  const parsed = parseAmount(value);
  return parsed.ok ? parsed.value : 0n;
}

function ordinal(n: number): string {
  return n === 2 ? 'second' : n === 3 ? 'third' : `${n}th`;
}
