import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * The latest manual review of each withdrawal; open while `resolved_at` is null. A review
 * ends with an operator's decision (`decision`, `resolved_by` set) or with a provider report
 * that takes the withdrawal out of review first (`Settled`, `PayoutFailed`: `decision` and
 * `resolved_by` stay null, `resolution_reason` names the report).
 */
@Entity({ schema: 'read_models', name: 'review_queue' })
@Index('review_queue_open_idx', ['requestedAt', 'withdrawalId'], { where: 'resolved_at is null' })
@Index('review_queue_requested_idx', ['requestedAt', 'withdrawalId'])
export class ReviewQueueEntity {
  @PrimaryColumn({ name: 'withdrawal_id', type: 'text' })
  withdrawalId!: string;

  /** Why the review was requested. */
  @Column({ type: 'text' })
  reason!: string;

  /** The status the withdrawal left to enter review. */
  @Column({ name: 'from_status', type: 'text' })
  fromStatus!: string;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'requested_by', type: 'text' })
  requestedBy!: string;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  decision!: 'retry' | 'fail' | 'settled' | null;

  @Column({ name: 'resolved_by', type: 'text', nullable: true })
  resolvedBy!: string | null;

  /** The operator's reason for the decision, or `closed by <event type>` for a provider report. */
  @Column({ name: 'resolution_reason', type: 'text', nullable: true })
  resolutionReason!: string | null;

  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;
}
