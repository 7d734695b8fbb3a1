import { Module, type DynamicModule, type OnModuleInit, Inject } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import type { EventStore } from '@ledger/event-store';
import { AccountsController } from './accounts/accounts.controller';
import { DepositFundsHandler, FreezeAccountHandler, OpenAccountHandler } from './accounts/account.handlers';
import { AccountCommands, EVENT_STORE, WithdrawalCommands } from './shared/tokens';
import { WithdrawalIndex } from './withdrawals/withdrawal-index';
import { CancelWithdrawalHandler, RequestWithdrawalHandler, ResolveReviewHandler } from './withdrawals/withdrawal.handlers';
import { WithdrawalsController } from './withdrawals/withdrawals.controller';

export interface LedgerApiOptions {
  store: EventStore;
  pool: Pool;
  /** Per-currency upper bound of one withdrawal, in minor units; the domain default applies elsewhere. */
  withdrawalAmountLimits?: ReadonlyMap<string, bigint>;
}

/** The command side: accounts, deposits, withdrawals, cancellations, freezes. */
@Module({})
export class LedgerApiModule implements OnModuleInit {
  constructor(@Inject(WithdrawalIndex) private readonly index: WithdrawalIndex) {}

  static forRoot(options: LedgerApiOptions): DynamicModule {
    return {
      module: LedgerApiModule,
      imports: [CqrsModule.forRoot()],
      controllers: [AccountsController, WithdrawalsController],
      providers: [
        { provide: EVENT_STORE, useValue: options.store },
        { provide: AccountCommands, useValue: new AccountCommands(options.store) },
        { provide: WithdrawalCommands, useValue: new WithdrawalCommands(options.store) },
        { provide: WithdrawalIndex, useValue: new WithdrawalIndex(options.pool) },
        { provide: 'WITHDRAWAL_AMOUNT_LIMITS', useValue: options.withdrawalAmountLimits ?? new Map() },
        OpenAccountHandler,
        DepositFundsHandler,
        FreezeAccountHandler,
        RequestWithdrawalHandler,
        CancelWithdrawalHandler,
        ResolveReviewHandler,
      ],
    };
  }

  async onModuleInit(): Promise<void> {
    await this.index.migrate();
  }
}
