import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import type { Pool } from 'pg';
import { WITHDRAWAL_STATUSES } from '@ledger/domain';
import { decodeCursor, encodeCursor } from '../shared/cursor';
import { PageQuery, toPage, type Page } from '../shared/read-query';
import { isoMicros, isoMillis, READ_MODELS_SCHEMA } from '../shared/sql';
import { IsCursor, IsEntityId, IsUtcTimestamp, IsWithdrawalStatus } from '../shared/validators';
import type { StatusHistoryEntryResponse, WithdrawalResponse, WithdrawalSummaryResponse } from './withdrawal.responses';

export class WithdrawalListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: WITHDRAWAL_STATUSES })
  @IsOptional()
  @IsWithdrawalStatus()
  status?: string;

  @ApiPropertyOptional({ example: 'acc-42' })
  @IsOptional()
  @IsEntityId()
  accountId?: string;

  @ApiPropertyOptional({ example: '2026-11-01T00:00:00Z', description: 'Requested at or after this instant (UTC, inclusive).' })
  @IsOptional()
  @IsUtcTimestamp()
  from?: string;

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Requested before this instant (UTC, exclusive).' })
  @IsOptional()
  @IsUtcTimestamp()
  to?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged, with the same filters.' })
  @IsOptional()
  @IsCursor('withdrawals')
  cursor?: string;
}

interface WithdrawalRow {
  withdrawal_id: string;
  account_id: string;
  amount: string;
  currency: string;
  status: string;
  channel: string | null;
  provider_reference: string | null;
  attempt: number;
  requested_at: string;
  updated_at: string;
  position: string;
  requested_at_key: string;
}

const SUMMARY_COLUMNS = `withdrawal_id, account_id, amount::text as amount, currency, status, channel, provider_reference, attempt,
       ${isoMillis('requested_at')} as requested_at, ${isoMillis('updated_at')} as updated_at, position::text as position,
       ${isoMicros('requested_at')} as requested_at_key`;

/** The SQL behind the withdrawal reads. */
export class WithdrawalQueries {
  constructor(private readonly pool: Pool) {}

  /**
   * The withdrawal and its whole status history in one statement, so both come from one
   * snapshot: two queries could straddle a projector commit and disagree.
   */
  async withdrawal(withdrawalId: string): Promise<WithdrawalResponse | undefined> {
    const { rows } = await this.pool.query<WithdrawalRow & { history: StatusHistoryEntryResponse[] }>(
      `select ${SUMMARY_COLUMNS},
              coalesce((
                select json_agg(json_build_object(
                         'position', h.position::text, 'eventType', h.event_type, 'fromStatus', h.from_status,
                         'toStatus', h.to_status, 'applied', h.applied, 'note', h.note,
                         'recordedAt', ${isoMillis('h.recorded_at')}) order by h.position)
                  from ${READ_MODELS_SCHEMA}.withdrawal_status_history h
                 where h.withdrawal_id = w.withdrawal_id), '[]'::json) as history
         from ${READ_MODELS_SCHEMA}.withdrawals w
        where w.withdrawal_id = $1`,
      [withdrawalId],
    );
    const row = rows[0];
    return row && { ...summary(row), history: row.history };
  }

  /**
   * One page ordered by (requested_at, withdrawal_id). With `status` or `accountId` the scan
   * is a range on the matching index ((status|account_id), requested_at, withdrawal_id).
   */
  async list(filter: WithdrawalListQuery, limit: number): Promise<Page<WithdrawalSummaryResponse>> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const bind = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    if (filter.status !== undefined) conditions.push(`status = ${bind(filter.status)}`);
    if (filter.accountId !== undefined) conditions.push(`account_id = ${bind(filter.accountId)}`);
    if (filter.from !== undefined) conditions.push(`requested_at >= ${bind(filter.from)}::timestamptz`);
    if (filter.to !== undefined) conditions.push(`requested_at < ${bind(filter.to)}::timestamptz`);
    if (filter.cursor !== undefined) {
      const after = decodeCursor('withdrawals', filter.cursor)!;
      conditions.push(`(requested_at, withdrawal_id) > (${bind(after.at)}::timestamptz, ${bind(after.id)})`);
    }
    const where = conditions.length > 0 ? `where ${conditions.join(' and ')}` : '';
    const { rows } = await this.pool.query<WithdrawalRow>(
      `select ${SUMMARY_COLUMNS}
         from ${READ_MODELS_SCHEMA}.withdrawals
         ${where}
        order by requested_at, withdrawal_id
        limit ${bind(limit + 1)}`,
      values,
    );
    return toPage(rows, limit, summary, (row) => encodeCursor('withdrawals', { at: row.requested_at_key, id: row.withdrawal_id }));
  }
}

function summary(row: WithdrawalRow): WithdrawalSummaryResponse {
  return {
    withdrawalId: row.withdrawal_id,
    accountId: row.account_id,
    amount: row.amount,
    currency: row.currency,
    status: row.status,
    channel: row.channel,
    providerReference: row.provider_reference,
    attempt: row.attempt,
    requestedAt: row.requested_at,
    updatedAt: row.updated_at,
    position: row.position,
  };
}
