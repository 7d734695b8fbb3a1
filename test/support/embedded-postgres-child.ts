/**
 * Runs the embedded PostgreSQL in a child process for the crash-recovery test:
 * `hold` starts it and waits to be killed; `once` starts it, runs a query, stops it.
 * Prints one JSON line to stdout.
 */
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../libs/platform/src/embedded-postgres';

async function main(): Promise<void> {
  const [mode, name, portText] = process.argv.slice(2);
  const server = await startEmbeddedPostgres({ name: name!, port: Number(portText) });
  if (mode === 'hold') {
    process.stdout.write(`${JSON.stringify({ port: server.port, pid: server.pid, dataDir: server.dataDir })}\n`);
    setInterval(() => undefined, 60_000);
    return;
  }
  const client = new Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query<{ answer: number }>('select 41 + 1 as answer');
  await client.end();
  await server.stop();
  process.stdout.write(`${JSON.stringify({ port: server.port, pid: server.pid, dataDir: server.dataDir, answer: rows[0]!.answer })}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
