import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import type { Pool } from 'pg';
import { decodeCursor, encodeCursor } from '../shared/cursor';
import { PageQuery, toPage, type Page } from '../shared/read-query';
import { isoMicros, isoMillis, READ_MODELS_SCHEMA } from '../shared/sql';
import { IsCursor } from '../shared/validators';

export const REVIEW_STATES = ['open', 'resolved', 'all'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export class ReviewQueueQuery extends PageQuery {
  @ApiPropertyOptional({ enum: REVIEW_STATES, default: 'open', description: 'Open items (not yet resolved) by default.' })
  @IsOptional()
  @IsIn(REVIEW_STATES)
  state?: ReviewState;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page, unchanged, with the same state.' })
  @IsOptional()
  @IsCursor('review-queue')
  cursor?: string;
}

export class ReviewItemResponse {
  @ApiProperty()
  withdrawalId!: string;

  @ApiProperty({ example: 'three payout attempts failed' })
  reason!: string;

  @ApiProperty({ example: 'failed', description: 'The status the withdrawal was in when review was requested.' })
  fromStatus!: string;

  @ApiProperty({ example: '2026-11-23T10:41:00.123Z', description: 'When review was requested.' })
  requestedAt!: string;

  @ApiProperty({ type: String, nullable: true })
  resolvedAt!: string | null;

  @ApiProperty({ type: String, nullable: true, enum: ['retry', 'fail', 'settled'] })
  decision!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'api-key:ops' })
  resolvedBy!: string | null;

  @ApiProperty({ example: '1042' })
  position!: string;
}

export class ReviewPageResponse {
  @ApiProperty({ type: [ReviewItemResponse] })
  items!: ReviewItemResponse[];

  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

interface ReviewRow {
  withdrawal_id: string;
  reason: string;
  from_status: string;
  requested_at: string;
  resolved_at: string | null;
  decision: string | null;
  resolved_by: string | null;
  position: string;
  requested_at_key: string;
}

const STATE_CONDITION: Readonly<Record<ReviewState, string>> = {
  open: 'resolved_at is null',
  resolved: 'resolved_at is not null',
  all: 'true',
};

/** The SQL behind the review queue, oldest request first: the order an operator works in. */
export class ReviewQueueQueries {
  constructor(private readonly pool: Pool) {}

  async page(state: ReviewState, cursor: string | undefined, limit: number): Promise<Page<ReviewItemResponse>> {
    const after = cursor === undefined ? undefined : decodeCursor('review-queue', cursor)!;
    const { rows } = await this.pool.query<ReviewRow>(
      `select withdrawal_id, reason, from_status, ${isoMillis('requested_at')} as requested_at,
              ${isoMillis('resolved_at')} as resolved_at, decision, resolved_by, position::text as position,
              ${isoMicros('requested_at')} as requested_at_key
         from ${READ_MODELS_SCHEMA}.review_queue
        where ${STATE_CONDITION[state]}
          and ($1::timestamptz is null or (requested_at, withdrawal_id) > ($1::timestamptz, $2::text))
        order by requested_at, withdrawal_id
        limit $3`,
      [after?.at ?? null, after?.id ?? null, limit + 1],
    );
    return toPage(
      rows,
      limit,
      (row) => ({
        withdrawalId: row.withdrawal_id,
        reason: row.reason,
        fromStatus: row.from_status,
        requestedAt: row.requested_at,
        resolvedAt: row.resolved_at,
        decision: row.decision,
        resolvedBy: row.resolved_by,
        position: row.position,
      }),
      (row) => encodeCursor('review-queue', { at: row.requested_at_key, id: row.withdrawal_id }),
    );
  }
}
