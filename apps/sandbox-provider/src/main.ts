import 'reflect-metadata';
import { ConfigError } from '@ledger/platform';
import { sandboxConfigFromEnv } from './sandbox-config';
import { startSandboxProvider } from './sandbox-provider.app';

/**
 * The sandbox provider on its own. Prints one JSON line `{"listening": port, "seed": seed}` on
 * stdout once it accepts requests, so supervisors and tests can wait for it, and the seed can
 * be given back (SANDBOX_SEED) to repeat a run.
 *
 * Reads PORT (default 4010), HOST (default 127.0.0.1) and the SANDBOX_* variables of
 * `sandboxConfigFromEnv` (docs/payments.md).
 */
async function main(): Promise<void> {
  const config = sandboxConfigFromEnv(process.env);
  const port = process.env.PORT ? Number(process.env.PORT) : 4010;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError('PORT must be a whole number from 0 to 65535');
  const sandbox = await startSandboxProvider({ ...config, port, host: process.env.HOST || '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ listening: sandbox.port, seed: sandbox.seed })}\n`);

  const stop = async () => {
    await sandbox.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `configuration: ${error.message}` : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
