import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  holdCommandForWithdrawalEvent,
  InvariantViolation,
  withdrawalDecider,
  withdrawalStream,
  type ManualReviewResolved,
  type WithdrawalEvent,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { ApiError } from '@ledger/platform';
import { eventIdFor } from '@ledger/commands';
import { AccountCommands, EVENT_STORE, WithdrawalCommands } from '../shared/tokens';
import { holdCommandSeed } from './hold-command-seed';
import { CancelWithdrawalCommand, RequestWithdrawalCommand, ResolveReviewCommand } from './withdrawal.commands';
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
        eventIdSeed: holdCommandSeed('ReverseDebit', eventIdFor(cancelSeed, 0)),
        metadata: { ...context.metadata, causationId: eventIdFor(cancelSeed, 0) },
      },
      'hold_already_resolved',
    );
    return { withdrawalId, status: 'cancelled' as const, position: reversal.position.toString() };
  }
}

/**
 * An operator's decision on a withdrawal in manual review, in two appends like a cancel:
 * ManualReviewResolved on the withdrawal stream (the decider checks that the withdrawal is
 * in review and that the decision is possible; `resolvedBy` is the API key's principal),
 * then the money consequence on the account stream, from the domain's one money rule
 * (`holdCommandForWithdrawalEvent`): `settled` settles the hold, `fail` reverses it, `retry`
 * moves no money and the process manager starts a new attempt.
 *
 * The money event's id derives from the ManualReviewResolved event's id
 * (`holdCommandSeed`), exactly as the process manager derives it when it meets the same
 * event on its subscription: whichever writes second writes nothing. A retry of the request
 * after a crash between the two appends finds its own review event and completes the second.
 */
@CommandHandler(ResolveReviewCommand)
export class ResolveReviewHandler implements ICommandHandler<ResolveReviewCommand> {
  constructor(
    @Inject(AccountCommands) private readonly accounts: AccountCommands,
    @Inject(WithdrawalCommands) private readonly withdrawals: WithdrawalCommands,
    @Inject(WithdrawalIndex) private readonly index: WithdrawalIndex,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ withdrawalId, decision, reason, context }: ResolveReviewCommand) {
    // A withdrawal's stream may not have started yet (status requested, the hold alone on the
    // account); only an id that neither the stream nor the index knows is unknown.
    const current = await this.withdrawals.load(withdrawalId);
    if (current.facts === null && (await this.index.accountOf(withdrawalId)) === undefined) {
      throw new ApiError(404, 'withdrawal_not_found', `no withdrawal ${withdrawalId}`, { withdrawalId });
    }

    const reviewSeed = context.derive('review');
    const decided = await this.withdrawals.executeOnce(
      withdrawalId,
      {
        command: {
          type: 'ResolveManualReview',
          data: { decision, reason },
          metadata: { now: context.now, principal: context.principal },
        },
        eventIdSeed: reviewSeed,
        metadata: context.metadata,
      },
      // A second resolution finds the withdrawal out of review; when the stream holds this
      // request's own event, it is this request retried and answers as the original did.
      'withdrawal_not_in_review',
    );

    const resolvedId = eventIdFor(reviewSeed, 0);
    const { event, stateAfter } = await this.resolvedEvent(withdrawalId, resolvedId);
    const hold = holdCommandForWithdrawalEvent(event, stateAfter, {
      // The decision's own time and author, not this request's: on a replayed request the
      // money event must carry the same data as the first time (and as the process manager's).
      now: event.data.resolvedAt,
      principal: event.data.resolvedBy,
    });
    if (hold === null) {
      return { withdrawalId, status: event.data.toStatus, position: decided.position.toString() };
    }
    const money = await this.accounts.executeOnce(
      hold.accountId,
      {
        command: hold.command,
        eventIdSeed: holdCommandSeed(hold.command.type, resolvedId),
        metadata: { ...context.metadata, causationId: resolvedId },
      },
      'hold_already_resolved',
    );
    return { withdrawalId, status: event.data.toStatus, position: money.position.toString() };
  }

  /** The recorded ManualReviewResolved of this request, and the withdrawal state right after it. */
  private async resolvedEvent(
    withdrawalId: string,
    eventId: string,
  ): Promise<{ event: ManualReviewResolved; stateAfter: WithdrawalState }> {
    const events = await this.store.readStream(withdrawalStream(withdrawalId));
    let state = withdrawalDecider.initialState();
    for (const recorded of events) {
      const event = recorded as unknown as WithdrawalEvent;
      state = withdrawalDecider.evolve(state, event);
      if (recorded.id === eventId && event.type === 'ManualReviewResolved') return { event, stateAfter: state };
    }
    // executeOnce returned, so the event was appended or found; not finding it now is a bug.
    throw new InvariantViolation(`ManualReviewResolved ${eventId} is not in ${withdrawalStream(withdrawalId)}`);
  }
}
