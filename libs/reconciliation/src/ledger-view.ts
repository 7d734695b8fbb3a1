import {
  advanceWithdrawalStatus,
  decodeAmount,
  isCurrencyCode,
  isLedgerEventType,
  isWithdrawalEvent,
  WITHDRAWAL_STATUS_TRACK_START,
  type CurrencyCode,
  type LedgerBooking,
  type LedgerEvent,
  type LedgerPayout,
  type WithdrawalStatusTrack,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';

/** Events per `readAll` page while scanning the log. */
export const LEDGER_SCAN_PAGE_SIZE = 10_000;

export interface LedgerViewQuery {
  readonly channel: string;
  readonly statementDate: string;
  /** Withdrawals the statement names: returned whatever their channel or date, so a line can say where its payout is. */
  readonly withdrawalIds: ReadonlySet<string>;
}

interface Fold {
  readonly withdrawalId: string;
  channels: string[];
  amount: bigint | null;
  currency: CurrencyCode | null;
  track: WithdrawalStatusTrack;
  attempt: number;
  /** The channel of the latest attempt: where a review decision of `settled` books the payout. */
  channel: string | null;
  providerReference: string | null;
  settled: LedgerBooking | null;
  returned: LedgerBooking | null;
}

/**
 * What the ledger says about the payouts a statement is matched against, read from the
 * event store rather than the withdrawals read model: an import must see every settlement
 * the ledger has recorded, not what a projector has reached so far, or a projection lag
 * would turn into `missing_in_ledger` findings that are not real.
 *
 * It scans the global log once, folding every withdrawal's events with the domain's own
 * state machine (`advanceWithdrawalStatus`), and keeps the withdrawals the statement names
 * plus those with a settlement or return on `channel` dated `statementDate`. The cost is
 * one pass over the log per import (docs/reconciliation.md, "Limits").
 */
export async function readLedgerPayouts(store: EventStore, query: LedgerViewQuery): Promise<LedgerPayout[]> {
  const folds = new Map<string, Fold>();
  let after: bigint | 'start' = 'start';
  for (;;) {
    const page = await store.readAll(after, LEDGER_SCAN_PAGE_SIZE);
    for (const recorded of page) {
      if (!isLedgerEventType(recorded.type)) continue;
      const event = { type: recorded.type, data: recorded.data } as LedgerEvent;
      if (event.type === 'WithdrawalRequested' || isWithdrawalEvent(event)) foldEvent(folds, event);
    }
    if (page.length < LEDGER_SCAN_PAGE_SIZE) break;
    after = page[page.length - 1]!.globalPosition;
  }

  const payouts: LedgerPayout[] = [];
  for (const fold of folds.values()) {
    if (fold.amount === null || fold.currency === null) continue;
    const bookedHere = [fold.settled, fold.returned].some((b) => b !== null && b.channel === query.channel && b.date === query.statementDate);
    if (!bookedHere && !query.withdrawalIds.has(fold.withdrawalId)) continue;
    payouts.push({
      withdrawalId: fold.withdrawalId,
      channels: fold.channels,
      amount: fold.amount,
      currency: fold.currency,
      status: fold.track.status,
      providerReference: fold.providerReference,
      settled: fold.settled,
      returned: fold.returned,
    });
  }
  return payouts;
}

function foldEvent(folds: Map<string, Fold>, event: LedgerEvent): void {
  const withdrawalId = (event.data as { withdrawalId: string }).withdrawalId;
  let fold = folds.get(withdrawalId);
  if (fold === undefined) {
    fold = {
      withdrawalId,
      channels: [],
      amount: null,
      currency: null,
      track: WITHDRAWAL_STATUS_TRACK_START,
      attempt: 0,
      channel: null,
      providerReference: null,
      settled: null,
      returned: null,
    };
    folds.set(withdrawalId, fold);
  }
  const step = advanceWithdrawalStatus(fold.track, event);
  const applied = step.verdict === 'apply';
  fold.track = step.track;

  switch (event.type) {
    case 'WithdrawalRequested':
      facts(fold, event.data);
      if (event.data.channel !== null) useChannel(fold, event.data.channel);
      return;
    case 'WithdrawalCancelled':
    case 'ManualReviewRequested':
      facts(fold, event.data);
      return;
    case 'PayoutInitiated':
      facts(fold, event.data);
      useChannel(fold, event.data.channel);
      if (applied) {
        fold.attempt = event.data.attempt;
        fold.channel = event.data.channel;
        fold.providerReference = null;
      }
      return;
    case 'PayoutSubmitted':
      if (event.data.attempt === fold.attempt && fold.providerReference === null) fold.providerReference = event.data.providerReference;
      return;
    case 'Settled':
      if (!applied) return;
      fold.settled = { channel: event.data.channel, date: utcDate(event.data.settledAt) };
      fold.providerReference = event.data.providerReference ?? fold.providerReference;
      return;
    case 'ManualReviewResolved':
      // An operator's `settled` decision is the ledger's settlement: the money moves on it.
      if (applied && event.data.toStatus === 'settled' && fold.channel !== null) {
        fold.settled = { channel: fold.channel, date: utcDate(event.data.resolvedAt) };
      }
      if (applied && event.data.decision === 'retry') fold.providerReference = null;
      return;
    case 'PayoutReturned':
      if (!applied) return;
      fold.returned = { channel: event.data.channel, date: utcDate(event.data.returnedAt) };
      fold.providerReference = event.data.providerReference ?? fold.providerReference;
      return;
    default:
      return;
  }
}

function facts(fold: Fold, data: { amount: string; currency: string }): void {
  if (fold.amount !== null) return;
  fold.amount = decodeAmount(data.amount);
  fold.currency = isCurrencyCode(data.currency) ? data.currency : null;
}

function useChannel(fold: Fold, channel: string): void {
  if (!fold.channels.includes(channel)) fold.channels.push(channel);
}

/** Domain timestamps are ISO-8601 UTC with `Z`, so the first ten characters are the UTC date. */
function utcDate(timestamp: string): string {
  return timestamp.slice(0, 10);
}
