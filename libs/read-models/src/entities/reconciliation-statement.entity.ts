import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * Every statement imported for a channel and day, the replaced ones included (the audit
 * trail). The current one has `superseded_by` null; a unique index keeps it to one.
 */
@Entity({ schema: 'read_models', name: 'reconciliation_statements' })
@Index('reconciliation_statements_current_idx', ['channel', 'statementDate'], { unique: true, where: 'superseded_by is null' })
export class ReconciliationStatementEntity {
  @PrimaryColumn({ type: 'text' })
  channel!: string;

  /** `YYYY-MM-DD`. A `date` column, read as text so that no time zone ever shifts it. */
  @PrimaryColumn({ name: 'statement_date', type: 'date' })
  statementDate!: string;

  /** SHA-256 (hex) of the statement's normalised content. */
  @PrimaryColumn({ name: 'statement_id', type: 'text' })
  statementId!: string;

  @Column({ name: 'item_count', type: 'int' })
  itemCount!: number;

  @Column({ name: 'matched_count', type: 'int' })
  matchedCount!: number;

  @Column({ name: 'discrepancy_count', type: 'int' })
  discrepancyCount!: number;

  @Column({ type: 'text', nullable: true })
  supersedes!: string | null;

  @Column({ name: 'superseded_by', type: 'text', nullable: true })
  supersededBy!: string | null;

  @Column({ name: 'superseded_at', type: 'timestamptz', nullable: true })
  supersededAt!: Date | null;

  @Column({ name: 'imported_at', type: 'timestamptz' })
  importedAt!: Date;

  @Column({ name: 'imported_by', type: 'text' })
  importedBy!: string;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;
}
