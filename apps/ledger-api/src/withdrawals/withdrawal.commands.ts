import type { PayoutDestination, ReviewDecision } from '@ledger/domain';
import type { CommandContext } from '../shared/command-context';

export class RequestWithdrawalCommand {
  constructor(
    readonly input: {
      accountId: string;
      amount: string;
      currency: string;
      destination: PayoutDestination;
      channel?: string;
    },
    readonly context: CommandContext,
  ) {}
}

export class CancelWithdrawalCommand {
  constructor(
    readonly withdrawalId: string,
    readonly reason: string,
    readonly context: CommandContext,
  ) {}
}

export class ResolveReviewCommand {
  constructor(
    readonly withdrawalId: string,
    readonly decision: ReviewDecision,
    readonly reason: string,
    readonly context: CommandContext,
  ) {}
}
