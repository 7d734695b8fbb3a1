import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/** One posting of one money event: the double-entry journal, in global order. */
@Entity({ schema: 'read_models', name: 'journal_entries' })
@Index('journal_entries_account_idx', ['accountId', 'position', 'postingIndex'])
export class JournalEntryEntity {
  @PrimaryColumn({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;

  /** The posting's index within its event's `postings`. */
  @PrimaryColumn({ name: 'posting_index', type: 'int' })
  postingIndex!: number;

  @Column({ name: 'stream_name', type: 'text' })
  streamName!: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType!: string;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  /** `user:<id>:available`, `external:deposits`, `payouts:settled:<channel>`, ... */
  @Column({ name: 'ledger_account', type: 'text' })
  ledgerAccount!: string;

  /** The user account id for `user:<id>:*` ledger accounts; null for system accounts. */
  @Column({ name: 'account_id', type: 'text', nullable: true })
  accountId!: string | null;

  @Column({ type: 'text' })
  side!: 'debit' | 'credit';

  /** Minor units, strictly positive. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  amount!: bigint;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}
