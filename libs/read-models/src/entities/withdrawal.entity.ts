import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * A withdrawal's current status, folded from the account stream (request, hold, money
 * outcome) and the withdrawal stream (payout attempts, reviews) in global order through the
 * domain's transition table.
 */
@Entity({ schema: 'read_models', name: 'withdrawals' })
@Index('withdrawals_status_idx', ['status', 'requestedAt', 'withdrawalId'])
@Index('withdrawals_account_idx', ['accountId', 'requestedAt', 'withdrawalId'])
@Index('withdrawals_requested_idx', ['requestedAt', 'withdrawalId'])
export class WithdrawalEntity {
  @PrimaryColumn({ name: 'withdrawal_id', type: 'text' })
  withdrawalId!: string;

  @Column({ name: 'account_id', type: 'text' })
  accountId!: string;

  /** Minor units. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  amount!: bigint;

  @Column({ type: 'text' })
  currency!: string;

  /** One of the domain's WITHDRAWAL_STATUSES. */
  @Column({ type: 'text' })
  status!: string;

  /** The channel of the latest attempt, or the one the client asked for before any attempt. */
  @Column({ type: 'text', nullable: true })
  channel!: string | null;

  @Column({ name: 'provider_reference', type: 'text', nullable: true })
  providerReference!: string | null;

  /** The latest payout attempt's number; 0 before the first. */
  @Column({ type: 'int' })
  attempt!: number;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** The global position of the last event recorded for this withdrawal, applied or not. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;

  /** Distinct statuses in the order first reached. */
  @Column({ name: 'statuses_visited', type: 'text', array: true })
  statusesVisited!: string[];
}
