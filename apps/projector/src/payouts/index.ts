/**
 * The payout process manager (docs/payouts.md): follows the event log from its checkpoint
 * and pays withdrawals out through the payment channels of `@ledger/payments`.
 */
export {
  createPayoutProcessManager,
  PAYOUT_PROCESS_MANAGER_NAME,
  type CreatePayoutProcessManagerOptions,
  type PayoutProcessManager,
  type PayoutProcessManagerOptions,
  type PayoutProcessManagerState,
  type PayoutProcessManagerStatus,
} from './payout-process-manager';
export {
  PAYOUT_PROCESS_MANAGER_PRINCIPAL,
  PAYOUT_REACTION_TYPES,
  PAYOUT_TIMER_DEFAULTS,
  type PayoutRouting,
  type PayoutTimerSettings,
} from './payout-reactions';
export { PayoutMetrics, payoutMetrics, type ManualReviewReason, type ReactionOutcome } from './payout-metrics';
export { migratePayouts, PAYOUTS_MIGRATIONS, PAYOUTS_SCHEMA } from './migrations';
export { payoutIdempotencyKey, payoutSeeds } from './seeds';
export { payoutsConfigFromEnv, type PayoutsConfig } from './payouts-config';
