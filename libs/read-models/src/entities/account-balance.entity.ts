import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumn } from './column-transformers';

/**
 * One user account's balances, equal to the account decider's state at `position`:
 * `available = balance(user:<id>:available)`, `pending = balance(user:<id>:pending)`.
 */
@Entity({ schema: 'read_models', name: 'account_balances' })
export class AccountBalanceEntity {
  @PrimaryColumn({ name: 'account_id', type: 'text' })
  accountId!: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId!: string;

  @Column({ type: 'text' })
  currency!: string;

  /** Spendable minor units. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  available!: bigint;

  /** Minor units held for withdrawals in flight. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  pending!: bigint;

  @Column({ type: 'boolean' })
  frozen!: boolean;

  @Column({ name: 'opened_at', type: 'timestamptz' })
  openedAt!: Date;

  /** The global position of the last event of the account's stream applied to this row. */
  @Column({ type: 'bigint', transformer: bigintColumn })
  position!: bigint;

  /** The recorded time of that event. */
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
