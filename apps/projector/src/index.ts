export { createProjector, type CreateProjectorOptions, type ProjectorApp } from './create-projector';
export {
  createPayoutProcessManager,
  payoutsConfigFromEnv,
  PAYOUT_PROCESS_MANAGER_NAME,
  type CreatePayoutProcessManagerOptions,
  type PayoutProcessManager,
  type PayoutProcessManagerOptions,
  type PayoutProcessManagerStatus,
  type PayoutRouting,
  type PayoutsConfig,
  type PayoutTimerSettings,
} from './payouts';
