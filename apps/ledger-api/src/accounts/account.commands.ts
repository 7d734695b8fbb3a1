import type { CommandContext } from '../shared/command-context';

export class OpenAccountCommand {
  constructor(
    readonly input: { accountId?: string; ownerId: string; currency: string },
    readonly context: CommandContext,
  ) {}
}

export class DepositFundsCommand {
  constructor(
    readonly accountId: string,
    readonly input: { amount: string; currency: string; reference: string },
    readonly context: CommandContext,
  ) {}
}

export class FreezeAccountCommand {
  constructor(
    readonly accountId: string,
    readonly frozen: boolean,
    readonly reason: string,
    readonly context: CommandContext,
  ) {}
}
