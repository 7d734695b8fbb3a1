import type { Pool } from 'pg';

/**
 * Which account holds a withdrawal. The withdrawal's id is derived from an idempotency key
 * and says nothing about its account, and its own stream only starts when a payout is
 * initiated; yet a cancel names the withdrawal alone. This table answers that, on the
 * command side, without waiting for a projection.
 *
 * The row is written before the append. If the append then fails, the row points at an
 * account holding no such hold, which a cancel reports as `withdrawal_not_found`.
 */
export class WithdrawalIndex {
  constructor(private readonly pool: Pool) {}

  async migrate(): Promise<void> {
    await this.pool.query(`
      create schema if not exists command_side;
      create table if not exists command_side.withdrawal_accounts (
        withdrawal_id text primary key,
        account_id text not null,
        recorded_at timestamptz not null default now()
      )`);
  }

  async record(withdrawalId: string, accountId: string): Promise<void> {
    await this.pool.query(
      `insert into command_side.withdrawal_accounts (withdrawal_id, account_id) values ($1, $2)
       on conflict (withdrawal_id) do nothing`,
      [withdrawalId, accountId],
    );
  }

  async accountOf(withdrawalId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ account_id: string }>(
      'select account_id from command_side.withdrawal_accounts where withdrawal_id = $1',
      [withdrawalId],
    );
    return rows[0]?.account_id;
  }
}
