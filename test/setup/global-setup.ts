import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../libs/platform/src/embedded-postgres';

/**
 * Gives every test worker a PostgreSQL server through TEST_DATABASE_URL: the one the
 * caller names, or an embedded server started here and stopped in global-teardown.
 * Test files create their own databases on it (see test/support/database.ts).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    await assertReachable(process.env.TEST_DATABASE_URL);
    return;
  }
  const server = await startEmbeddedPostgres({
    name: 'test',
    port: 0,
    // Tests value turnaround over durability; benchmarks and `npm start` keep fsync on.
    serverFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
  });
  (globalThis as { __embeddedPostgres?: EmbeddedPostgresHandle }).__embeddedPostgres = server;
  process.env.TEST_DATABASE_URL = server.url;
}

async function assertReachable(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(`TEST_DATABASE_URL=${url} is not reachable: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
