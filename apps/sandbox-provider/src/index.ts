/**
 * The sandbox payment provider, for the all-in-one entry point and tests to start in process:
 *
 *   const sandbox = await startSandboxProvider({ apiKey, webhookSecrets: [secret], callbackUrl, seed: 42 });
 *   // sandbox.url is the channel's baseUrl; sandbox.ledger(), sandbox.flush({ all: true }), sandbox.close()
 */
export {
  createSandboxProvider,
  startSandboxProvider,
  type CreateSandboxProviderOptions,
  type RunningSandboxProvider,
} from './sandbox-provider.app';
export {
  DEFAULT_BEHAVIOUR,
  resolveSandboxConfig,
  sandboxConfigFromEnv,
  type SandboxBehaviour,
  type SandboxProviderConfig,
  type SandboxProviderOptions,
} from './sandbox-config';
export { SandboxProvider, type CallbackRecord, type DeliveryAttempt, type SandboxLedger, type SandboxPayout, type SandboxPayoutStatus } from './sandbox-provider';
export { STATEMENT_COLUMNS } from './statement';
