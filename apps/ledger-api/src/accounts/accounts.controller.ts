import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiHeader, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Idempotent, RequireScopes } from '@ledger/platform';
import { commandContext } from '../shared/command-context';
import { EntityIdPipe } from '../shared/entity-id.pipe';
import { DepositFundsCommand, FreezeAccountCommand, OpenAccountCommand } from './account.commands';
import {
  DepositRequest,
  DepositResponse,
  FreezeResponse,
  OpenAccountRequest,
  OpenAccountResponse,
  ReasonRequest,
} from './account.requests';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: true,
  description: 'Unique per intended operation; a retry with the same key and body replays the first answer.',
};

@ApiTags('accounts')
@ApiHeader(IDEMPOTENCY_HEADER)
@Controller('v1/accounts')
export class AccountsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('ledger:write')
  @Idempotent()
  @ApiResponse({ status: 201, type: OpenAccountResponse })
  open(@Body() body: OpenAccountRequest, @Req() request: object): Promise<OpenAccountResponse> {
    return this.commands.execute(new OpenAccountCommand(body, commandContext(request)));
  }

  @Post(':id/deposits')
  @HttpCode(201)
  @RequireScopes('ledger:write')
  @Idempotent()
  @ApiResponse({ status: 201, type: DepositResponse })
  deposit(
    @Param('id', EntityIdPipe) accountId: string,
    @Body() body: DepositRequest,
    @Req() request: object,
  ): Promise<DepositResponse> {
    return this.commands.execute(new DepositFundsCommand(accountId, body, commandContext(request)));
  }

  @Post(':id/freeze')
  @HttpCode(200)
  @RequireScopes('ops')
  @Idempotent()
  @ApiResponse({ status: 200, type: FreezeResponse })
  freeze(
    @Param('id', EntityIdPipe) accountId: string,
    @Body() body: ReasonRequest,
    @Req() request: object,
  ): Promise<FreezeResponse> {
    return this.commands.execute(new FreezeAccountCommand(accountId, true, body.reason, commandContext(request)));
  }

  @Post(':id/unfreeze')
  @HttpCode(200)
  @RequireScopes('ops')
  @Idempotent()
  @ApiResponse({ status: 200, type: FreezeResponse })
  unfreeze(
    @Param('id', EntityIdPipe) accountId: string,
    @Body() body: ReasonRequest,
    @Req() request: object,
  ): Promise<FreezeResponse> {
    return this.commands.execute(new FreezeAccountCommand(accountId, false, body.reason, commandContext(request)));
  }
}
