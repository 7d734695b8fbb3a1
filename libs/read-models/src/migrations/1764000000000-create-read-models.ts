import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first read-model schema. The SQL is frozen text: a later change is a new migration,
 * never an edit here, because databases that already ran this one will not run it again.
 *
 * Amounts and positions are `bigint`; every value a projection writes is derived from
 * events only (times are the events' recorded or business times, never `now()`), so a
 * rebuild produces byte-identical rows. The only `now()` is the checkpoint's `updated_at`,
 * which says when the projector last committed.
 *
 * Check constraints restate the ledger's invariants where PostgreSQL can hold them
 * (balances never negative, posting amounts positive, sides and statuses from the domain's
 * lists), so a projection bug fails its batch instead of showing a wrong number.
 */
export class CreateReadModels1764000000000 implements MigrationInterface {
  readonly name = 'CreateReadModels1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`create schema if not exists read_models`);

    await queryRunner.query(`
      create table read_models.projection_checkpoints (
        projection text primary key,
        -- The global position of the last event applied; 0 before the first.
        position bigint not null check (position >= 0),
        updated_at timestamptz not null
      )`);

    await queryRunner.query(`
      create table read_models.account_balances (
        account_id text primary key,
        owner_id text not null,
        currency text not null,
        available bigint not null check (available >= 0),
        pending bigint not null check (pending >= 0),
        frozen boolean not null,
        opened_at timestamptz not null,
        -- The global position of the last event of the account's stream applied to this row.
        position bigint not null,
        updated_at timestamptz not null
      )`);

    await queryRunner.query(`
      create table read_models.journal_entries (
        position bigint not null,
        posting_index int not null check (posting_index >= 0),
        stream_name text not null,
        event_type text not null,
        event_id uuid not null,
        ledger_account text not null,
        -- The user account id for user:<id>:available and user:<id>:pending; null for system accounts.
        account_id text,
        side text not null check (side in ('debit', 'credit')),
        amount bigint not null check (amount > 0),
        currency text not null,
        recorded_at timestamptz not null,
        primary key (position, posting_index)
      )`);
    await queryRunner.query(`
      create index journal_entries_account_idx
        on read_models.journal_entries (account_id, position, posting_index)`);

    await queryRunner.query(`
      create table read_models.withdrawals (
        withdrawal_id text primary key,
        account_id text not null,
        amount bigint not null check (amount > 0),
        currency text not null,
        status text not null check (status in (
          'requested', 'processing', 'unknown', 'settled', 'failed',
          'cancelled', 'returned', 'reversed', 'manual_review')),
        channel text,
        provider_reference text,
        attempt int not null check (attempt >= 0),
        requested_at timestamptz not null,
        updated_at timestamptz not null,
        -- The global position of the last event recorded for this withdrawal (applied or not).
        position bigint not null,
        -- Distinct statuses in the order first reached: what classifyTransition needs to tell
        -- a stale report from an illegal one.
        statuses_visited text[] not null
      )`);
    await queryRunner.query(`
      create index withdrawals_status_idx
        on read_models.withdrawals (status, requested_at, withdrawal_id)`);
    await queryRunner.query(`
      create index withdrawals_account_idx
        on read_models.withdrawals (account_id, requested_at, withdrawal_id)`);
    // The unfiltered list pages by (requested_at, withdrawal_id) too.
    await queryRunner.query(`
      create index withdrawals_requested_idx
        on read_models.withdrawals (requested_at, withdrawal_id)`);

    await queryRunner.query(`
      create table read_models.withdrawal_status_history (
        withdrawal_id text not null,
        position bigint not null,
        event_type text not null,
        -- Null only for the event that created the withdrawal.
        from_status text,
        to_status text not null,
        -- False: recorded and ignored (a stale, repeated or illegal report); the status did not move.
        applied boolean not null,
        note text,
        recorded_at timestamptz not null,
        primary key (withdrawal_id, position)
      )`);

    await queryRunner.query(`
      create table read_models.review_queue (
        withdrawal_id text primary key,
        reason text not null,
        from_status text not null,
        requested_at timestamptz not null,
        requested_by text not null,
        -- Set when the review ended: by an operator's decision, or by a provider report
        -- (Settled, PayoutFailed) that took the withdrawal out of review first.
        resolved_at timestamptz,
        -- The operator's decision; null while open and when a provider report ended the review.
        decision text check (decision in ('retry', 'fail', 'settled')),
        resolved_by text,
        resolution_reason text,
        -- The global position of the last event applied to this row.
        position bigint not null,
        check ((decision is null) = (resolved_by is null)),
        check (decision is null or resolved_at is not null),
        check ((resolved_at is null) = (resolution_reason is null))
      )`);
    // The queue pages oldest request first: open items (the common read) and all of them.
    await queryRunner.query(`
      create index review_queue_open_idx
        on read_models.review_queue (requested_at, withdrawal_id) where resolved_at is null`);
    await queryRunner.query(`
      create index review_queue_requested_idx
        on read_models.review_queue (requested_at, withdrawal_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'review_queue',
      'withdrawal_status_history',
      'withdrawals',
      'journal_entries',
      'account_balances',
      'projection_checkpoints',
    ]) {
      await queryRunner.query(`drop table if exists read_models.${table}`);
    }
  }
}
