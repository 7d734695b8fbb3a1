import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiError } from '@ledger/platform';
import { eventIdFor } from '@ledger/commands';
import { AccountCommands, WithdrawalCommands } from '../shared/tokens';
import { CancelWithdrawalCommand, RequestWithdrawalCommand } from './withdrawal.commands';
import { WithdrawalIndex } from './withdrawal-index';

/**
 * WithdrawalRequested and Debited are decided together by the account decider and leave
 * in one append under the account's expected revision: the balance check and the hold
 * are one atomic step, so no interleaving of requests can spend the same money twice.
 */
@CommandHandler(RequestWithdrawalCommand)
export class RequestWithdrawalHandler implements ICommandHandler<RequestWithdrawalCommand> {
  constructor(
    @Inject(AccountCommands) private readonly accounts: AccountCommands,
    @Inject(WithdrawalIndex) private readonly index: WithdrawalIndex,
    @Inject('WITHDRAWAL_AMOUNT_LIMITS') private readonly limits: ReadonlyMap<string, bigint>,
  ) {}

  async execute({ input, context }: RequestWithdrawalCommand) {
    const withdrawalId = context.derive('withdrawal');
    await this.index.record(withdrawalId, input.accountId);
    const outcome = await this.accounts.executeOnce(
      input.accountId,
      {
        command: {
          type: 'RequestWithdrawal',
          data: {
            withdrawalId,
            amount: BigInt(input.amount),
            currency: input.currency,
            destination: input.destination,
            channel: input.channel ?? null,
            amountLimit: this.limits.get(input.currency),
          },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: withdrawalId,
        metadata: context.metadata,
      },
      'withdrawal_already_requested',
    );
    return { withdrawalId, status: 'requested' as const, position: outcome.position.toString() };
  }
}

/**
 * Cancelling is two appends: WithdrawalCancelled on the withdrawal stream (its expected
 * revision decides the race against a payout being initiated), then DebitReversed on the
 * account. Both carry ids derived from the request, so a retry after a crash between them
 * finds the first and completes the second. The payout process manager performs the same
 * reversal, with the same event id, from the durable subscription.
 */
@CommandHandler(CancelWithdrawalCommand)
export class CancelWithdrawalHandler implements ICommandHandler<CancelWithdrawalCommand> {
  constructor(
    @Inject(AccountCommands) private readonly accounts: AccountCommands,
    @Inject(WithdrawalCommands) private readonly withdrawals: WithdrawalCommands,
    @Inject(WithdrawalIndex) private readonly index: WithdrawalIndex,
  ) {}

  async execute({ withdrawalId, reason, context }: CancelWithdrawalCommand) {
    const accountId = await this.index.accountOf(withdrawalId);
    const account = accountId ? await this.accounts.load(accountId) : undefined;
    const hold =
      account?.status === 'open'
        ? (account.holdsOpen.get(withdrawalId) ?? account.holdsResolved.get(withdrawalId))
        : undefined;
    if (!accountId || account?.status !== 'open' || !hold) {
      throw new ApiError(404, 'withdrawal_not_found', `no withdrawal ${withdrawalId}`, { withdrawalId });
    }

    const cancelSeed = context.derive('cancel');
    await this.withdrawals.executeOnce(
      withdrawalId,
      {
        command: {
          type: 'CancelWithdrawal',
          data: { withdrawalId, accountId, amount: hold.amount, currency: account.currency, reason },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: cancelSeed,
        metadata: context.metadata,
      },
      'withdrawal_not_cancellable',
    );

    const reversal = await this.accounts.executeOnce(
      accountId,
      {
        command: {
          type: 'ReverseDebit',
          data: { withdrawalId, reason: 'withdrawal_cancelled' },
          metadata: { now: context.now, principal: context.principal },
        },
        // Keyed by the cancellation event, as the process manager keys its reaction.
        eventIdSeed: `reverse:${eventIdFor(cancelSeed, 0)}`,
        metadata: { ...context.metadata, causationId: eventIdFor(cancelSeed, 0) },
      },
      'hold_already_resolved',
    );
    return { withdrawalId, status: 'cancelled' as const, position: reversal.position.toString() };
  }
}
