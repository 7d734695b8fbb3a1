import 'reflect-metadata';
import { connectEventStore } from '@ledger/event-store';
import { createPaymentChannels, loadPaymentChannels, paymentMetrics } from '@ledger/payments';
import { ConfigError, loadConfig, resolveDatabase, startTracing } from '@ledger/platform';
import type { ProjectorLog } from '@ledger/read-models';
import { Registry } from 'prom-client';
import { createProjector, type ProjectorApp } from './create-projector';
import { createPayoutProcessManager, payoutsConfigFromEnv, type PayoutProcessManager } from './payouts';

/**
 * The projector on its own: the read-model projections and the payout process manager. Prints
 * one JSON line `{"projecting": true}` on stdout once the projections have started (leading
 * or standing by), and `{"payouts": true}` once the payout process manager has, so
 * supervisors and tests can wait for them; logs are JSON lines on stderr.
 *
 * Besides the shared configuration (DATABASE_URL, EVENTSTORE_URL, ...): PROJECTOR_BATCH_SIZE
 * (events per batch and transaction, default 1000), PROJECTIONS (comma-separated names,
 * default all; `none` runs the payout process manager alone), PAYMENT_CHANNELS (the channels,
 * docs/payments.md) and the PAYOUTS* variables of `payoutsConfigFromEnv` (docs/payouts.md).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  // Spans go to the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT, if any (docs/operations.md).
  const tracing = startTracing({ serviceName: 'ledger-projector' });
  const batchSize = positiveInteger('PROJECTOR_BATCH_SIZE', 1_000);
  const projectionsVariable = process.env.PROJECTIONS?.trim();
  const projections =
    projectionsVariable === 'none' ? [] : projectionsVariable?.split(',').map((name) => name.trim()).filter(Boolean);
  // Read before anything starts: a mistake in where money goes must stop the process now.
  const channelConfigs = loadPaymentChannels(process.env);
  const payouts = payoutsConfigFromEnv(process.env, channelConfigs.length);
  const log: ProjectorLog =
    config.logLevel === 'silent'
      ? () => undefined
      : (level, msg, fields) =>
          process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);

  const database = await resolveDatabase({
    databaseUrl: config.databaseUrl,
    embeddedPort: config.embeddedPostgresPort,
    embeddedDir: config.embeddedPostgresDir,
  });
  const store = await connectEventStore({
    databaseUrl: database.url,
    eventStoreUrl: config.eventStoreUrl,
    eventStoreTimeoutMs: config.eventStoreTimeoutMs,
  });
  const projector: ProjectorApp | undefined =
    projections?.length === 0 ? undefined : createProjector({ store, url: database.url, projections, batchSize, log });
  await projector?.start();
  if (projector) process.stdout.write(`${JSON.stringify({ projecting: true })}\n`);

  let payoutManager: PayoutProcessManager | undefined;
  if (payouts.enabled) {
    // This process serves no /metrics of its own yet; the channels and the process manager
    // count into one registry, so a scrape endpoint added here needs nothing else.
    const registry = new Registry();
    const { router } = createPaymentChannels(channelConfigs, { metrics: paymentMetrics(registry) });
    payoutManager = createPayoutProcessManager({ store, url: database.url, routing: router, registry, log, options: payouts.options });
    await payoutManager.start();
    process.stdout.write(`${JSON.stringify({ payouts: true })}\n`);
  }

  const stop = async () => {
    await tracing?.shutdown().catch(() => undefined);
    await payoutManager?.stop().catch(() => undefined);
    await projector?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    await database.embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9][0-9]{0,6}$/.test(raw)) throw new ConfigError(`${name} must be a whole number from 1 to 9999999, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError ? `configuration: ${error.message}` : ((error as Error)?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
