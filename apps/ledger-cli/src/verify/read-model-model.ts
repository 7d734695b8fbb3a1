import {
  advanceWithdrawalStatus,
  decodeAmount,
  isLedgerEventType,
  postingsOf,
  WITHDRAWAL_STATUS_TRACK_START,
  withdrawalStatusAfter,
  type LedgerEvent,
  type ReconciliationEvent,
  type TransitionVerdict,
  type WithdrawalStatus,
  type WithdrawalStatusTrack,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { parseUserLedgerAccount } from '@ledger/read-models';
import { microsOfDate, microsOfIso, type RowValues } from './rows';

/**
 * The read models recomputed in memory from the log, one event at a time, by the rules of
 * the projections in `@ledger/read-models` (balances, journal, withdrawals with their
 * status history and the review queue), so `ledger verify` can compare them with what
 * PostgreSQL holds.
 *
 * It is a second implementation on purpose: an audit that ran the projections' own code
 * would repeat their bugs. Where a projection's rule comes from the domain (the transition
 * table, `advanceWithdrawalStatus`, the postings), this uses the domain too, because that
 * rule is the specification; where a projection decides something itself (which event
 * touches a balance row's position, how a review ends), this restates it, and the two must
 * agree. Projections apply batches; every rule here is per event, and the projections are
 * batch-size independent (the crash test P2 rebuilds with random batch sizes), so folding
 * one event at a time gives the rows any batching gives.
 *
 * Only the folded state is kept: one entry per account, per withdrawal and per review. The
 * append-only tables (journal entries, status history) are not kept: `apply` returns the
 * rows the event adds, and the caller compares them with PostgreSQL as it goes.
 */

interface BalanceState {
  readonly accountId: string;
  opened: { ownerId: string; currency: string; openedAt: string } | null;
  available: bigint;
  pending: bigint;
  frozen: boolean;
  position: bigint;
  updatedAt: Date;
}

interface WithdrawalView {
  readonly withdrawalId: string;
  readonly accountId: string;
  readonly amount: string;
  readonly currency: string;
  /** Epoch microseconds. */
  readonly requestedAt: string;
  track: WithdrawalStatusTrack;
  channel: string | null;
  providerReference: string | null;
  attempt: number;
  position: bigint;
  updatedAt: Date;
}

interface ReviewState {
  reason: string;
  fromStatus: string;
  requestedAt: string;
  requestedBy: string;
  resolution: { resolvedAt: string; decision: string | null; resolvedBy: string | null; reason: string } | null;
  position: bigint;
}

interface StatementState {
  readonly channel: string;
  readonly statementDate: string;
  readonly statementId: string;
  readonly itemCount: number;
  readonly matchedCount: number;
  readonly discrepancyCount: number;
  readonly supersedes: string | null;
  supersededBy: string | null;
  supersededAt: string | null;
  readonly importedAt: string;
  readonly importedBy: string;
  position: bigint;
}

interface FindingState {
  readonly row: Omit<RowValues, 'review_state' | 'resolved_at' | 'resolved_by' | 'resolution' | 'position'>;
  review: { state: 'open' | 'resolved' | 'superseded'; resolvedAt: string | null; resolvedBy: string | null; resolution: string | null } | null;
  position: bigint;
}

/** What one event did to the read models besides the rows it adds. */
export interface ModelFinding {
  readonly kind: 'illegal_transition' | 'projection_would_fail';
  readonly message: string;
  readonly subject: string;
}

export interface ModelStep {
  journal: RowValues[];
  history: RowValues[];
  findings: ModelFinding[];
}

export class ReadModelModel {
  private readonly balances = new Map<string, BalanceState>();
  private readonly withdrawals = new Map<string, WithdrawalView>();
  private readonly reviews = new Map<string, ReviewState>();
  private readonly statements = new Map<string, StatementState>();
  private readonly findings = new Map<string, FindingState>();

  /** Folds one event (in log order) and returns the journal and history rows it adds. */
  apply(recorded: RecordedEvent): ModelStep {
    const step: ModelStep = { journal: [], history: [], findings: [] };
    if (!isLedgerEventType(recorded.type)) return step;
    const event = { type: recorded.type, data: recorded.data } as LedgerEvent;
    this.applyBalances(recorded, event, step);
    this.applyJournal(recorded, event, step);
    this.applyWithdrawals(recorded, event, step);
    if (recorded.streamName.startsWith('reconciliation-')) this.applyReconciliation(recorded, event, step);
    return step;
  }

  balanceRows(): Map<string, RowValues> {
    const rows = new Map<string, RowValues>();
    for (const balance of this.balances.values()) {
      if (balance.opened === null) continue;
      rows.set(balance.accountId, {
        account_id: balance.accountId,
        owner_id: balance.opened.ownerId,
        currency: balance.opened.currency,
        available: balance.available.toString(),
        pending: balance.pending.toString(),
        frozen: String(balance.frozen),
        opened_at: microsOfIso(balance.opened.openedAt) ?? balance.opened.openedAt,
        position: balance.position.toString(),
        updated_at: microsOfDate(balance.updatedAt),
      });
    }
    return rows;
  }

  withdrawalRows(): Map<string, RowValues> {
    const rows = new Map<string, RowValues>();
    for (const view of this.withdrawals.values()) {
      rows.set(view.withdrawalId, {
        withdrawal_id: view.withdrawalId,
        account_id: view.accountId,
        amount: view.amount,
        currency: view.currency,
        status: view.track.status,
        channel: view.channel,
        provider_reference: view.providerReference,
        attempt: String(view.attempt),
        requested_at: view.requestedAt,
        updated_at: microsOfDate(view.updatedAt),
        position: view.position.toString(),
        statuses_visited: view.track.statusesVisited.join(','),
      });
    }
    return rows;
  }

  reviewRows(): Map<string, RowValues> {
    const rows = new Map<string, RowValues>();
    for (const [withdrawalId, review] of this.reviews) {
      rows.set(withdrawalId, {
        withdrawal_id: withdrawalId,
        reason: review.reason,
        from_status: review.fromStatus,
        requested_at: review.requestedAt,
        requested_by: review.requestedBy,
        resolved_at: review.resolution?.resolvedAt ?? null,
        decision: review.resolution?.decision ?? null,
        resolved_by: review.resolution?.resolvedBy ?? null,
        resolution_reason: review.resolution?.reason ?? null,
        position: review.position.toString(),
      });
    }
    return rows;
  }

  statementRows(): Map<string, RowValues> {
    const rows = new Map<string, RowValues>();
    for (const [key, statement] of this.statements) {
      rows.set(key, {
        channel: statement.channel,
        statement_date: statement.statementDate,
        statement_id: statement.statementId,
        item_count: String(statement.itemCount),
        matched_count: String(statement.matchedCount),
        discrepancy_count: String(statement.discrepancyCount),
        supersedes: statement.supersedes,
        superseded_by: statement.supersededBy,
        superseded_at: statement.supersededAt === null ? null : (microsOfIso(statement.supersededAt) ?? statement.supersededAt),
        imported_at: microsOfIso(statement.importedAt) ?? statement.importedAt,
        imported_by: statement.importedBy,
        position: statement.position.toString(),
      });
    }
    return rows;
  }

  reconciliationItemRows(): Map<string, RowValues> {
    const rows = new Map<string, RowValues>();
    for (const [key, finding] of this.findings) {
      rows.set(key, {
        ...finding.row,
        review_state: finding.review?.state ?? null,
        resolved_at: finding.review?.resolvedAt ?? null,
        resolved_by: finding.review?.resolvedBy ?? null,
        resolution: finding.review?.resolution ?? null,
        position: finding.position.toString(),
      });
    }
    return rows;
  }

  /**
   * `account_balances`: an account's row moves (position, updated_at) with every ledger
   * event of its own stream and with every posting to `user:<id>:*`; available and pending
   * are the postings' sums (credit adds, debit subtracts).
   */
  private applyBalances(recorded: RecordedEvent, event: LedgerEvent, step: ModelStep): void {
    const touch = (accountId: string): BalanceState => {
      let balance = this.balances.get(accountId);
      if (balance === undefined) {
        balance = { accountId, opened: null, available: 0n, pending: 0n, frozen: false, position: 0n, updatedAt: recorded.recordedAt };
        this.balances.set(accountId, balance);
      }
      balance.position = recorded.globalPosition;
      balance.updatedAt = recorded.recordedAt;
      return balance;
    };
    const streamAccountId = recorded.streamName.startsWith('account-') ? recorded.streamName.slice('account-'.length) : null;
    if (streamAccountId !== null) {
      const balance = touch(streamAccountId);
      if (event.type === 'AccountOpened') {
        if (balance.opened !== null) {
          step.findings.push(wouldFail(`account ${streamAccountId} is opened a second time`, streamAccountId));
        } else {
          balance.opened = { ownerId: event.data.ownerId, currency: event.data.currency, openedAt: event.data.openedAt };
        }
      } else if (balance.opened === null) {
        step.findings.push(wouldFail(`${recorded.type} for account ${streamAccountId}, which was never opened`, streamAccountId));
      } else if (event.type === 'AccountFrozen') {
        balance.frozen = true;
      } else if (event.type === 'AccountUnfrozen') {
        balance.frozen = false;
      }
    }
    for (const posting of postingsOf(event)) {
      const user = parseUserLedgerAccount(posting.account);
      if (user === null) continue;
      const balance = touch(user.accountId);
      if (balance.opened === null) {
        // The stream's own account was reported above.
        if (user.accountId !== streamAccountId) {
          step.findings.push(wouldFail(`a posting to account ${user.accountId}, which is not open`, user.accountId));
        }
      } else if (balance.opened.currency !== posting.currency) {
        step.findings.push(wouldFail(`a ${posting.currency} posting to ${balance.opened.currency} account ${user.accountId}`, user.accountId));
      }
      const amount = safeAmount(posting.amount);
      const signed = posting.side === 'credit' ? amount : -amount;
      if (user.kind === 'available') balance.available += signed;
      else balance.pending += signed;
    }
  }

  /** `journal_entries`: one row per posting of every money event, keyed by (position, posting index). */
  private applyJournal(recorded: RecordedEvent, event: LedgerEvent, step: ModelStep): void {
    postingsOf(event).forEach((posting, index) => {
      step.journal.push({
        position: recorded.globalPosition.toString(),
        posting_index: String(index),
        stream_name: recorded.streamName,
        event_type: recorded.type,
        event_id: recorded.id.toLowerCase(),
        ledger_account: posting.account,
        account_id: parseUserLedgerAccount(posting.account)?.accountId ?? null,
        side: posting.side,
        amount: safeAmount(posting.amount).toString(),
        currency: posting.currency,
        recorded_at: microsOfDate(recorded.recordedAt),
      });
    });
  }

  /**
   * `withdrawals`, `withdrawal_status_history`, `review_queue`: every event that reports a
   * withdrawal status goes through the domain's `advanceWithdrawalStatus`; each is recorded
   * in the history with whether it moved the status.
   */
  private applyWithdrawals(recorded: RecordedEvent, event: LedgerEvent, step: ModelStep): void {
    const to = withdrawalStatusAfter(event);
    if (to === null) return;
    const withdrawalId = (event.data as { withdrawalId: string }).withdrawalId;
    let view = this.withdrawals.get(withdrawalId);
    if (view === undefined) {
      const created = createView(withdrawalId, event, recorded);
      if (created === null) {
        step.history.push(historyRow(withdrawalId, recorded, null, to, false, 'illegal: no WithdrawalRequested for this withdrawal'));
        step.findings.push({
          kind: 'illegal_transition',
          subject: withdrawalId,
          message: `${recorded.type} for withdrawal ${withdrawalId}, which was never requested`,
        });
        return;
      }
      this.withdrawals.set(withdrawalId, created);
      if (event.type === 'WithdrawalRequested') {
        step.history.push(historyRow(withdrawalId, recorded, null, to, true, null));
        return;
      }
      view = created;
    }

    const from = view.track.status;
    const advanced = advanceWithdrawalStatus(view.track, event);
    const applied = advanced.verdict === 'apply';
    if (advanced.verdict === 'illegal') {
      step.findings.push({
        kind: 'illegal_transition',
        subject: withdrawalId,
        message: `${recorded.type} moves withdrawal ${withdrawalId} from ${from} to ${to}, which WITHDRAWAL_TRANSITIONS does not allow`,
      });
    }
    step.history.push(historyRow(withdrawalId, recorded, from, to, applied, noteFor(advanced.verdict, from, to)));
    view.track = advanced.track;
    view.position = recorded.globalPosition;
    view.updatedAt = recorded.recordedAt;
    followAttempt(view, event, applied);

    if (applied && event.type === 'ManualReviewRequested') {
      this.reviews.set(withdrawalId, {
        reason: event.data.reason,
        fromStatus: event.data.fromStatus,
        requestedAt: microsOfIso(event.data.requestedAt) ?? event.data.requestedAt,
        requestedBy: event.data.requestedBy,
        resolution: null,
        position: recorded.globalPosition,
      });
    } else if (applied && from === 'manual_review') {
      const review = this.reviews.get(withdrawalId);
      if (review === undefined) {
        step.findings.push(wouldFail(`withdrawal ${withdrawalId} leaves a review that was never requested`, withdrawalId));
      } else {
        review.resolution = reviewResolution(event, recorded);
        review.position = recorded.globalPosition;
      }
    }
  }

  /**
   * `reconciliation_statements` and `reconciliation_items`, from the `reconciliation-*`
   * streams: a statement row per import (marked when a later import supersedes it), an item
   * row per finding (a matched line or a discrepancy), a discrepancy's review ended by
   * `DiscrepancyResolved` (an operator's resolution, or a superseding import).
   */
  private applyReconciliation(recorded: RecordedEvent, ledgerEvent: LedgerEvent, step: ModelStep): void {
    const event = ledgerEvent as ReconciliationEvent;
    const position = recorded.globalPosition;
    const at = (iso: string) => microsOfIso(iso) ?? iso;
    switch (event.type) {
      case 'StatementImported': {
        const { data } = event;
        if (data.supersedes !== null) {
          const earlier = this.statements.get(reconciliationKey(data.channel, data.statementDate, data.supersedes));
          if (earlier === undefined || earlier.supersededBy !== null) {
            step.findings.push(wouldFail(`statement ${data.statementId} supersedes ${data.supersedes}, which is not the current statement`, data.statementId));
          } else {
            earlier.supersededBy = data.statementId;
            earlier.supersededAt = data.importedAt;
            earlier.position = position;
          }
        }
        const key = reconciliationKey(data.channel, data.statementDate, data.statementId);
        if (this.statements.has(key)) step.findings.push(wouldFail(`statement ${data.statementId} is imported a second time`, data.statementId));
        this.statements.set(key, {
          channel: data.channel,
          statementDate: data.statementDate,
          statementId: data.statementId,
          itemCount: data.itemCount,
          matchedCount: data.matchedCount,
          discrepancyCount: data.discrepancyCount,
          supersedes: data.supersedes,
          supersededBy: null,
          supersededAt: null,
          importedAt: data.importedAt,
          importedBy: data.importedBy,
          position,
        });
        return;
      }
      case 'ItemMatched': {
        const { data } = event;
        const amount = safeAmount(data.amount).toString();
        this.findings.set(reconciliationKey(data.channel, data.statementDate, data.itemId), {
          row: {
            channel: data.channel,
            statement_date: data.statementDate,
            finding_id: data.itemId,
            statement_id: data.statementId,
            outcome: 'matched',
            item_id: data.itemId,
            discrepancy_id: null,
            line: String(data.line),
            withdrawal_id: data.withdrawalId,
            provider_reference: data.providerReference,
            amount_statement: amount,
            amount_ledger: amount,
            currency: data.currency,
            currency_ledger: data.currency,
            status_statement: data.status,
            status_ledger: data.status,
            note: null,
            found_at: at(data.matchedAt),
          },
          review: null,
          position,
        });
        return;
      }
      case 'DiscrepancyFound': {
        const { data } = event;
        this.findings.set(reconciliationKey(data.channel, data.statementDate, data.discrepancyId), {
          row: {
            channel: data.channel,
            statement_date: data.statementDate,
            finding_id: data.discrepancyId,
            statement_id: data.statementId,
            outcome: data.kind,
            item_id: data.itemId,
            discrepancy_id: data.discrepancyId,
            line: data.line === null ? null : String(data.line),
            withdrawal_id: data.withdrawalId,
            provider_reference: data.providerReference,
            amount_statement: data.amountStatement === null ? null : safeAmount(data.amountStatement).toString(),
            amount_ledger: data.amountLedger === null ? null : safeAmount(data.amountLedger).toString(),
            currency: data.currency,
            currency_ledger: data.currencyLedger,
            status_statement: data.statusStatement,
            status_ledger: data.statusLedger,
            note: data.note,
            found_at: at(data.foundAt),
          },
          review: { state: 'open', resolvedAt: null, resolvedBy: null, resolution: null },
          position,
        });
        return;
      }
      case 'DiscrepancyResolved': {
        const { data } = event;
        const finding = this.findings.get(reconciliationKey(data.channel, data.statementDate, data.discrepancyId));
        if (finding === undefined || finding.review?.state !== 'open') {
          step.findings.push(wouldFail(`discrepancy ${data.discrepancyId} is resolved but not open`, data.discrepancyId));
          return;
        }
        finding.review = {
          state: data.supersededBy === null ? 'resolved' : 'superseded',
          resolvedAt: at(data.resolvedAt),
          resolvedBy: data.resolvedBy,
          resolution: data.resolution,
        };
        finding.position = position;
        return;
      }
    }
  }
}

/** Channels are `[a-z0-9_]` and dates `YYYY-MM-DD`, so the separator cannot occur inside a part. */
function reconciliationKey(channel: string, statementDate: string, id: string): string {
  return `${channel}\u0000${statementDate}\u0000${id}`;
}

function createView(withdrawalId: string, event: LedgerEvent, recorded: RecordedEvent): WithdrawalView | null {
  const start = (facts: { accountId: string; amount: string; currency: string }, requestedAt: string, channel: string | null): WithdrawalView => ({
    withdrawalId,
    accountId: facts.accountId,
    amount: safeAmount(facts.amount).toString(),
    currency: facts.currency,
    requestedAt,
    track: WITHDRAWAL_STATUS_TRACK_START,
    channel,
    providerReference: null,
    attempt: 0,
    position: recorded.globalPosition,
    updatedAt: recorded.recordedAt,
  });
  switch (event.type) {
    case 'WithdrawalRequested':
      return start(event.data, microsOfIso(event.data.requestedAt) ?? event.data.requestedAt, event.data.channel);
    case 'PayoutInitiated':
    case 'WithdrawalCancelled':
    case 'ManualReviewRequested':
      // A withdrawal whose request the log lacks still shows, from its first fact; its
      // request time is then the time that event was recorded.
      return start(event.data, microsOfDate(recorded.recordedAt), null);
    default:
      return null;
  }
}

/** Attempt, channel and provider reference follow the latest attempt (the decider's rule). */
function followAttempt(view: WithdrawalView, event: LedgerEvent, applied: boolean): void {
  switch (event.type) {
    case 'PayoutInitiated':
      if (applied) {
        view.attempt = event.data.attempt;
        view.channel = event.data.channel;
        view.providerReference = null;
      }
      return;
    case 'PayoutSubmitted':
      if (view.track.status === 'processing' && event.data.attempt === view.attempt && view.providerReference === null) {
        view.providerReference = event.data.providerReference;
      }
      return;
    case 'Settled':
    case 'PayoutFailed':
    case 'PayoutReturned':
      if (applied && event.data.attempt === view.attempt && event.data.providerReference !== null) {
        view.providerReference = event.data.providerReference;
      }
      return;
    case 'ManualReviewResolved':
      if (applied && event.data.decision === 'retry') view.providerReference = null;
      return;
    default:
      return;
  }
}

function reviewResolution(event: LedgerEvent, recorded: RecordedEvent): NonNullable<ReviewState['resolution']> {
  const at = (iso: string) => microsOfIso(iso) ?? iso;
  switch (event.type) {
    case 'ManualReviewResolved':
      return { resolvedAt: at(event.data.resolvedAt), decision: event.data.decision, resolvedBy: event.data.resolvedBy, reason: event.data.reason };
    case 'Settled':
      return { resolvedAt: at(event.data.settledAt), decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
    case 'PayoutFailed':
      return { resolvedAt: at(event.data.failedAt), decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
    default:
      return { resolvedAt: microsOfDate(recorded.recordedAt), decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
  }
}

function historyRow(
  withdrawalId: string,
  recorded: RecordedEvent,
  from: WithdrawalStatus | null,
  to: WithdrawalStatus,
  applied: boolean,
  note: string | null,
): RowValues {
  return {
    withdrawal_id: withdrawalId,
    position: recorded.globalPosition.toString(),
    event_type: recorded.type,
    from_status: from,
    to_status: to,
    applied: String(applied),
    note,
    recorded_at: microsOfDate(recorded.recordedAt),
  };
}

function noteFor(verdict: TransitionVerdict, from: WithdrawalStatus, to: WithdrawalStatus): string | null {
  switch (verdict) {
    case 'apply':
      return null;
    case 'ignore_stale':
      return from === to ? 'repeats_current_status' : `stale: ${to} reported after ${from}`;
    case 'illegal':
      return `illegal: ${from} -> ${to} is not in WITHDRAWAL_TRANSITIONS`;
  }
}

function wouldFail(message: string, subject: string): ModelFinding {
  return { kind: 'projection_would_fail', subject, message: `${message}: the projection refuses this batch and stops` };
}

/**
 * An amount from event data. A malformed one is an invariant violation (M7) that the
 * checker reports; the model counts it as 0 so the replay goes on and finds the rest.
 */
function safeAmount(digits: string): bigint {
  try {
    return decodeAmount(digits);
  } catch {
    return 0n;
  }
}
