import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiHeader, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Idempotent, RequireScopes } from '@ledger/platform';
import { commandContext } from '../shared/command-context';
import { ChannelPipe, DiscrepancyIdPipe, IsoDatePipe } from './path-params';
import { DiscrepancyResolvedResponse, ResolveDiscrepancyCommand, ResolveDiscrepancyRequest } from './resolve-discrepancy.command';

/**
 * Ops actions on reconciliations. Statements are imported with the CLI
 * (`ledger reconcile import <file> --channel --date`, which calls `@ledger/reconciliation`);
 * the findings are read from the read API.
 */
@ApiTags('reconciliation')
@ApiHeader({ name: 'Idempotency-Key', required: true })
@Controller('v1/reconciliation')
export class ReconciliationController {
  constructor(private readonly commands: CommandBus) {}

  /**
   * An operator closes a discrepancy with a reason (scope `ops`). The operator is the API
   * key's principal, recorded as `resolvedBy` and in the event's metadata.
   */
  @Post(':channel/:date/discrepancies/:discrepancyId/resolve')
  @HttpCode(200)
  @RequireScopes('ops')
  @Idempotent()
  @ApiParam({ name: 'channel', example: 'bank_one' })
  @ApiParam({ name: 'date', example: '2026-11-23', description: 'Statement date, YYYY-MM-DD.' })
  @ApiParam({ name: 'discrepancyId', example: '3f2a9c0d1e2b4a5c-D0001' })
  @ApiResponse({ status: 200, type: DiscrepancyResolvedResponse })
  @ApiResponse({ status: 404, description: 'discrepancy_not_found (also when no statement was imported for the channel and date)' })
  @ApiResponse({ status: 409, description: 'discrepancy_already_resolved, discrepancy_superseded (a corrected statement replaced it)' })
  resolve(
    @Param('channel', ChannelPipe) channel: string,
    @Param('date', IsoDatePipe) date: string,
    @Param('discrepancyId', DiscrepancyIdPipe) discrepancyId: string,
    @Body() body: ResolveDiscrepancyRequest,
    @Req() request: Parameters<typeof commandContext>[0],
  ): Promise<DiscrepancyResolvedResponse> {
    return this.commands.execute(new ResolveDiscrepancyCommand(channel, date, discrepancyId, body.reason, commandContext(request)));
  }
}
