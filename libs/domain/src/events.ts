import type { CurrencyCode } from './money';
import type { Posting } from './postings';
import type { ReviewDecision, WithdrawalStatus } from './withdrawal-status';

/**
 * The event catalogue. Events are plain JSON data: a stable PascalCase `type` and a `data`
 * object. Amounts in data are digit strings of minor units (`"1050"`), never numbers, so any
 * tool reads them exactly; deciders convert with `encodeAmount`/`decodeAmount`. Times are
 * ISO-8601 UTC strings taken from the command (`metadata.now`); the domain never reads a
 * clock. Correlation, causation and the acting principal also travel in the store's event
 * metadata; data repeats the principal only where an operator's decision is the fact
 * (freezes, cancellations, reviews).
 *
 * Money events carry `postings` (see `postings.ts`); every other event has none.
 */
export interface DomainEvent<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
}

/** Where a payout goes. Only bank accounts exist today; the union leaves room for more. */
export interface BankAccountDestination {
  readonly type: 'bank_account';
  readonly accountNumber: string;
  readonly bankCode: string;
  readonly holderName: string;
}

export type PayoutDestination = BankAccountDestination;

/** Why a hold went back to available. */
export const DEBIT_REVERSAL_REASONS = ['payout_failed', 'withdrawal_cancelled', 'review_failed'] as const;

export type DebitReversalReason = (typeof DEBIT_REVERSAL_REASONS)[number];

// ---------------------------------------------------------------------------------------
// Stream `account-<accountId>`
// ---------------------------------------------------------------------------------------

export type AccountOpened = DomainEvent<
  'AccountOpened',
  {
    readonly accountId: string;
    readonly ownerId: string;
    readonly currency: CurrencyCode;
    readonly openedAt: string;
  }
>;

/** Money came in from outside. Postings: debit `external:deposits`, credit `user:<id>:available`. */
export type FundsDeposited = DomainEvent<
  'FundsDeposited',
  {
    readonly accountId: string;
    /** Unique per account: a deposit id is applied at most once. */
    readonly depositId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    /** The payer's or bank's reference, kept for reconciliation. */
    readonly reference: string;
    readonly depositedAt: string;
    readonly postings: readonly Posting[];
  }
>;

/**
 * The user asked to withdraw. Always appended together with `Debited` in one append, so the
 * balance check and the hold happen under one expected revision.
 */
export type WithdrawalRequested = DomainEvent<
  'WithdrawalRequested',
  {
    readonly accountId: string;
    readonly withdrawalId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly destination: PayoutDestination;
    /** The channel the client asked for, or null to let routing choose. */
    readonly channel: string | null;
    readonly requestedAt: string;
  }
>;

/** The withdrawal's amount is held. Postings: debit `user:<id>:available`, credit `user:<id>:pending`. */
export type Debited = DomainEvent<
  'Debited',
  {
    readonly accountId: string;
    readonly withdrawalId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly debitedAt: string;
    readonly postings: readonly Posting[];
  }
>;

/**
 * The payout was paid: the hold leaves the account.
 * Postings: debit `user:<id>:pending`, credit `payouts:settled:<channel>`.
 */
export type DebitSettled = DomainEvent<
  'DebitSettled',
  {
    readonly accountId: string;
    readonly withdrawalId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly channel: string;
    readonly settledAt: string;
    readonly postings: readonly Posting[];
  }
>;

/**
 * Compensation: the payout will not happen, the hold returns to available.
 * Postings: debit `user:<id>:pending`, credit `user:<id>:available`.
 */
export type DebitReversed = DomainEvent<
  'DebitReversed',
  {
    readonly accountId: string;
    readonly withdrawalId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly reason: DebitReversalReason;
    readonly reversedAt: string;
    readonly postings: readonly Posting[];
  }
>;

