import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectEventStore, type EventStore } from '@ledger/event-store';
import { ProjectorMetrics } from '@ledger/read-models';
import {
  createPaymentChannels,
  generateWebhookSecret,
  loadPaymentChannels,
  paymentMetrics,
  sandboxChannelConfig,
  type PaymentChannelConfig,
} from '@ledger/payments';
import {
  ConfigError,
  devKeyNotice,
  loadConfig,
  resolveApiKeys,
  resolveDatabase,
  startTracing,
  type ResolvedDatabase,
  type Tracing,
} from '@ledger/platform';
import { createLedgerApiApp } from '../../ledger-api/src';
import { createPayoutProcessManager, createProjector, payoutsConfigFromEnv, type PayoutProcessManager, type ProjectorApp } from '../../projector/src';
import { createReadApiApp } from '../../read-api/src';
import { startSandboxProvider, type RunningSandboxProvider } from '../../sandbox-provider/src';

/** What has been started so far, stopped in reverse order on shutdown. */
interface Running {
  database?: ResolvedDatabase;
  store?: EventStore;
  pool?: Pool;
  app?: INestApplication;
  projector?: ProjectorApp;
  payouts?: PayoutProcessManager;
  sandbox?: RunningSandboxProvider;
  readApi?: INestApplication;
  tracing?: Tracing;
}

const log = (level: 'info' | 'fatal', msg: string) =>
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg })}\n`);

/**
 * `npm start`: the whole system in one process. Without DATABASE_URL it runs on an
 * embedded PostgreSQL under .data/; without EVENTSTORE_URL the event store is PostgreSQL.
 */
async function main(running: Running): Promise<void> {
  const config = loadConfig();
  // Spans go to the OTLP endpoint in OTEL_EXPORTER_OTLP_ENDPOINT, if any (docs/operations.md).
  running.tracing = startTracing({ serviceName: 'ledger' });
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

  // Ports: the command API on PORT, the read API on PORT+1, the sandbox provider on PORT+2
  // (PORT=0 picks free ones). The command API's port is fixed first: the sandbox needs it
  // for its callbacks before the API starts.
  const apiPort = config.httpPort === 0 ? await freePort() : config.httpPort;
  const { channelConfigs, sandboxConfig } = paymentChannelsOf(projectRoot);
  if (sandboxConfig) {
    running.sandbox = await startSandboxProvider({
      ...sandboxConfig,
      callbackUrl: `http://127.0.0.1:${apiPort}/v1/callbacks/sandbox`,
      port: config.httpPort === 0 ? 0 : config.httpPort + 2,
    });
    channelConfigs.push(sandboxChannelConfig({ baseUrl: running.sandbox.url, apiKey: sandboxConfig.apiKey, webhookSecrets: sandboxConfig.webhookSecrets }));
    log('info', `sandbox payment provider on ${running.sandbox.url} (seed ${running.sandbox.seed}; admin at /admin/ledger)`);
  }
  // The read API serves the payout and channel metrics; the command API has a registry of its own.
  const opsRegistry = new Registry();
  collectDefaultMetrics({ register: opsRegistry });
  const { channels, router } = createPaymentChannels(channelConfigs, { metrics: paymentMetrics(opsRegistry) });

  running.app = await createLedgerApiApp({
    store: running.store,
    pool: running.pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    withdrawalAmountLimits: config.withdrawalAmountLimits,
    idempotencyLeaseMs: config.idempotencyLeaseMs,
    paymentChannels: channels,
    metricsRegistry: new Registry(),
  });
  await running.app.listen(apiPort, '0.0.0.0');
  log('info', `command API on http://localhost:${apiPort} (OpenAPI at /docs, health at /health/live and /health/ready)`);

  // The projector migrates the read models, then follows the log from its checkpoints.
  running.projector = createProjector({
    store: running.store,
    url: running.database.url,
    // Served by the read API's /metrics with the payout series (ledger_projection_*).
    metrics: new ProjectorMetrics({ registry: opsRegistry }),
  });
  await running.projector.start();
  const store = running.store;
  running.readApi = await createReadApiApp({
    pool: running.pool,
    apiKeys: keys.records,
    rateLimit: config.rateLimit,
    logLevel: config.logLevel,
    headPosition: () => store.headPosition(),
    metricsRegistry: opsRegistry,
  });
  await running.readApi.listen(config.httpPort === 0 ? 0 : config.httpPort + 1, '0.0.0.0');
  const readPort = (running.readApi.getHttpServer().address() as { port: number }).port;
  log('info', `read API on http://localhost:${readPort} (OpenAPI at /docs, metrics at /metrics)`);

  const payouts = payoutsConfigFromEnv(process.env, channelConfigs.length);
  if (payouts.enabled) {
    running.payouts = createPayoutProcessManager({
      store: running.store,
      url: running.database.url,
      routing: router,
      registry: opsRegistry,
      options: payouts.options,
    });
    await running.payouts.start();
    log('info', `payout process manager on channels ${channels.map((channel) => channel.name).join(', ')}`);
  }
  // One line on stdout for supervisors and tests: every part is up, on these ports.
  process.stdout.write(`${JSON.stringify({ listening: { commandApi: apiPort, readApi: readPort, sandbox: running.sandbox?.port ?? null } })}\n`);
}

interface SandboxSecrets {
  apiKey: string;
  webhookSecrets: string[];
}

/**
 * The payment channels: PAYMENT_CHANNELS when set (docs/payments.md), else one channel
 * `sandbox` on the in-process sandbox provider. The sandbox's API key and webhook secret are
 * made on first run and kept in .data/sandbox.json, so callbacks signed before a restart
 * still verify after it.
 */
function paymentChannelsOf(projectRoot: string): { channelConfigs: PaymentChannelConfig[]; sandboxConfig?: SandboxSecrets } {
  const configured = loadPaymentChannels(process.env);
  if (configured.length > 0) return { channelConfigs: [...configured] };
  const file = join(projectRoot, '.data', 'sandbox.json');
  let secrets: SandboxSecrets;
  if (existsSync(file)) {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as SandboxSecrets;
  } else {
    secrets = { apiKey: `sbx_${randomBytes(24).toString('hex')}`, webhookSecrets: [generateWebhookSecret()] };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return { channelConfigs: [], sandboxConfig: secrets };
}

/** A port nobody listens on right now (for PORT=0, where the sandbox must know the API's port first). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function stop(running: Running): Promise<void> {
  await running.payouts?.stop().catch(() => undefined);
  await running.readApi?.close().catch(() => undefined);
  await running.projector?.stop().catch(() => undefined);
  await running.sandbox?.close().catch(() => undefined);
  await running.app?.close().catch(() => undefined);
  await running.pool?.end().catch(() => undefined);
  await running.store?.close().catch(() => undefined);
  await running.database?.embedded?.stop().catch(() => undefined);
  await running.tracing?.shutdown().catch(() => undefined);
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
