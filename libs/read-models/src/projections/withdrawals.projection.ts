import {
  advanceWithdrawalStatus,
  decodeAmount,
  isWithdrawalStatus,
  WITHDRAWAL_STATUS_TRACK_START,
  withdrawalStatusAfter,
  type LedgerEvent,
  type TransitionVerdict,
  type WithdrawalStatus,
  type WithdrawalStatusTrack,
} from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';
import { ProjectionInvariantViolation } from '../errors';
import type { Projection, ProjectionReport, ProjectionTransaction } from '../projection';
import { iso, ledgerEventOf } from './decode';
import { plainArray, textArray } from './sql-arrays';

/** A withdrawal as the batch leaves it. */
interface WithdrawalView {
  readonly withdrawalId: string;
  /** Set when the batch creates the row; null for a row that already exists. */
  readonly created: {
    readonly accountId: string;
    readonly amount: string;
    readonly currency: string;
    readonly requestedAt: string;
  } | null;
  track: WithdrawalStatusTrack;
  channel: string | null;
  providerReference: string | null;
  attempt: number;
  position: bigint;
  updatedAt: Date;
}

interface HistoryRow {
  withdrawalId: string;
  position: bigint;
  eventType: string;
  fromStatus: WithdrawalStatus | null;
  toStatus: WithdrawalStatus;
  applied: boolean;
  note: string | null;
  recordedAt: Date;
}

interface ReviewChange {
  readonly withdrawalId: string;
  request: { reason: string; fromStatus: string; requestedAt: string; requestedBy: string } | null;
  resolution: { resolvedAt: string; decision: string | null; resolvedBy: string | null; reason: string } | null;
  position: bigint;
}

interface StoredWithdrawal {
  withdrawal_id: string;
  status: string;
  statuses_visited: string[];
  channel: string | null;
  provider_reference: string | null;
  attempt: number;
}

/**
 * `withdrawals`, `withdrawal_status_history` and `review_queue`.
 *
 * A withdrawal row is created by the account stream's `WithdrawalRequested`; every later
 * event about it, from either stream, goes through the domain's `advanceWithdrawalStatus`
 * (the transition table in `@ledger/domain`, the same one the decider uses). Each such event
 * is written to the history with the status it reports and whether it moved the status:
 *
 *   apply         the status moves; `applied = true`
 *   ignore_stale  a repeated or late report (`Debited` after `WithdrawalRequested`, a late
 *                 `processing` after `settled`); recorded with `applied = false`, status kept
 *   illegal       a contradicting report; recorded with `applied = false`, status kept, and
 *                 counted in the report so the projector raises it (it is never dropped)
 *
 * The status history the verdict needs (`statuses_visited`) is stored on the row, so a
 * batch loads each withdrawal it touches once, folds in memory, and writes with one INSERT
 * for new rows and one UPDATE for the rest, plus one INSERT into the history and at most
 * two statements for the review queue.
 */
export class WithdrawalsProjection implements Projection {
  readonly name = 'withdrawals';
  readonly tables = ['withdrawals', 'withdrawal_status_history', 'review_queue'] as const;

