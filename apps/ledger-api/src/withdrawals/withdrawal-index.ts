import type { Pool } from 'pg';
import { MicroBatcher } from '@ledger/platform';

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
  // Concurrent requests share one insert and one commit (group commit, see MicroBatcher).
  private readonly records = new MicroBatcher<{ withdrawalId: string; accountId: string }, void>(
    async (items) => {
      await this.pool.query(
        `insert into command_side.withdrawal_accounts (withdrawal_id, account_id)
         select * from unnest($1::text[], $2::text[])
         on conflict (withdrawal_id) do nothing`,
        [items.map((item) => item.withdrawalId), items.map((item) => item.accountId)],
      );
      return items.map(() => undefined);
    },
    { maxBatchSize: 128, maxInFlight: 2, keyOf: (item) => item.withdrawalId },
  );

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
    await this.records.submit({ withdrawalId, accountId });
  }

  async accountOf(withdrawalId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ account_id: string }>(
      'select account_id from command_side.withdrawal_accounts where withdrawal_id = $1',
      [withdrawalId],
    );
    return rows[0]?.account_id;
  }
}
