import 'reflect-metadata';
import { connectEventStore } from '@ledger/event-store';
import { ConfigError, loadConfig, resolveDatabase } from '@ledger/platform';
import type { ProjectorLog } from '@ledger/read-models';
import { createProjector } from './create-projector';

/**
 * The projector on its own. Prints one JSON line `{"projecting": true}` on stdout once it
 * has started (leading or standing by), so supervisors and tests can wait for it; logs are
 * JSON lines on stderr.
 *
 * Besides the shared configuration (DATABASE_URL, EVENTSTORE_URL, ...): PROJECTOR_BATCH_SIZE
 * (events per batch and transaction, default 1000) and PROJECTIONS (comma-separated names,
 * default all).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const batchSize = positiveInteger('PROJECTOR_BATCH_SIZE', 1_000);
  const projections = process.env.PROJECTIONS?.split(',').map((name) => name.trim()).filter(Boolean);
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
  const projector = createProjector({ store, url: database.url, projections, batchSize, log });
  await projector.start();
  process.stdout.write(`${JSON.stringify({ projecting: true })}\n`);

  const stop = async () => {
    await projector.stop().catch(() => undefined);
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
