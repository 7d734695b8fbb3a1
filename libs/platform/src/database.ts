import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  /** Set when we started an embedded server; stop it on shutdown. */
  embedded: EmbeddedPostgresHandle | undefined;
}

/**
 * DATABASE_URL when given; otherwise the embedded server, with a `ledger` database
 * created on first run. Either way the caller gets one connection string.
 */
export async function resolveDatabase(options: {
  databaseUrl: string | undefined;
  embeddedPort: number;
  embeddedDir?: string;
  log?: (line: string) => void;
}): Promise<ResolvedDatabase> {
  if (options.databaseUrl) return { url: options.databaseUrl, embedded: undefined };
  const embedded = await startEmbeddedPostgres({
    name: 'dev',
    port: options.embeddedPort,
    dataDir: options.embeddedDir,
    log: options.log,
  });
  const admin = new Client({ connectionString: embedded.url });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', ['ledger']);
    if (!rowCount) await admin.query('create database ledger');
  } finally {
    await admin.end();
  }
  const url = new URL(embedded.url);
  url.pathname = '/ledger';
  return { url: url.toString(), embedded };
}
