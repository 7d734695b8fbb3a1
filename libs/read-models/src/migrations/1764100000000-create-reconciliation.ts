import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The reconciliation read model (docs/reconciliation.md), written by the `reconciliation`
 * projection from the `reconciliation-<channel>-<date>` streams. Frozen text like every
 * migration: a later change is a new migration.
 *
 * Discrepancies awaiting an operator are rows of `reconciliation_items` with
 * `review_state = 'open'`, not rows of `review_queue`: `review_queue` belongs to the
 * withdrawals projection (keyed by withdrawal, rebuilt with it), and a table written by two
 * projections would lose one projection's rows whenever the other is rebuilt (ADR 0010).
 */
export class CreateReconciliation1764100000000 implements MigrationInterface {
  readonly name = 'CreateReconciliation1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table read_models.reconciliation_statements (
        channel text not null,
        statement_date date not null,
        -- SHA-256 of the statement's normalised content.
        statement_id text not null check (statement_id ~ '^[0-9a-f]{64}$'),
        item_count int not null check (item_count >= 0),
        matched_count int not null check (matched_count >= 0),
        discrepancy_count int not null check (discrepancy_count >= 0),
        -- The statement this import replaced, and the one that replaced it (null while current).
        supersedes text,
        superseded_by text,
        superseded_at timestamptz,
        imported_at timestamptz not null,
        imported_by text not null,
        -- The global position of the last event applied to this row.
        position bigint not null,
        primary key (channel, statement_date, statement_id),
        check ((superseded_by is null) = (superseded_at is null))
      )`);
    // At most one current statement per channel and day: the decider's rule, held by the database too.
    await queryRunner.query(`
      create unique index reconciliation_statements_current_idx
        on read_models.reconciliation_statements (channel, statement_date) where superseded_by is null`);

    await queryRunner.query(`
      create table read_models.reconciliation_items (
        channel text not null,
        statement_date date not null,
        -- discrepancy_id for a discrepancy, item_id for a matched line.
        finding_id text not null,
        statement_id text not null,
        outcome text not null check (outcome in (
          'matched', 'missing_in_ledger', 'missing_in_statement', 'amount_mismatch',
          'currency_mismatch', 'status_mismatch', 'duplicate_line')),
        -- The statement line's item id; null for missing_in_statement.
        item_id text,
        discrepancy_id text,
        line int check (line >= 2),
        withdrawal_id text,
        provider_reference text,
        amount_statement bigint check (amount_statement > 0),
        amount_ledger bigint check (amount_ledger > 0),
        currency text,
        currency_ledger text,
        status_statement text check (status_statement in ('settled', 'returned')),
        status_ledger text,
        note text,
        found_at timestamptz not null,
        -- Discrepancies only: open until an operator resolves it or a corrected statement supersedes it.
        review_state text check (review_state in ('open', 'resolved', 'superseded')),
        resolved_at timestamptz,
        resolved_by text,
        resolution text,
        -- The global position of the last event applied to this row.
        position bigint not null,
        primary key (channel, statement_date, finding_id),
        check (finding_id = coalesce(discrepancy_id, item_id)),
        check ((outcome = 'matched') = (discrepancy_id is null)),
        check ((discrepancy_id is null) = (review_state is null)),
        check ((review_state is distinct from 'open' and review_state is not null) = (resolved_at is not null)),
        check ((resolved_at is null) = (resolved_by is null)),
        check ((resolved_at is null) = (resolution is null))
      )`);
    // The reconciliation review queue pages oldest finding first: open ones (the common
    // read) and every discrepancy.
    await queryRunner.query(`
      create index reconciliation_items_open_idx
        on read_models.reconciliation_items (found_at, channel, statement_date, finding_id) where review_state = 'open'`);
    await queryRunner.query(`
      create index reconciliation_items_discrepancies_idx
        on read_models.reconciliation_items (found_at, channel, statement_date, finding_id) where discrepancy_id is not null`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table if exists read_models.reconciliation_items`);
    await queryRunner.query(`drop table if exists read_models.reconciliation_statements`);
  }
}
