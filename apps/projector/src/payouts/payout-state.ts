import type { PayoutDestination } from '@ledger/domain';
import type { SqlResult, SqlSession } from '@ledger/read-models';

/** What routing needs about a withdrawal, from its `WithdrawalRequested`. */
export interface WithdrawalRoute {
  readonly withdrawalId: string;
  readonly accountId: string;
  /** Minor units. */
  readonly amount: bigint;
  readonly currency: string;
  readonly destination: PayoutDestination;
  readonly channelPreferred: string | null;
}

export type AttemptStatus = 'submitting' | 'pending' | 'unknown' | 'resolved';

export interface AttemptRow {
  readonly withdrawalId: string;
  readonly attempt: number;
  readonly channel: string;
  readonly idempotencyKey: string;
  readonly initiatedEventId: string;
  readonly status: AttemptStatus;
  readonly submitStartedAt: Date;
  readonly submitDeadlineAt: Date;
  readonly unknownSince: Date | null;
  readonly nextCheckAt: Date | null;
  readonly checks: number;
}

interface AttemptRecord {
  withdrawal_id: string;
  attempt: number;
  channel: string;
  idempotency_key: string;
  initiated_event_id: string;
  status: AttemptStatus;
  submit_started_at: Date;
  submit_deadline_at: Date;
  unknown_since: Date | null;
  next_check_at: Date | null;
  checks: number;
}

export interface ConflictRecord {
  /** Deterministic from the cause (`<kind>:<event id>`), so a replay records it once. */
  readonly conflictId: string;
  readonly withdrawalId: string | null;
  readonly kind: string;
  readonly code: string;
  readonly causeEventId: string | null;
  readonly causePosition: bigint | null;
  readonly detail: Record<string, unknown>;
}

/**
 * One session's queries, one at a time, in call order. The process manager's reactions run
 * side by side but share the leadership session (so that a leader that lost it writes
 * nothing more); node-postgres would queue them anyway, but calling a client that is busy
 * is deprecated, so the queue is ours.
 */
