import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * Every event about a withdrawal, with the status it reported and whether it moved the
 * status. `applied = false` rows are stale, repeated or illegal reports: recorded, not
 * applied (ARCHITECTURE.md §2).
 */
@Entity({ schema: 'read_models', name: 'withdrawal_status_history' })
export class WithdrawalStatusHistoryEntity {
  @PrimaryColumn({ name: 'withdrawal_id', type: 'text' })
  withdrawalId!: string;

  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: string;

  /** The status before the event; null for the event that created the withdrawal. */
  @Column({ name: 'from_status', type: 'text', nullable: true })
  fromStatus!: string | null;

  /** The status the event reports. */
  @Column({ name: 'to_status', type: 'text' })
  toStatus!: string;

  @Column({ type: 'boolean' })
  applied!: boolean;

  /** Why an event was not applied (`repeats_current_status`, `stale: ...`, `illegal: ...`); null when applied. */
  @Column({ type: 'text', nullable: true })
  note!: string | null;

  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}
