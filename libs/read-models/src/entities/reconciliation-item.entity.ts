import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * One finding of a statement import: a matched line, or a discrepancy. Discrepancies are
 * the reconciliation review queue: open (`review_state = 'open'`) until an operator resolves
 * them with a reason (`resolved_by` is the operator) or a corrected statement supersedes them
 * (`review_state = 'superseded'`, `resolved_by` is who imported it).
 */
@Entity({ schema: 'read_models', name: 'reconciliation_items' })
@Index('reconciliation_items_open_idx', ['foundAt', 'channel', 'statementDate', 'findingId'], { where: "review_state = 'open'" })
@Index('reconciliation_items_discrepancies_idx', ['foundAt', 'channel', 'statementDate', 'findingId'], { where: 'discrepancy_id is not null' })
export class ReconciliationItemEntity {
  @PrimaryColumn({ type: 'text' })
  channel!: string;

  @PrimaryColumn({ name: 'statement_date', type: 'date' })
  statementDate!: string;

  /** `discrepancyId` for a discrepancy, `itemId` for a matched line. */
  @PrimaryColumn({ name: 'finding_id', type: 'text' })
  findingId!: string;

  @Column({ name: 'statement_id', type: 'text' })
  statementId!: string;

  /** `matched`, or the discrepancy's kind. */
  @Column({ type: 'text' })
  outcome!: string;

  @Column({ name: 'item_id', type: 'text', nullable: true })
  itemId!: string | null;

  @Column({ name: 'discrepancy_id', type: 'text', nullable: true })
  discrepancyId!: string | null;

  @Column({ type: 'int', nullable: true })
  line!: number | null;

  @Column({ name: 'withdrawal_id', type: 'text', nullable: true })
  withdrawalId!: string | null;

  @Column({ name: 'provider_reference', type: 'text', nullable: true })
  providerReference!: string | null;

  @Column({ name: 'amount_statement', type: 'bigint', nullable: true, transformer: bigintColumn })
  amountStatement!: bigint | null;

  @Column({ name: 'amount_ledger', type: 'bigint', nullable: true, transformer: bigintColumn })
  amountLedger!: bigint | null;

  @Column({ type: 'text', nullable: true })
  currency!: string | null;

  @Column({ name: 'currency_ledger', type: 'text', nullable: true })
  currencyLedger!: string | null;

  @Column({ name: 'status_statement', type: 'text', nullable: true })
  statusStatement!: string | null;

  @Column({ name: 'status_ledger', type: 'text', nullable: true })
  statusLedger!: string | null;

  @Column({ type: 'text', nullable: true })
  note!: string | null;

  @Column({ name: 'found_at', type: 'timestamptz' })
  foundAt!: Date;

  @Column({ name: 'review_state', type: 'text', nullable: true })
  reviewState!: 'open' | 'resolved' | 'superseded' | null;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt!: Date | null;

  @Column({ name: 'resolved_by', type: 'text', nullable: true })
  resolvedBy!: string | null;

  @Column({ type: 'text', nullable: true })
  resolution!: string | null;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;
}