/**
 * A settled payout came back from the bank (the withdrawal's `PayoutReturned`): the money is
 * available again. Postings: debit `payouts:settled:<channel>`, credit `user:<id>:available`.
 * Not in the first catalogue draft: a returned payout's hold was already resolved by
 * `DebitSettled`, so `DebitReversed` (which releases a hold) cannot express it without
 * resolving one hold twice.
 */
export type DebitReturned = DomainEvent<
  'DebitReturned',
  {
    readonly accountId: string;
    readonly withdrawalId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly channel: string;
    readonly reason: string;
    readonly returnedAt: string;
    readonly postings: readonly Posting[];
  }
>;

export type AccountFrozen = DomainEvent<
  'AccountFrozen',
  { readonly accountId: string; readonly reason: string; readonly frozenAt: string; readonly frozenBy: string }
>;

export type AccountUnfrozen = DomainEvent<
  'AccountUnfrozen',
  { readonly accountId: string; readonly reason: string; readonly unfrozenAt: string; readonly unfrozenBy: string }
>;

export type AccountEvent =
  | AccountOpened
  | FundsDeposited
  | WithdrawalRequested
  | Debited
  | DebitSettled
  | DebitReversed
  | DebitReturned
  | AccountFrozen
  | AccountUnfrozen;

// ---------------------------------------------------------------------------------------
// Stream `withdrawal-<withdrawalId>`. No withdrawal event carries postings: every money
// movement of a withdrawal happens on the account stream, where the hold lives.
// ---------------------------------------------------------------------------------------

/**
 * A payout attempt started on a channel. Carries the withdrawal's account, amount and
 * currency so the withdrawal stream describes itself without the account stream.
 */
export type PayoutInitiated = DomainEvent<
  'PayoutInitiated',
  {
    readonly withdrawalId: string;
    readonly accountId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly channel: string;
    readonly destination: PayoutDestination;
    /** 1 for the first attempt; a `retry` review decision starts the next. */
    readonly attempt: number;
    readonly initiatedAt: string;
  }
>;

/** The provider accepted the attempt and named it. The status stays `processing`. */
export type PayoutSubmitted = DomainEvent<
  'PayoutSubmitted',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    readonly providerReference: string;
    readonly submittedAt: string;
  }
>;

/** We do not know whether the attempt paid (typically a timeout). Only a status query may resolve it. */
export type PayoutOutcomeUnknown = DomainEvent<
  'PayoutOutcomeUnknown',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    readonly reason: string;
    readonly detectedAt: string;
  }
>;

/** The provider paid. The process manager turns this into the account's `DebitSettled`. */
export type Settled = DomainEvent<
  'Settled',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    readonly providerReference: string | null;
    readonly settledAt: string;
  }
>;

/**
 * One payout attempt ended without the provider holding the payout: it refused the request
 * outright, or a status query after an unknown outcome found no payout under the attempt's
 * idempotency key. Nothing was paid, so the withdrawal returns to `requested` and the process
 * manager may try the next channel. The hold stays; no money moves.
 */
export type PayoutAttemptFailed = DomainEvent<
  'PayoutAttemptFailed',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    /** Machine-readable cause: `rejected`, `circuit_open`, `not_found_after_unknown`, ... */
    readonly code: string;
    readonly reason: string;
    readonly failedAt: string;
  }
>;

/** The provider definitely did not pay. The process manager turns this into `DebitReversed`. */
export type PayoutFailed = DomainEvent<
  'PayoutFailed',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    readonly providerReference: string | null;
    readonly reason: string;
    readonly failedAt: string;
  }
>;

/** Cancelled before any payout attempt. May be the first event of the stream, so it carries the facts. */
export type WithdrawalCancelled = DomainEvent<
  'WithdrawalCancelled',
  {
    readonly withdrawalId: string;
    readonly accountId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly reason: string;
    readonly cancelledAt: string;
    readonly cancelledBy: string;
  }
>;