export class SerializedSession implements SqlSession {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly session: SqlSession) {}

  query<Row extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<Row>> {
    const result = this.tail.then(() => this.session.query<Row>(sql, params));
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The process manager's tables (schema `payouts`, see migrations.ts). Every write is one
 * statement that is idempotent under replay: inserts do nothing on conflict, updates name
 * the row and the state they move from where a stale writer could otherwise win.
 */
export class PayoutState {
  constructor(private readonly session: SqlSession) {}

  async recordWithdrawal(route: WithdrawalRoute, debitedEventId: string): Promise<void> {
    await this.session.query(
      `insert into payouts.withdrawals
         (withdrawal_id, account_id, amount, currency, destination, channel_preferred, debited_event_id)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (withdrawal_id) do nothing`,
      [
        route.withdrawalId,
        route.accountId,
        route.amount.toString(),
        route.currency,
        JSON.stringify(route.destination),
        route.channelPreferred,
        debitedEventId,
      ],
    );
  }

  async withdrawal(withdrawalId: string): Promise<WithdrawalRoute | null> {
    const { rows } = await this.session.query<{
      account_id: string;
      amount: string;
      currency: string;
      destination: PayoutDestination;
      channel_preferred: string | null;
    }>(
      `select account_id, amount::text as amount, currency, destination, channel_preferred
         from payouts.withdrawals where withdrawal_id = $1`,
      [withdrawalId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      withdrawalId,
      accountId: row.account_id,
      amount: BigInt(row.amount),
      currency: row.currency,
      destination: row.destination,
      channelPreferred: row.channel_preferred,
    };
  }

  /**
   * Records that a submit of the attempt begins now. A first submit creates the row; a
   * resubmit after a crash moves the deadline on, because the new request may itself be the
   * one that reaches the provider last.
   */
  async submitStarting(input: {
    withdrawalId: string;
    attempt: number;
    channel: string;
    idempotencyKey: string;
    initiatedEventId: string;
    now: Date;
    deadline: Date;
  }): Promise<void> {
    await this.session.query(
      `insert into payouts.attempts as a
         (withdrawal_id, attempt, channel, idempotency_key, initiated_event_id, status,
          submit_started_at, submit_deadline_at, updated_at)
       values ($1, $2, $3, $4, $5, 'submitting', $6, $7, $6)
       on conflict (withdrawal_id, attempt) do update
         set submit_started_at = excluded.submit_started_at,
             submit_deadline_at = greatest(a.submit_deadline_at, excluded.submit_deadline_at),
             status = case when a.status = 'resolved' then a.status else 'submitting' end,
             updated_at = excluded.updated_at`,
      [input.withdrawalId, input.attempt, input.channel, input.idempotencyKey, input.initiatedEventId, input.now, input.deadline],
    );
  }

  /**
   * Makes sure an attempt found in flight on replay has a timer: its submit was answered and
   * recorded in the ledger, but the process died before this table heard of it (the row is
   * still `submitting`), or the table was lost. A row that already has a timer is left alone.
   */
  async ensureTracked(input: {
    withdrawalId: string;
    attempt: number;
    channel: string;
    idempotencyKey: string;
    initiatedEventId: string;
    status: 'pending' | 'unknown';
    now: Date;
    deadline: Date;
    nextCheckAt: Date;
  }): Promise<void> {
    await this.session.query(
      `insert into payouts.attempts as a
         (withdrawal_id, attempt, channel, idempotency_key, initiated_event_id, status,
          submit_started_at, submit_deadline_at, unknown_since, next_check_at, updated_at)
       values ($1, $2, $3, $4, $5, $6::text, $7, $8, case when $6::text = 'unknown' then $7::timestamptz end, $9, $7)
       on conflict (withdrawal_id, attempt) do update
         set status = excluded.status,
             unknown_since = coalesce(a.unknown_since, excluded.unknown_since),
             next_check_at = excluded.next_check_at,
             updated_at = excluded.updated_at
         where a.status = 'submitting'`,
      [
        input.withdrawalId,
        input.attempt,
        input.channel,
        input.idempotencyKey,
        input.initiatedEventId,
        input.status,
        input.now,
        input.deadline,
        input.nextCheckAt,
      ],
    );
  }

  /** The provider holds the payout: poll it if no callback settles it first. */
  async markPending(withdrawalId: string, attempt: number, now: Date, nextCheckAt: Date): Promise<void> {
    await this.session.query(
      `update payouts.attempts
          set status = 'pending', next_check_at = $3, updated_at = $4
        where withdrawal_id = $1 and attempt = $2 and status <> 'resolved'`,
      [withdrawalId, attempt, nextCheckAt, now],
    );
  }

  async markUnknown(withdrawalId: string, attempt: number, now: Date, nextCheckAt: Date): Promise<void> {
    await this.session.query(
      `update payouts.attempts
          set status = 'unknown', unknown_since = coalesce(unknown_since, $4), next_check_at = $3, updated_at = $4
        where withdrawal_id = $1 and attempt = $2 and status <> 'resolved'`,
      [withdrawalId, attempt, nextCheckAt, now],
    );
  }

  /** Nothing more to learn about attempts 1..`upToAttempt` (an outcome, a failover, a retry decision). */
  async markResolved(withdrawalId: string, upToAttempt: number, resolution: string, now: Date): Promise<void> {
    await this.session.query(
      `update payouts.attempts
          set status = 'resolved', resolution = $3, next_check_at = null, updated_at = $4
        where withdrawal_id = $1 and attempt <= $2 and status <> 'resolved'`,
      [withdrawalId, upToAttempt, resolution, now],
    );
  }

  /** A status query answered without resolving the attempt: ask again at `nextCheckAt`. */
  async recordCheck(withdrawalId: string, attempt: number, result: string, now: Date, nextCheckAt: Date): Promise<void> {
    await this.session.query(
      `update payouts.attempts
          set checks = checks + 1, last_check_result = $3, next_check_at = $4, updated_at = $5
        where withdrawal_id = $1 and attempt = $2 and status in ('pending', 'unknown')`,
      [withdrawalId, attempt, result, nextCheckAt, now],
    );
  }

  async attempt(withdrawalId: string, attempt: number): Promise<AttemptRow | null> {
    const { rows } = await this.session.query<AttemptRecord>(
      `select * from payouts.attempts where withdrawal_id = $1 and attempt = $2`,
      [withdrawalId, attempt],
    );
    return rows[0] ? toAttempt(rows[0]) : null;
  }

  /** Attempts whose timer is due, oldest first. */
  async dueAttempts(now: Date, limit: number): Promise<AttemptRow[]> {
    const { rows } = await this.session.query<AttemptRecord>(
      `select * from payouts.attempts
        where status in ('pending', 'unknown') and next_check_at <= $1
        order by next_check_at
        limit $2`,
      [now, limit],
    );
    return rows.map(toAttempt);
  }

  /** Attempts waiting for an answer, by status, and the earliest timer among them. */
  async openAttempts(): Promise<{ unknown: number; pending: number; nextCheckAt: Date | null }> {
    const { rows } = await this.session.query<{ unknown: string; pending: string; next_check_at: Date | null }>(
      `select count(*) filter (where status = 'unknown')::text as unknown,
              count(*) filter (where status = 'pending')::text as pending,
              min(next_check_at) filter (where status in ('pending', 'unknown')) as next_check_at
         from payouts.attempts`,
    );
    const row = rows[0]!;
    return { unknown: Number(row.unknown), pending: Number(row.pending), nextCheckAt: row.next_check_at };
  }

  /** Records a finding once; returns false when it was already recorded (a replay). */
  async recordConflict(conflict: ConflictRecord): Promise<boolean> {
    const { rowCount } = await this.session.query(
      `insert into payouts.conflicts (conflict_id, withdrawal_id, kind, code, cause_event_id, cause_position, detail)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (conflict_id) do nothing`,
      [
        conflict.conflictId,
        conflict.withdrawalId,
        conflict.kind,
        conflict.code,
        conflict.causeEventId,
        conflict.causePosition === null ? null : conflict.causePosition.toString(),
        JSON.stringify(conflict.detail),
      ],
    );
    return rowCount === 1;
  }
}

function toAttempt(row: AttemptRecord): AttemptRow {
  return {
    withdrawalId: row.withdrawal_id,
    attempt: row.attempt,
    channel: row.channel,
    idempotencyKey: row.idempotency_key,
    initiatedEventId: row.initiated_event_id,
    status: row.status,
    submitStartedAt: row.submit_started_at,
    submitDeadlineAt: row.submit_deadline_at,
    unknownSince: row.unknown_since,
    nextCheckAt: row.next_check_at,
    checks: row.checks,
  };
}
