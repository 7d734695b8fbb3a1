import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Pool } from 'pg';
import { ApiError, ApiErrorResponse, RequireScopes } from '@ledger/platform';
import { ChannelPipe, IsoDatePipe } from '../shared/path-params';
import { ProjectionWaiter } from '../shared/projection-waiter';
import { READ_API_SETTINGS, READ_POOL, type ReadApiSettings } from '../shared/tokens';
import { limitOf } from '../shared/validators';
import { DiscrepancyListQuery, ReconciliationQueries, ReconciliationReportQuery } from './reconciliation.queries';
import { DiscrepancyPageResponse, ReconciliationReportResponse } from './reconciliation.responses';

/**
 * Reconciliation reports and the reconciliation review queue (docs/reconciliation.md).
 * Both wait for the `reconciliation` projection when asked for `minPosition`: the position
 * an import or a resolution returned.
 */
@ApiTags('reconciliation')
@RequireScopes('ledger:read')
@ApiResponse({ status: 400, description: '`validation_failed`: a malformed channel, date, filter, limit, cursor or minPosition.', type: ApiErrorResponse })
@ApiResponse({ status: 503, description: '`projection_behind` (minPosition not reached in time; Retry-After), `database_unavailable`.', type: ApiErrorResponse })
@Controller('v1/reconciliation')
export class ReconciliationController {
  private readonly queries: ReconciliationQueries;

  constructor(
    @Inject(READ_POOL) pool: Pool,
    @Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter,
    @Inject(READ_API_SETTINGS) private readonly settings: ReadApiSettings,
  ) {
    this.queries = new ReconciliationQueries(pool);
  }

  /** Discrepancies across channels and days, oldest first; open ones by default. A path of one segment, so it never meets `:channel/:date`. */
  @Get('discrepancies')
  @ApiOkResponse({ type: DiscrepancyPageResponse })
  async discrepancies(@Query() query: DiscrepancyListQuery): Promise<DiscrepancyPageResponse> {
    await this.waiter.waitFor([this.settings.readModelProjections.reconciliation], query.minPosition);
    return this.queries.discrepancies(query, limitOf(query.limit));
  }

  @Get(':channel/:date')
  @ApiParam({ name: 'channel', example: 'bank_one' })
  @ApiParam({ name: 'date', example: '2026-11-23', description: 'Statement date, YYYY-MM-DD.' })
  @ApiOkResponse({ type: ReconciliationReportResponse })
  @ApiResponse({ status: 404, description: '`reconciliation_not_found` (no statement imported for the channel and day), `statement_not_found`.', type: ApiErrorResponse })
  async report(
    @Param('channel', ChannelPipe) channel: string,
    @Param('date', IsoDatePipe) date: string,
    @Query() query: ReconciliationReportQuery,
  ): Promise<ReconciliationReportResponse> {
    await this.waiter.waitFor([this.settings.readModelProjections.reconciliation], query.minPosition);
    const report = await this.queries.report(channel, date, query.statementId);
    if (report === undefined) throw new ApiError(404, 'reconciliation_not_found', `No statement imported for ${channel} on ${date}.`, { channel, date });
    if (report.statement === null) {
      throw new ApiError(404, 'statement_not_found', `No statement ${query.statementId ?? ''} for ${channel} on ${date}.`, {
        channel,
        date,
        statementId: query.statementId ?? null,
      });
    }
    return { ...report, statement: report.statement };
  }
}
