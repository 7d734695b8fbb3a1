import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { AccountCommands } from '../shared/tokens';
import { DepositFundsCommand, FreezeAccountCommand, OpenAccountCommand } from './account.commands';

/** Load, decide, append: the decisions live in the account decider (libs/domain). */
@CommandHandler(OpenAccountCommand)
export class OpenAccountHandler implements ICommandHandler<OpenAccountCommand> {
  constructor(@Inject(AccountCommands) private readonly accounts: AccountCommands) {}

  async execute({ input, context }: OpenAccountCommand) {
    const accountId = input.accountId ?? context.derive('account');
    const outcome = await this.accounts.executeOnce(
      accountId,
      {
        command: {
          type: 'OpenAccount',
          data: { accountId, ownerId: input.ownerId, currency: input.currency },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: context.derive('open-account'),
        metadata: context.metadata,
      },
      'account_already_open',
    );
    return { accountId, currency: input.currency, position: outcome.position.toString() };
  }
}

@CommandHandler(DepositFundsCommand)
export class DepositFundsHandler implements ICommandHandler<DepositFundsCommand> {
  constructor(@Inject(AccountCommands) private readonly accounts: AccountCommands) {}

  async execute({ accountId, input, context }: DepositFundsCommand) {
    const depositId = context.derive('deposit');
    const outcome = await this.accounts.executeOnce(
      accountId,
      {
        command: {
          type: 'DepositFunds',
          data: { depositId, amount: BigInt(input.amount), currency: input.currency, reference: input.reference },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: depositId,
        metadata: context.metadata,
      },
      'deposit_already_applied',
    );
    return { depositId, position: outcome.position.toString() };
  }
}

@CommandHandler(FreezeAccountCommand)
export class FreezeAccountHandler implements ICommandHandler<FreezeAccountCommand> {
  constructor(@Inject(AccountCommands) private readonly accounts: AccountCommands) {}

  async execute({ accountId, frozen, reason, context }: FreezeAccountCommand) {
    const outcome = await this.accounts.executeOnce(
      accountId,
      {
        command: {
          type: frozen ? 'FreezeAccount' : 'UnfreezeAccount',
          data: { reason },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: context.derive(frozen ? 'freeze' : 'unfreeze'),
        metadata: context.metadata,
      },
      frozen ? 'account_already_frozen' : 'account_not_frozen',
    );
    return { accountId, frozen, position: outcome.position.toString() };
  }
}