/** A person must decide. May be the first event of the stream, so it carries the facts. */
export type ManualReviewRequested = DomainEvent<
  'ManualReviewRequested',
  {
    readonly withdrawalId: string;
    readonly accountId: string;
    readonly amount: string;
    readonly currency: CurrencyCode;
    /** The status the withdrawal left to enter review. */
    readonly fromStatus: WithdrawalStatus;
    readonly reason: string;
    readonly requestedAt: string;
    readonly requestedBy: string;
  }
>;

/** An operator decided. `toStatus` is `REVIEW_DECISION_TARGETS[decision]`, stored so readers need no table. */
export type ManualReviewResolved = DomainEvent<
  'ManualReviewResolved',
  {
    readonly withdrawalId: string;
    readonly decision: ReviewDecision;
    /** The status the withdrawal was in before the review. */
    readonly fromStatus: WithdrawalStatus;
    readonly toStatus: WithdrawalStatus;
    readonly reason: string;
    readonly resolvedAt: string;
    readonly resolvedBy: string;
  }
>;

/** A settled payout failed later at the bank. The process manager turns this into `DebitReturned`. */
export type PayoutReturned = DomainEvent<
  'PayoutReturned',
  {
    readonly withdrawalId: string;
    readonly channel: string;
    readonly attempt: number;
    readonly providerReference: string | null;
    readonly reason: string;
    readonly returnedAt: string;
  }
>;

export type WithdrawalEvent =
  | PayoutInitiated
  | PayoutSubmitted
  | PayoutOutcomeUnknown
  | PayoutAttemptFailed
  | Settled
  | PayoutFailed
  | WithdrawalCancelled
  | ManualReviewRequested
  | ManualReviewResolved
  | PayoutReturned;

// ---------------------------------------------------------------------------------------
// Stream `reconciliation-<channel>-<YYYY-MM-DD>`: matching a provider statement against the
// ledger. Reconciliation records findings; it moves no money. One import is one append:
// `StatementImported`, then (when it replaces an earlier statement) a `DiscrepancyResolved`
// closing each of that statement's open discrepancies, then one `ItemMatched` or
// `DiscrepancyFound` per finding (docs/reconciliation.md). The fields beyond the first
// catalogue draft (statementId on every event, line numbers, the ledger's side of each
// comparison, supersession) were added before any writer existed, so they are version 1.
// ---------------------------------------------------------------------------------------

/** What a statement line says happened to a payout on the statement's date. */
export const STATEMENT_LINE_STATUSES = ['settled', 'returned'] as const;

export type StatementLineStatus = (typeof STATEMENT_LINE_STATUSES)[number];

export type StatementImported = DomainEvent<
  'StatementImported',
  {
    readonly channel: string;
    readonly statementDate: string;
    /**
     * SHA-256 (hex) of the statement's normalised content, so a second import of the same
     * file is recognisable whatever its line endings or quoting.
     */
    readonly statementId: string;
    /** Statement lines (the header not counted). */
    readonly itemCount: number;
    /** Findings of this import, by outcome: lines that matched, and discrepancies of every kind. */
    readonly matchedCount: number;
    readonly discrepancyCount: number;
    /** The statement this one replaces (the stream's current one until now), or null for the first. */
    readonly supersedes: string | null;
    readonly importedAt: string;
    readonly importedBy: string;
  }
>;

export type ItemMatched = DomainEvent<
  'ItemMatched',
  {
    readonly channel: string;
    readonly statementDate: string;
    readonly statementId: string;
    /** `<first 16 hex digits of statementId>-L<line>`: unique in the stream across statements. */
    readonly itemId: string;
    /** The line of the statement file (the header is line 1). */
    readonly line: number;
    readonly withdrawalId: string;
    readonly providerReference: string | null;
    readonly status: StatementLineStatus;
    readonly amount: string;
    readonly currency: CurrencyCode;
    readonly matchedAt: string;
  }
>;