  async apply(batch: readonly RecordedEvent[], tx: ProjectionTransaction): Promise<ProjectionReport> {
    const relevant: Array<{ recorded: RecordedEvent; event: LedgerEvent; withdrawalId: string; to: WithdrawalStatus }> = [];
    for (const recorded of batch) {
      const event = ledgerEventOf(recorded);
      if (event === null) continue;
      const to = withdrawalStatusAfter(event);
      if (to === null) continue;
      relevant.push({ recorded, event, withdrawalId: (event.data as { withdrawalId: string }).withdrawalId, to });
    }
    if (relevant.length === 0) return { illegalTransitions: 0 };

    // A withdrawal whose first event in the batch is its WithdrawalRequested cannot have a row
    // yet (a second request would fail the INSERT on the primary key), so only the others
    // are looked up.
    const seen = new Set<string>();
    const stored = new Set<string>();
    for (const { event, withdrawalId } of relevant) {
      if (seen.has(withdrawalId)) continue;
      seen.add(withdrawalId);
      if (event.type !== 'WithdrawalRequested') stored.add(withdrawalId);
    }
    const views = stored.size > 0 ? await this.load([...stored], tx) : new Map<string, WithdrawalView>();
    const history: HistoryRow[] = [];
    const reviews = new Map<string, ReviewChange>();
    let illegalTransitions = 0;

    for (const { recorded, event, withdrawalId, to } of relevant) {
      let view = views.get(withdrawalId);
      if (view === undefined) {
        const created = this.create(withdrawalId, event, recorded);
        if (created === null) {
          // Only WithdrawalRequested, or a withdrawal-stream event that carries the facts,
          // can start a withdrawal; anything else about an unknown one is recorded and raised.
          illegalTransitions += 1;
          history.push(historyRow(withdrawalId, recorded, null, to, false, 'illegal: no WithdrawalRequested for this withdrawal'));
          continue;
        }
        views.set(withdrawalId, created);
        if (event.type === 'WithdrawalRequested') {
          history.push(historyRow(withdrawalId, recorded, null, to, true, null));
          continue;
        }
        view = created;
      }

      const from = view.track.status;
      const step = advanceWithdrawalStatus(view.track, event);
      const applied = step.verdict === 'apply';
      if (step.verdict === 'illegal') illegalTransitions += 1;
      history.push(historyRow(withdrawalId, recorded, from, to, applied, noteFor(step.verdict, from, to)));
      view.track = step.track;
      view.position = recorded.globalPosition;
      view.updatedAt = recorded.recordedAt;
      this.followAttempt(view, event, applied);

      if (applied && event.type === 'ManualReviewRequested') {
        reviews.set(withdrawalId, {
          withdrawalId,
          request: {
            reason: event.data.reason,
            fromStatus: event.data.fromStatus,
            requestedAt: event.data.requestedAt,
            requestedBy: event.data.requestedBy,
          },
          resolution: null,
          position: recorded.globalPosition,
        });
      } else if (applied && from === 'manual_review') {
        // Whatever takes the withdrawal out of review ends the review: the operator's
        // decision, or a provider report that arrived first (the table allows both).
        const review = reviews.get(withdrawalId) ?? { withdrawalId, request: null, resolution: null, position: 0n };
        review.resolution = reviewResolution(event, recorded);
        review.position = recorded.globalPosition;
        reviews.set(withdrawalId, review);
      }
    }

    await this.writeWithdrawals([...views.values()].filter((v) => v.position > 0n), tx);
    await this.writeHistory(history, tx);
    await this.writeReviews([...reviews.values()], tx);
    return { illegalTransitions };
  }

  /** The rows of the withdrawals the batch touches; rows not yet stored are absent. */
  private async load(withdrawalIds: readonly string[], tx: ProjectionTransaction): Promise<Map<string, WithdrawalView>> {
    const { rows } = await tx.query<StoredWithdrawal>(
      `select withdrawal_id, status, statuses_visited, channel, provider_reference, attempt
         from ${tx.table('withdrawals')} where withdrawal_id = any($1::text[])`,
      [textArray(withdrawalIds)],
    );
    const views = new Map<string, WithdrawalView>();
    for (const row of rows) {
      const visited = row.statuses_visited;
      if (!isWithdrawalStatus(row.status) || !visited.every(isWithdrawalStatus)) {
        throw new ProjectionInvariantViolation(this.name, `withdrawal ${row.withdrawal_id} has an unknown status`, {
          withdrawalId: row.withdrawal_id,
          status: row.status,
        });
      }
      views.set(row.withdrawal_id, {
        withdrawalId: row.withdrawal_id,
        created: null,
        track: { status: row.status, statusesVisited: visited },
        channel: row.channel,
        providerReference: row.provider_reference,
        attempt: row.attempt,
        // 0n marks "loaded, not changed"; only changed views are written back.
        position: 0n,
        updatedAt: new Date(0),
      });
    }
    return views;
  }

  /**
   * A new withdrawal. `WithdrawalRequested` is the normal start. The withdrawal stream's
   * stream-starting events carry the same facts, so a withdrawal whose request the log
   * somehow lacks is still shown, starting from `requested` like the decider's empty stream.
   */
  private create(withdrawalId: string, event: LedgerEvent, recorded: RecordedEvent): WithdrawalView | null {
    const start = (facts: { accountId: string; amount: string; currency: string }, requestedAt: string, channel: string | null) => ({
      withdrawalId,
      // Decoded and re-encoded: a malformed amount in event data fails here, by name.
      created: { accountId: facts.accountId, amount: decodeAmount(facts.amount).toString(), currency: facts.currency, requestedAt },
      track: WITHDRAWAL_STATUS_TRACK_START,
      channel,
      providerReference: null,
      attempt: 0,
      position: recorded.globalPosition,
      updatedAt: recorded.recordedAt,
    });
    switch (event.type) {
      case 'WithdrawalRequested':
        return start(event.data, event.data.requestedAt, event.data.channel);
      case 'PayoutInitiated':
      case 'WithdrawalCancelled':
      case 'ManualReviewRequested':
        return start(event.data, iso(recorded.recordedAt), null);
      default:
        return null;
    }
  }

