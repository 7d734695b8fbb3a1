import 'reflect-metadata';
import { join } from 'node:path';
import { Pool } from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectEventStore } from '@ledger/event-store';
import { createPaymentChannels, loadPaymentChannels } from '@ledger/payments';
import { ConfigError, devKeyNotice, loadConfig, resolveApiKeys, resolveDatabase, startTracing } from '@ledger/platform';
import { createLedgerApiApp } from './ledger-api.app';

/**
 * The command API on its own (ledger-api). Prints one JSON line `{"listening": port}` on
 * stdout once it accepts requests, so supervisors and tests can wait for it.
 *
 * Provider callbacks are taken for the channels in PAYMENT_CHANNELS (docs/payments.md);
 * without it every callback is 404 channel_not_found. Only the channels' webhook secrets are
 * used here: this process never calls a provider.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  // Spans go to the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT, if any (docs/operations.md).
  const tracing = startTracing({ serviceName: 'ledger-api' });
  // Read before anything starts, so a bad channel configuration stops the process at once.
  const { channels } = createPaymentChannels(loadPaymentChannels(process.env));
  const keys = resolveApiKeys({
    env: process.env,
    production: config.production,
    devKeyFile: join(__dirname, '..', '..', '..', '..', '.data', 'dev-api-key.json'),
  });
  if (keys.devKey) process.stderr.write(`${devKeyNotice(keys.devKey)}\n`);
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
  const pool = new Pool({ connectionString: database.url, max: 10, application_name: 'ledger-api' });
  // pg emits 'error' when an idle client's connection drops (a restart, a failover); without a
  // listener that would kill the process. The next query reconnects.
  pool.on('error', (error) => process.stderr.write(`idle database connection lost: ${error.message}\n`));
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry });
  const app = await createLedgerApiApp({
    store,
    pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    withdrawalAmountLimits: config.withdrawalAmountLimits,
    idempotencyLeaseMs: config.idempotencyLeaseMs,
    paymentChannels: channels,
    metricsRegistry,
  });
  await app.listen(config.httpPort, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`${JSON.stringify({ listening: address.port })}\n`);

  const stop = async () => {
    await tracing?.shutdown().catch(() => undefined);
    await app.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await store.close().catch(() => undefined);
    await database.embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `configuration: ${error.message}` : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