export const DISCREPANCY_KINDS = [
  'missing_in_ledger',
  'missing_in_statement',
  'amount_mismatch',
  'currency_mismatch',
  'status_mismatch',
  'duplicate_line',
] as const;

export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

export type DiscrepancyFound = DomainEvent<
  'DiscrepancyFound',
  {
    readonly channel: string;
    readonly statementDate: string;
    readonly statementId: string;
    /** `<first 16 hex digits of statementId>-D<nnnn>`: unique in the stream across statements. */
    readonly discrepancyId: string;
    readonly kind: DiscrepancyKind;
    /** The statement line's item id, or null when the ledger has an item the statement lacks. */
    readonly itemId: string | null;
    /** The statement line (the header is line 1), or null when the statement lacks the item. */
    readonly line: number | null;
    readonly withdrawalId: string | null;
    readonly providerReference: string | null;
    readonly amountStatement: string | null;
    readonly amountLedger: string | null;
    /** The statement line's currency, or the ledger's when the statement lacks the item. */
    readonly currency: CurrencyCode | null;
    /** The ledger's currency, or null when the ledger has no such payout. */
    readonly currencyLedger: CurrencyCode | null;
    readonly statusStatement: StatementLineStatus | null;
    /** What the ledger says: its booking (`settled`, `returned`) or the withdrawal's status. */
    readonly statusLedger: string | null;
    /** A sentence for the operator: what was compared and where the other side is. */
    readonly note: string;
    readonly foundAt: string;
  }
>;

/**
 * A discrepancy is closed: by an operator with a reason (`supersededBy` null), or because a
 * corrected statement replaced the one it was found in (`supersededBy` names the new
 * statement, `resolvedBy` is who imported it).
 */
export type DiscrepancyResolved = DomainEvent<
  'DiscrepancyResolved',
  {
    readonly channel: string;
    readonly statementDate: string;
    readonly discrepancyId: string;
    readonly resolution: string;
    readonly supersededBy: string | null;
    readonly resolvedAt: string;
    readonly resolvedBy: string;
  }
>;

export type ReconciliationEvent = StatementImported | ItemMatched | DiscrepancyFound | DiscrepancyResolved;

// ---------------------------------------------------------------------------------------
// The whole catalogue
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// Stream `callback-<callbackId>`: one verified provider callback, recorded as received. The
// callback endpoint appends it (its signature already checked) and answers at once; the
// payout process manager turns it into withdrawal commands. One stream per callback makes
// the webhook-id dedupe an expected-revision check that no retention window can outlive.
// ---------------------------------------------------------------------------------------

/** What a provider callback reports about a payout. */
export const PROVIDER_CALLBACK_TYPES = ['payout.processing', 'payout.settled', 'payout.failed', 'payout.returned'] as const;

export type ProviderCallbackType = (typeof PROVIDER_CALLBACK_TYPES)[number];

export type ProviderCallbackReceived = DomainEvent<
  'ProviderCallbackReceived',
  {
    readonly channel: string;
    /** The Standard Webhooks `webhook-id`: the provider's id for this message, the same on every retry. */
    readonly webhookId: string;
    readonly callbackType: ProviderCallbackType;
    readonly withdrawalId: string;
    readonly attempt: number;
    readonly idempotencyKey: string;
    readonly providerReference: string;
    readonly amount: string;
    readonly currency: string;
    readonly reason: string | null;
    /** When the provider says the reported thing happened. */
    readonly occurredAt: string;
    /** The `webhook-timestamp` of the delivery that was accepted. */
    readonly sentAt: string;
    readonly receivedAt: string;
    /** SHA-256 (hex) of the raw body that was verified, for audit. */
    readonly bodySha256: string;
  }
>;

export type CallbackEvent = ProviderCallbackReceived;

export type LedgerEvent = AccountEvent | WithdrawalEvent | ReconciliationEvent | CallbackEvent;

export type LedgerEventType = LedgerEvent['type'];

