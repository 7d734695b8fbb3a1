import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrorResponse, RequireScopes } from '@ledger/platform';
import { ChannelPipe, IsoDatePipe } from '../shared/path-params';
import { ReadQuery } from '../shared/read-query';

/**
 * Reconciliation reports. No reconciliation read model exists yet (statement import and
 * matching are still to be built), so every report is `reconciliation_not_found`; the route
 * exists now so that clients code against the final path and its validation.
 */
@ApiTags('reconciliation')
@RequireScopes('ledger:read')
@Controller('v1/reconciliation')
export class ReconciliationController {
  @Get(':channel/:date')
  @ApiParam({ name: 'channel', example: 'bank_one' })
  @ApiParam({ name: 'date', example: '2026-11-23', description: 'Statement date, YYYY-MM-DD.' })
  @ApiResponse({ status: 400, description: '`validation_failed`: a malformed channel, date or minPosition.', type: ApiErrorResponse })
  @ApiResponse({ status: 404, description: '`reconciliation_not_found`: always, until reconciliation is built.', type: ApiErrorResponse })
  report(@Param('channel', ChannelPipe) channel: string, @Param('date', IsoDatePipe) date: string, @Query() _query: ReadQuery): never {
    throw new ApiError(404, 'reconciliation_not_found', `No reconciliation for ${channel} on ${date}.`, { channel, date });
  }
}