  /**
   * Attempt, channel and provider reference follow the latest attempt, as in the decider:
   * a new attempt starts without a reference; a reference is taken only from a report
   * about the latest attempt, so a late report of a superseded attempt cannot overwrite it.
   */
  private followAttempt(view: WithdrawalView, event: LedgerEvent, applied: boolean): void {
    switch (event.type) {
      case 'PayoutInitiated':
        if (applied) {
          view.attempt = event.data.attempt;
          view.channel = event.data.channel;
          view.providerReference = null;
        }
        return;
      case 'PayoutSubmitted':
        // Always a repeat of `processing`, so never "applied"; while the attempt is still in
        // flight it names it, as in the decider. A late one (after the outcome) changes nothing.
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

  private async writeWithdrawals(changed: readonly WithdrawalView[], tx: ProjectionTransaction): Promise<void> {
    const table = tx.table('withdrawals');
    const created = changed.filter((v) => v.created !== null);
    const updated = changed.filter((v) => v.created === null);
    // Statuses never contain a comma, so the visited list travels as one text per row
    // (unnest would flatten a two-dimensional array).
    const visited = (v: WithdrawalView) => v.track.statusesVisited.join(',');
    if (created.length > 0) {
      await tx.query(
        `insert into ${table}
           (withdrawal_id, account_id, amount, currency, status, channel, provider_reference, attempt,
            requested_at, updated_at, position, statuses_visited)
         select d.withdrawal_id, d.account_id, d.amount, d.currency, d.status, d.channel, d.provider_reference,
                d.attempt, d.requested_at, d.updated_at, d.position, string_to_array(d.visited, ',')
           from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::int[], $9::timestamptz[], $10::timestamptz[], $11::bigint[], $12::text[])
                as d(withdrawal_id, account_id, amount, currency, status, channel, provider_reference, attempt,
                     requested_at, updated_at, position, visited)`,
        [
          textArray(created.map((v) => v.withdrawalId)),
          textArray(created.map((v) => v.created!.accountId)),
          plainArray(created.map((v) => v.created!.amount)),
          textArray(created.map((v) => v.created!.currency)),
          textArray(created.map((v) => v.track.status)),
          textArray(created.map((v) => v.channel)),
          textArray(created.map((v) => v.providerReference)),
          plainArray(created.map((v) => v.attempt)),
          textArray(created.map((v) => v.created!.requestedAt)),
          plainArray(created.map((v) => iso(v.updatedAt))),
          plainArray(created.map((v) => v.position.toString())),
          textArray(created.map(visited)),
        ],
      );
    }
    if (updated.length > 0) {
      const result = await tx.query(
        `update ${table} as w
            set status = d.status,
                statuses_visited = string_to_array(d.visited, ','),
                channel = d.channel,
                provider_reference = d.provider_reference,
                attempt = d.attempt,
                updated_at = d.updated_at,
                position = d.position
           from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                       $7::timestamptz[], $8::bigint[])
                as d(withdrawal_id, status, visited, channel, provider_reference, attempt, updated_at, position)
          where w.withdrawal_id = d.withdrawal_id`,
        [
          textArray(updated.map((v) => v.withdrawalId)),
          textArray(updated.map((v) => v.track.status)),
          textArray(updated.map(visited)),
          textArray(updated.map((v) => v.channel)),
          textArray(updated.map((v) => v.providerReference)),
          plainArray(updated.map((v) => v.attempt)),
          plainArray(updated.map((v) => iso(v.updatedAt))),
          plainArray(updated.map((v) => v.position.toString())),
        ],
      );
      // The rows were read in this transaction by the only writer; anything else is a bug.
      if (result.rowCount !== updated.length) {
        throw new ProjectionInvariantViolation(this.name, 'a loaded withdrawal row disappeared during its batch');
      }
    }
  }

  private async writeHistory(history: readonly HistoryRow[], tx: ProjectionTransaction): Promise<void> {
    if (history.length === 0) return;
    await tx.query(
      `insert into ${tx.table('withdrawal_status_history')}
         (withdrawal_id, position, event_type, from_status, to_status, applied, note, recorded_at)
       select * from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::boolean[],
                            $7::text[], $8::timestamptz[])`,
      [
        textArray(history.map((h) => h.withdrawalId)),
        plainArray(history.map((h) => h.position.toString())),
        textArray(history.map((h) => h.eventType)),
        textArray(history.map((h) => h.fromStatus)),
        textArray(history.map((h) => h.toStatus)),
        plainArray(history.map((h) => h.applied)),
        textArray(history.map((h) => h.note)),
        plainArray(history.map((h) => iso(h.recordedAt))),
      ],
    );
  }

  /**
   * A review requested in the batch replaces the withdrawal's review row whole (a retry can
   * lead to a second review); a resolution alone completes the row that is already there.
   */
  private async writeReviews(reviews: readonly ReviewChange[], tx: ProjectionTransaction): Promise<void> {
    const table = tx.table('review_queue');
    const requested = reviews.filter((r) => r.request !== null);
    const resolvedOnly = reviews.filter((r) => r.request === null);
    if (requested.length > 0) {
      await tx.query(
        `insert into ${table} as r
           (withdrawal_id, reason, from_status, requested_at, requested_by, resolved_at, decision, resolved_by,
            resolution_reason, position)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[],
                              $7::text[], $8::text[], $9::text[], $10::bigint[])
         on conflict (withdrawal_id) do update
            set reason = excluded.reason,
                from_status = excluded.from_status,
                requested_at = excluded.requested_at,
                requested_by = excluded.requested_by,
                resolved_at = excluded.resolved_at,
                decision = excluded.decision,
                resolved_by = excluded.resolved_by,
                resolution_reason = excluded.resolution_reason,
                position = excluded.position`,
        [
          textArray(requested.map((r) => r.withdrawalId)),
          textArray(requested.map((r) => r.request!.reason)),
          textArray(requested.map((r) => r.request!.fromStatus)),
          textArray(requested.map((r) => r.request!.requestedAt)),
          textArray(requested.map((r) => r.request!.requestedBy)),
          textArray(requested.map((r) => r.resolution?.resolvedAt ?? null)),
          textArray(requested.map((r) => r.resolution?.decision ?? null)),
          textArray(requested.map((r) => r.resolution?.resolvedBy ?? null)),
          textArray(requested.map((r) => r.resolution?.reason ?? null)),
          plainArray(requested.map((r) => r.position.toString())),
        ],
      );
    }
    if (resolvedOnly.length > 0) {
      const result = await tx.query(
        `update ${table} as r
            set resolved_at = d.resolved_at,
                decision = d.decision,
                resolved_by = d.resolved_by,
                resolution_reason = d.resolution_reason,
                position = d.position
           from unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                as d(withdrawal_id, resolved_at, decision, resolved_by, resolution_reason, position)
          where r.withdrawal_id = d.withdrawal_id`,
        [
          textArray(resolvedOnly.map((r) => r.withdrawalId)),
          textArray(resolvedOnly.map((r) => r.resolution!.resolvedAt)),
          textArray(resolvedOnly.map((r) => r.resolution!.decision)),
          textArray(resolvedOnly.map((r) => r.resolution!.resolvedBy)),
          textArray(resolvedOnly.map((r) => r.resolution!.reason)),
          plainArray(resolvedOnly.map((r) => r.position.toString())),
        ],
      );
      if (result.rowCount !== resolvedOnly.length) {
        throw new ProjectionInvariantViolation(this.name, 'a review was resolved that was never requested', {
          withdrawalId: resolvedOnly[0]!.withdrawalId,
        });
      }
    }
  }
}

function historyRow(
  withdrawalId: string,
  recorded: RecordedEvent,
  fromStatus: WithdrawalStatus | null,
  toStatus: WithdrawalStatus,
  applied: boolean,
  note: string | null,
): HistoryRow {
  return {
    withdrawalId,
    position: recorded.globalPosition,
    eventType: recorded.type,
    fromStatus,
    toStatus,
    applied,
    note,
    recordedAt: recorded.recordedAt,
  };
}

/** How a review ended, from the event that took the withdrawal out of `manual_review`. */
function reviewResolution(event: LedgerEvent, recorded: RecordedEvent): NonNullable<ReviewChange['resolution']> {
  switch (event.type) {
    case 'ManualReviewResolved':
      return {
        resolvedAt: event.data.resolvedAt,
        decision: event.data.decision,
        resolvedBy: event.data.resolvedBy,
        reason: event.data.reason,
      };
    case 'Settled':
      return { resolvedAt: event.data.settledAt, decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
    case 'PayoutFailed':
      return { resolvedAt: event.data.failedAt, decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
    default:
      return { resolvedAt: iso(recorded.recordedAt), decision: null, resolvedBy: null, reason: `closed by ${event.type}` };
  }
}

/** Why an event did not move the status, in words an operator reads in the history. */
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