/**
 * The schema version of each event type's data. A change that old readers cannot read bumps
 * the version, is stored under the type name `<Type>.v<N>` (the store's type pattern allows
 * it) and gets an upcaster; version 1 is stored under the bare name. Writers put the version
 * in event metadata as `schemaVersion`.
 */
export const EVENT_SCHEMA_VERSIONS: { readonly [Type in LedgerEventType]: number } = Object.freeze({
  AccountOpened: 1,
  FundsDeposited: 1,
  WithdrawalRequested: 1,
  Debited: 1,
  DebitSettled: 1,
  DebitReversed: 1,
  DebitReturned: 1,
  AccountFrozen: 1,
  AccountUnfrozen: 1,
  PayoutInitiated: 1,
  PayoutSubmitted: 1,
  PayoutOutcomeUnknown: 1,
  PayoutAttemptFailed: 1,
  Settled: 1,
  PayoutFailed: 1,
  WithdrawalCancelled: 1,
  ManualReviewRequested: 1,
  ManualReviewResolved: 1,
  PayoutReturned: 1,
  StatementImported: 1,
  ItemMatched: 1,
  DiscrepancyFound: 1,
  DiscrepancyResolved: 1,
  ProviderCallbackReceived: 1,
});

export const LEDGER_EVENT_TYPES: readonly LedgerEventType[] = Object.freeze(
  Object.keys(EVENT_SCHEMA_VERSIONS) as LedgerEventType[],
);

const ACCOUNT_EVENT_TYPE_MAP: { readonly [Type in AccountEvent['type']]: true } = {
  AccountOpened: true,
  FundsDeposited: true,
  WithdrawalRequested: true,
  Debited: true,
  DebitSettled: true,
  DebitReversed: true,
  DebitReturned: true,
  AccountFrozen: true,
  AccountUnfrozen: true,
};

const WITHDRAWAL_EVENT_TYPE_MAP: { readonly [Type in WithdrawalEvent['type']]: true } = {
  PayoutInitiated: true,
  PayoutSubmitted: true,
  PayoutOutcomeUnknown: true,
  PayoutAttemptFailed: true,
  Settled: true,
  PayoutFailed: true,
  WithdrawalCancelled: true,
  ManualReviewRequested: true,
  ManualReviewResolved: true,
  PayoutReturned: true,
};

export const ACCOUNT_EVENT_TYPES = Object.freeze(
  Object.keys(ACCOUNT_EVENT_TYPE_MAP),
) as readonly AccountEvent['type'][];

export const WITHDRAWAL_EVENT_TYPES = Object.freeze(
  Object.keys(WITHDRAWAL_EVENT_TYPE_MAP),
) as readonly WithdrawalEvent['type'][];

/** The event types whose data carries `postings`. */
export const MONEY_EVENT_TYPES = Object.freeze([
  'FundsDeposited',
  'Debited',
  'DebitSettled',
  'DebitReversed',
  'DebitReturned',
] as const);

export type MoneyEvent = Extract<LedgerEvent, { readonly type: (typeof MONEY_EVENT_TYPES)[number] }>;

export function isLedgerEventType(type: unknown): type is LedgerEventType {
  return typeof type === 'string' && Object.hasOwn(EVENT_SCHEMA_VERSIONS, type);
}

export function isAccountEvent(event: LedgerEvent): event is AccountEvent {
  return Object.hasOwn(ACCOUNT_EVENT_TYPE_MAP, event.type);
}

export function isWithdrawalEvent(event: LedgerEvent): event is WithdrawalEvent {
  return Object.hasOwn(WITHDRAWAL_EVENT_TYPE_MAP, event.type);
}

export function isMoneyEvent(event: LedgerEvent): event is MoneyEvent {
  return (MONEY_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** The postings of an event; an empty list for events that move no money. */
export function postingsOf(event: LedgerEvent): readonly Posting[] {
  return isMoneyEvent(event) ? event.data.postings : [];
}
