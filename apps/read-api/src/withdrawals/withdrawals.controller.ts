import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrorResponse, RequireScopes, validationFailed } from '@ledger/platform';
import { EntityIdPipe } from '../shared/path-params';
import { ProjectionWaiter } from '../shared/projection-waiter';
import { ReadQuery } from '../shared/read-query';
import { READ_API_SETTINGS, type ReadApiSettings } from '../shared/tokens';
import { limitOf } from '../shared/validators';
import { WithdrawalListQuery, WithdrawalQueries } from './withdrawal.queries';
import { WithdrawalPageResponse, WithdrawalResponse } from './withdrawal.responses';

@ApiTags('withdrawals')
@RequireScopes('ledger:read')
@ApiResponse({ status: 400, description: '`validation_failed`: a malformed id, filter, limit, cursor or minPosition.', type: ApiErrorResponse })
@ApiResponse({ status: 503, description: '`projection_behind` (minPosition not reached in time; Retry-After), `database_unavailable`.', type: ApiErrorResponse })
@Controller('v1/withdrawals')
export class WithdrawalsController {
  constructor(
    @Inject(WithdrawalQueries) private readonly queries: WithdrawalQueries,
    @Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter,
    @Inject(READ_API_SETTINGS) private readonly settings: ReadApiSettings,
  ) {}

  @Get()
  @ApiOkResponse({ type: WithdrawalPageResponse })
  async list(@Query() query: WithdrawalListQuery): Promise<WithdrawalPageResponse> {
    if (query.from !== undefined && query.to !== undefined && Date.parse(query.from) > Date.parse(query.to)) {
      throw validationFailed([{ field: 'to', rule: 'isAfterFrom', message: 'to must not be before from' }]);
    }
    await this.waiter.waitFor([this.settings.readModelProjections.withdrawals], query.minPosition);
    return this.queries.list(query, limitOf(query.limit));
  }

  @Get(':id')
  @ApiParam({ name: 'id', description: 'Withdrawal id.' })
  @ApiOkResponse({ type: WithdrawalResponse })
  @ApiResponse({ status: 404, description: '`withdrawal_not_found`.', type: ApiErrorResponse })
  async get(@Param('id', EntityIdPipe) withdrawalId: string, @Query() query: ReadQuery): Promise<WithdrawalResponse> {
    await this.waiter.waitFor([this.settings.readModelProjections.withdrawals], query.minPosition);
    const withdrawal = await this.queries.withdrawal(withdrawalId);
    if (!withdrawal) throw new ApiError(404, 'withdrawal_not_found', `No withdrawal ${withdrawalId} in the read model.`, { withdrawalId });
    return withdrawal;
  }
}
