import 'reflect-metadata';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { connectEventStore, type EventStore } from '@ledger/event-store';
import {
  ConfigError,
  devKeyNotice,
  loadConfig,
  resolveApiKeys,
  resolveDatabase,
  type ResolvedDatabase,
} from '@ledger/platform';
import { createLedgerApiApp } from '../../ledger-api/src';
import { createProjector, type ProjectorApp } from '../../projector/src';
import { createReadApiApp } from '../../read-api/src';

/** What has been started so far, stopped in reverse order on shutdown. */
interface Running {
  database?: ResolvedDatabase;
  store?: EventStore;
  pool?: Pool;
  app?: INestApplication;
  projector?: ProjectorApp;
  readApi?: INestApplication;
}

const log = (level: 'info' | 'fatal', msg: string) =>
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg })}\n`);

/**
 * `npm start`: the whole system in one process. Without DATABASE_URL it runs on an
 * embedded PostgreSQL under .data/; without EVENTSTORE_URL the event store is PostgreSQL.
 */
async function main(running: Running): Promise<void> {
  const config = loadConfig();
  const projectRoot = join(__dirname, '..', '..', '..', '..');
  const keys = resolveApiKeys({
    env: process.env,
    production: config.production,
    devKeyFile: join(projectRoot, '.data', 'dev-api-key.json'),
  });
  if (keys.devKey) log('info', devKeyNotice(keys.devKey));

  running.database = await resolveDatabase({
    databaseUrl: config.databaseUrl,
    embeddedPort: config.embeddedPostgresPort,
    embeddedDir: config.embeddedPostgresDir,
  });
  const { embedded } = running.database;
  log('info', embedded ? `embedded PostgreSQL on port ${embedded.port} (${embedded.dataDir})` : 'PostgreSQL from DATABASE_URL');

  running.store = await connectEventStore({
    databaseUrl: running.database.url,
    eventStoreUrl: config.eventStoreUrl,
    eventStoreTimeoutMs: config.eventStoreTimeoutMs,
  });
  log('info', config.eventStoreUrl ? 'event store: EventStoreDB' : 'event store: PostgreSQL');
  running.pool = new Pool({ connectionString: running.database.url, max: 10, application_name: 'ledger-api' });
  // An idle client whose connection drops must not kill the process; the next query reconnects.
  running.pool.on('error', (error) => log('info', `idle database connection lost: ${error.message}`));

  running.app = await createLedgerApiApp({
    store: running.store,
    pool: running.pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    withdrawalAmountLimits: config.withdrawalAmountLimits,
    idempotencyLeaseMs: config.idempotencyLeaseMs,
  });
  await running.app.listen(config.httpPort, '0.0.0.0');
  log('info', `command API on http://localhost:${config.httpPort} (OpenAPI at /docs, health at /health/live and /health/ready)`);

  // The projector migrates the read models, then follows the log from its checkpoints.
  running.projector = createProjector({ store: running.store, url: running.database.url });
  await running.projector.start();
  const store = running.store;
  running.readApi = await createReadApiApp({
    pool: running.pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    headPosition: () => store.headPosition(),
  });
  const readPort = config.httpPort === 0 ? 0 : config.httpPort + 1;
  await running.readApi.listen(readPort, '0.0.0.0');
  log('info', `read API on http://localhost:${readPort} (OpenAPI at /docs, metrics at /metrics)`);
}

async function stop(running: Running): Promise<void> {
  await running.readApi?.close().catch(() => undefined);
  await running.projector?.stop().catch(() => undefined);
  await running.app?.close().catch(() => undefined);
  await running.pool?.end().catch(() => undefined);
  await running.store?.close().catch(() => undefined);
  await running.database?.embedded?.stop().catch(() => undefined);
}

const running: Running = {};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log('info', `received ${signal}, shutting down`);
    void stop(running).then(() => process.exit(0));
  });
}
main(running).catch(async (error: unknown) => {
  log('fatal', error instanceof ConfigError ? `configuration: ${error.message}` : ((error as Error)?.stack ?? String(error)));
  await stop(running);
  process.exit(1);
});
