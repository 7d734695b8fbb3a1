import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrorResponse, RequireScopes } from '@ledger/platform';
import { EntityIdPipe } from '../shared/path-params';
import { ProjectionWaiter } from '../shared/projection-waiter';
import { ReadQuery } from '../shared/read-query';
import { READ_API_SETTINGS, type ReadApiSettings } from '../shared/tokens';
import { limitOf } from '../shared/validators';
import { AccountQueries, EntriesQuery } from './account.queries';
import { BalanceResponse, JournalPageResponse } from './account.responses';

@ApiTags('accounts')
@RequireScopes('ledger:read')
@ApiResponse({ status: 400, description: '`validation_failed`: a malformed id, limit, cursor or minPosition.', type: ApiErrorResponse })
@ApiResponse({ status: 503, description: '`projection_behind` (minPosition not reached in time; Retry-After), `database_unavailable`.', type: ApiErrorResponse })
@Controller('v1/accounts')
export class AccountsController {
  constructor(
    @Inject(AccountQueries) private readonly queries: AccountQueries,
    @Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter,
    @Inject(READ_API_SETTINGS) private readonly settings: ReadApiSettings,
  ) {}

  @Get(':id/balance')
  @ApiParam({ name: 'id', description: 'Account id.' })
  @ApiOkResponse({ type: BalanceResponse })
  @ApiResponse({ status: 404, description: '`account_not_found`.', type: ApiErrorResponse })
  async balance(@Param('id', EntityIdPipe) accountId: string, @Query() query: ReadQuery): Promise<BalanceResponse> {
    await this.waiter.waitFor([this.settings.readModelProjections.balances], query.minPosition);
    const balance = await this.queries.balance(accountId);
    if (!balance) throw accountNotFound(accountId);
    return balance;
  }

  @Get(':id/entries')
  @ApiParam({ name: 'id', description: 'Account id.' })
  @ApiOkResponse({ type: JournalPageResponse })
  @ApiResponse({ status: 404, description: '`account_not_found`: no entries and no balance.', type: ApiErrorResponse })
  async entries(@Param('id', EntityIdPipe) accountId: string, @Query() query: EntriesQuery): Promise<JournalPageResponse> {
    // The balance decides whether an account without entries exists, so both must be current.
    const { journal, balances } = this.settings.readModelProjections;
    await this.waiter.waitFor([journal, balances], query.minPosition);
    const page = await this.queries.entries(accountId, query.cursor, limitOf(query.limit));
    // An opened account has no postings yet; only one the balances do not know is missing.
    if (page.items.length === 0 && !(await this.queries.exists(accountId))) throw accountNotFound(accountId);
    return page;
  }
}

function accountNotFound(accountId: string): ApiError {
  return new ApiError(404, 'account_not_found', `No account ${accountId} in the read model.`, { accountId });
}
