import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { connectEventStore, type EventStore } from '@ledger/event-store';
import { ConfigError, loadConfig, resolveDatabase, type ResolvedDatabase } from '@ledger/platform';
import { AppModule } from './app.module';

/**
 * `npm start`: the whole system in one process. Without DATABASE_URL it runs on an
 * embedded PostgreSQL under .data/; without EVENTSTORE_URL the event store is PostgreSQL.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = (line: string) => process.stderr.write(`${JSON.stringify({ level: 'info', msg: line })}\n`);

  let database: ResolvedDatabase | undefined;
  let store: EventStore | undefined;
  const shutdown = async (signal: string) => {
    log(`received ${signal}, shutting down`);
    await app?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await database?.embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  let app: Awaited<ReturnType<typeof NestFactory.create>> | undefined;
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  database = await resolveDatabase({
    databaseUrl: config.databaseUrl,
    embeddedPort: config.embeddedPostgresPort,
    embeddedDir: config.embeddedPostgresDir,
  });
  log(database.embedded ? `embedded PostgreSQL on port ${database.embedded.port} (${database.embedded.dataDir})` : 'PostgreSQL from DATABASE_URL');

  store = await connectEventStore({
    databaseUrl: database.url,
    eventStoreUrl: config.eventStoreUrl,
    eventStoreTimeoutMs: config.eventStoreTimeoutMs,
  });
  log(config.eventStoreUrl ? 'event store: EventStoreDB' : 'event store: PostgreSQL');

  app = await NestFactory.create(AppModule.create(store), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(config.httpPort, '0.0.0.0');
  log(`listening on http://localhost:${config.httpPort} (GET /health/live, /health/ready)`);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? `configuration: ${error.message}` : (error as Error)?.stack ?? String(error);
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: message })}\n`);
  process.exit(1);
});
