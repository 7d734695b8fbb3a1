import { Module, type DynamicModule, type OnModuleInit, Inject } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import type { EventStore } from '@ledger/event-store';
import type { PaymentMetrics } from '@ledger/payments';
import { TokenBucketRateLimiter, type RateLimitOptions } from '@ledger/platform';
import { AccountsController } from './accounts/accounts.controller';
import { DepositFundsHandler, FreezeAccountHandler, OpenAccountHandler } from './accounts/account.handlers';
import { CALLBACK_CHANNEL_LIMITER, CALLBACK_CHANNELS, channelsByName, type CallbackChannel } from './callbacks/callback-channels';
import { CallbackRecorder } from './callbacks/callback-recorder';
import { CallbacksController, PAYMENT_METRICS } from './callbacks/callbacks.controller';
import { ReconciliationController, ResolveDiscrepancyHandler } from './reconciliation';
import { LedgerApiMetrics } from './shared/ledger-api-metrics';
import { AccountCommands, EVENT_STORE, WithdrawalCommands } from './shared/tokens';
import { WithdrawalIndex } from './withdrawals/withdrawal-index';
import { CancelWithdrawalHandler, RequestWithdrawalHandler, ResolveReviewHandler } from './withdrawals/withdrawal.handlers';
import { WithdrawalsController } from './withdrawals/withdrawals.controller';

export interface LedgerApiOptions {
  store: EventStore;
  pool: Pool;
  /** Per-currency upper bound of one withdrawal, in minor units; the domain default applies elsewhere. */
  withdrawalAmountLimits?: ReadonlyMap<string, bigint>;
  /** The channels whose callbacks `POST /v1/callbacks/{channel}` takes; none by default (every callback is 404). */
  paymentChannels?: readonly CallbackChannel[];
  /** Verified callbacks per channel; DEFAULT_CALLBACK_RATE_LIMIT when absent. */
  callbackRateLimit?: RateLimitOptions;
  metrics: LedgerApiMetrics;
  paymentMetrics: PaymentMetrics;
}

/**
 * Verified callbacks a channel may deliver: 500 a second, bursts of 1,000. A provider's
 * retry storm after an outage meets 429 and retries later instead of flooding the store;
 * normal traffic never comes near it.
 */
export const DEFAULT_CALLBACK_RATE_LIMIT: RateLimitOptions = Object.freeze({ perSecond: 500, burst: 1_000 });

/** The command side: accounts, deposits, withdrawals, cancellations, freezes, reviews and provider callbacks. */
@Module({})
export class LedgerApiModule implements OnModuleInit {
  constructor(@Inject(WithdrawalIndex) private readonly index: WithdrawalIndex) {}

  static forRoot(options: LedgerApiOptions): DynamicModule {
    return {
      module: LedgerApiModule,
      imports: [CqrsModule.forRoot()],
      controllers: [AccountsController, WithdrawalsController, CallbacksController, ReconciliationController],
      providers: [
        { provide: EVENT_STORE, useValue: options.store },
        { provide: AccountCommands, useValue: new AccountCommands(options.store) },
        { provide: WithdrawalCommands, useValue: new WithdrawalCommands(options.store) },
        { provide: WithdrawalIndex, useValue: new WithdrawalIndex(options.pool) },
        { provide: 'WITHDRAWAL_AMOUNT_LIMITS', useValue: options.withdrawalAmountLimits ?? new Map() },
        { provide: CallbackRecorder, useValue: new CallbackRecorder(options.store) },
        { provide: CALLBACK_CHANNELS, useValue: channelsByName(options.paymentChannels ?? []) },
        {
          provide: CALLBACK_CHANNEL_LIMITER,
          useValue: new TokenBucketRateLimiter(options.callbackRateLimit ?? DEFAULT_CALLBACK_RATE_LIMIT),
        },
        { provide: LedgerApiMetrics, useValue: options.metrics },
        { provide: PAYMENT_METRICS, useValue: options.paymentMetrics },
        OpenAccountHandler,
        DepositFundsHandler,
        FreezeAccountHandler,
        RequestWithdrawalHandler,
        CancelWithdrawalHandler,
        ResolveReviewHandler,
        ResolveDiscrepancyHandler,
      ],
    };
  }

  async onModuleInit(): Promise<void> {
    await this.index.migrate();
  }
}
