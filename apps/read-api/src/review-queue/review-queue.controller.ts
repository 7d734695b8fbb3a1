import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiOkResponse, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponse, RequireScopes } from '@ledger/platform';
import { ProjectionWaiter } from '../shared/projection-waiter';
import { READ_API_SETTINGS, type ReadApiSettings } from '../shared/tokens';
import { limitOf } from '../shared/validators';
import { ReviewPageResponse, ReviewQueueQueries, ReviewQueueQuery } from './review-queue.queries';

@ApiTags('review-queue')
@RequireScopes('ledger:read')
@ApiResponse({ status: 400, description: '`validation_failed`: a malformed state, limit, cursor or minPosition.', type: ApiErrorResponse })
@ApiResponse({ status: 503, description: '`projection_behind` (minPosition not reached in time; Retry-After), `database_unavailable`.', type: ApiErrorResponse })
@Controller('v1/review-queue')
export class ReviewQueueController {
  constructor(
    @Inject(ReviewQueueQueries) private readonly queries: ReviewQueueQueries,
    @Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter,
    @Inject(READ_API_SETTINGS) private readonly settings: ReadApiSettings,
  ) {}

  @Get()
  @ApiOkResponse({ type: ReviewPageResponse })
  async list(@Query() query: ReviewQueueQuery): Promise<ReviewPageResponse> {
    await this.waiter.waitFor([this.settings.readModelProjections.reviewQueue], query.minPosition);
    return this.queries.page(query.state ?? 'open', query.cursor, limitOf(query.limit));
  }
}
