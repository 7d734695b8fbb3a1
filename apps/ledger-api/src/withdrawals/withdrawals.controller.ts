import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Idempotent, RequireScopes } from '@ledger/platform';
import { commandContext } from '../shared/command-context';
import { EntityIdPipe } from '../shared/entity-id.pipe';
import { CancelWithdrawalCommand, RequestWithdrawalCommand, ResolveReviewCommand } from './withdrawal.commands';
import {
  CancelWithdrawalRequest,
  ReviewRequest,
  ReviewResolvedResponse,
  WithdrawalAcceptedResponse,
  WithdrawalRequest,
} from './withdrawal.requests';

@ApiTags('withdrawals')
@ApiHeader({ name: 'Idempotency-Key', required: true })
@Controller('v1/withdrawals')
export class WithdrawalsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(202)
  @RequireScopes('ledger:write')
  @Idempotent()
  @ApiResponse({ status: 202, type: WithdrawalAcceptedResponse })
  @ApiResponse({ status: 422, description: 'insufficient_funds, currency_mismatch, account_frozen, amount_exceeds_limit' })
  request(@Body() body: WithdrawalRequest, @Req() request: object): Promise<WithdrawalAcceptedResponse> {
    return this.commands.execute(new RequestWithdrawalCommand(body, commandContext(request)));
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @RequireScopes('ledger:write')
  @Idempotent()
  @ApiResponse({ status: 202, type: WithdrawalAcceptedResponse })
  @ApiResponse({ status: 409, description: 'withdrawal_not_cancellable' })
  cancel(
    @Param('id', EntityIdPipe) withdrawalId: string,
    @Body() body: CancelWithdrawalRequest,
    @Req() request: object,
  ): Promise<WithdrawalAcceptedResponse> {
    return this.commands.execute(
      new CancelWithdrawalCommand(withdrawalId, body.reason ?? 'cancelled by the client', commandContext(request)),
    );
  }

  /**
   * An operator resolves a withdrawal in manual review (scope `ops`). 200, not 202: the
   * decision and its money consequence are both written when the answer leaves.
   */
  @Post(':id/review')
  @HttpCode(200)
  @RequireScopes('ops')
  @Idempotent()
  @ApiResponse({ status: 200, type: ReviewResolvedResponse })
  @ApiResponse({ status: 404, description: 'withdrawal_not_found' })
  @ApiResponse({ status: 409, description: 'withdrawal_not_in_review (also a second decision under a new Idempotency-Key)' })
  @ApiResponse({ status: 422, description: 'review_decision_not_allowed (settled with no attempt that could have paid)' })
  review(
    @Param('id', EntityIdPipe) withdrawalId: string,
    @Body() body: ReviewRequest,
    @Req() request: object,
  ): Promise<ReviewResolvedResponse> {
    return this.commands.execute(new ResolveReviewCommand(withdrawalId, body.decision, body.reason, commandContext(request)));
  }
}
