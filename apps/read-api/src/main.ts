import 'reflect-metadata';
import { join } from 'node:path';
import { Pool } from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectEventStore } from '@ledger/event-store';
import { ConfigError, devKeyNotice, loadConfig, resolveApiKeys, resolveDatabase, startTracing } from '@ledger/platform';
import { createReadApiApp, DEFAULT_MIN_POSITION_TIMEOUT_MS, DEFAULT_READY_MAX_LAG_EVENTS } from './read-api.app';

/**
 * The read API on its own (read-api). Prints one JSON line `{"listening": port}` on stdout
 * once it accepts requests, so supervisors and tests can wait for it.
 *
 * Besides the shared configuration (DATABASE_URL, EVENTSTORE_URL, PORT, LOG_LEVEL, rate
 * limits, API keys) it reads READ_API_MIN_POSITION_TIMEOUT_MS, READ_API_READY_MAX_LAG_EVENTS
 * and READ_API_POOL_SIZE.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  // Spans go to the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT, if any (docs/operations.md).
  const tracing = startTracing({ serviceName: 'read-api' });
  const minPositionTimeoutMs = integer('READ_API_MIN_POSITION_TIMEOUT_MS', DEFAULT_MIN_POSITION_TIMEOUT_MS, 0, 60_000);
  const readyMaxLagEvents = integer('READ_API_READY_MAX_LAG_EVENTS', Number(DEFAULT_READY_MAX_LAG_EVENTS), 0, 1_000_000_000);
  const poolSize = integer('READ_API_POOL_SIZE', 10, 1, 1_000);
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
  // The event store is opened for its head position only: readiness and lag compare with it.
  const store = await connectEventStore({
    databaseUrl: database.url,
    eventStoreUrl: config.eventStoreUrl,
    eventStoreTimeoutMs: config.eventStoreTimeoutMs,
  });
  const pool = new Pool({ connectionString: database.url, max: poolSize, application_name: 'read-api' });
  // pg emits 'error' when an idle client's connection drops (a restart, a failover); without a
  // listener that would kill the process. The next query reconnects.
  pool.on('error', (error) => process.stderr.write(`idle database connection lost: ${error.message}\n`));
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry });
  const app = await createReadApiApp({
    pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    minPositionTimeoutMs,
    readyMaxLagEvents,
    headPosition: () => store.headPosition(),
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

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `configuration: ${error.message}` : ((error as Error)?.stack ?? String(error))}\n`);
  process.exit(1);
});
