import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import type { Pool } from 'pg';
import { decodeCursor, encodeCursor } from '../shared/cursor';
import { PageQuery, toPage, type Page } from '../shared/read-query';
import { isoMillis, READ_MODELS_SCHEMA } from '../shared/sql';
import { IsCursor } from '../shared/validators';
import type { BalanceResponse, JournalEntryResponse } from './account.responses';

export class EntriesQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged.' })
  @IsOptional()
  @IsCursor('entries')
  cursor?: string;
}

interface EntryRow {
  position: string;
  posting_index: number;
  ledger_account: string;
  side: string;
  amount: string;
  currency: string;
  event_type: string;
  recorded_at: string;
}

/** The SQL behind the account reads; bigints leave the database as text so no digit is lost. */
export class AccountQueries {
  constructor(private readonly pool: Pool) {}

  async balance(accountId: string): Promise<BalanceResponse | undefined> {
    const { rows } = await this.pool.query<BalanceResponse>({
      name: 'read-api.balance',
      text: `select account_id as "accountId", currency, available::text as available, pending::text as pending, position::text as position
               from ${READ_MODELS_SCHEMA}.account_balances
              where account_id = $1`,
      values: [accountId],
    });
    return rows[0];
  }

  async exists(accountId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`select 1 from ${READ_MODELS_SCHEMA}.account_balances where account_id = $1`, [accountId]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * One page of the account's postings in log order. The row comparison on (position,
   * posting_index) after the equality on account_id is a range on the index
   * (account_id, position, posting_index): each page costs its own size, however deep.
   */
  async entries(accountId: string, cursor: string | undefined, limit: number): Promise<Page<JournalEntryResponse>> {
    const after = cursor === undefined ? { position: -1n, postingIndex: -1 } : decodeCursor('entries', cursor)!;
    const { rows } = await this.pool.query<EntryRow>(
      `select position::text as position, posting_index, ledger_account, side, amount::text as amount, currency, event_type,
              ${isoMillis('recorded_at')} as recorded_at
         from ${READ_MODELS_SCHEMA}.journal_entries
        where account_id = $1 and (position, posting_index) > ($2::bigint, $3::int)
        order by position, posting_index
        limit $4`,
      [accountId, after.position.toString(), after.postingIndex, limit + 1],
    );
    return toPage(
      rows,
      limit,
      (row) => ({
        position: row.position,
        postingIndex: row.posting_index,
        ledgerAccount: row.ledger_account,
        side: row.side,
        amount: row.amount,
        currency: row.currency,
        eventType: row.event_type,
        recordedAt: row.recorded_at,
      }),
      (row) => encodeCursor('entries', { position: BigInt(row.position), postingIndex: row.posting_index }),
    );
  }
}
