import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '@ledger/event-store';
import { Client } from 'pg';
import { compileCli, type CompiledCli } from './testing/compiled-cli';
import { LedgerScenario, seededRandom } from './testing/ledger-scenario';

const root = join(__dirname, '..', '..', '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/**
 * Without DATABASE_URL the CLI uses the embedded PostgreSQL of `npm start`. The platform's
 * start-up treats a server already running on the data folder as a stale leftover and stops
 * it, so the CLI must attach to a running server instead of starting one (or `ledger verify`
 * would shut a live ledger down), and start and stop the server itself only when none runs.
 */
describe('the CLI on the embedded PostgreSQL of npm start', () => {
  let cli: CompiledCli;
  let holder: ChildProcess | undefined;
  let server: { port: number; pid: number; dataDir: string };

  beforeAll(async () => {
    cli = compileCli();
    // A server of its own, on a data folder of its own, as `npm start` would leave it running.
    const name = `cli-e2e-${randomBytes(4).toString('hex')}`;
    holder = spawn(process.execPath, ['--import', 'tsx', join(root, 'test', 'support', 'embedded-postgres-child.ts'), 'hold', name, '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      holder!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((candidate) => candidate.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line));
      });
      holder!.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
      holder!.once('exit', (code) => reject(new Error(`the embedded server exited (${code}): ${err}`)));
    });
    const admin = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${server.port}/postgres` });
    await admin.connect();
    await admin.query('create database ledger');
    await admin.end();
    const store = await PostgresEventStore.create({ connectionString: `postgres://postgres:postgres@127.0.0.1:${server.port}/ledger`, poolSize: 2 });
    await new LedgerScenario(store, seededRandom(3), 'emb').open();
    await store.close();
  }, 120_000);

  afterAll(async () => {
    cli?.remove();
    if (server !== undefined && alive(server.pid)) process.kill(server.pid, 'SIGINT');
    if (server !== undefined) await until(() => !alive(server.pid), 'the server to stop').catch(() => undefined);
    holder?.kill('SIGKILL');
    if (server?.dataDir) rmSync(server.dataDir, { recursive: true, force: true });
  });

  const env = async () => ({ DATABASE_URL: '', EVENTSTORE_URL: '', EMBEDDED_POSTGRES_DIR: server.dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) });

  it('attaches to the running server and leaves it running', async () => {
    const run = await cli.run(['history', 'account-emb-acc-0', '--json'], await env());
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout.split('\n')[0]!)).toMatchObject({ stream: 'account-emb-acc-0', revision: '0', type: 'AccountOpened' });
    expect(alive(server.pid)).toBe(true);
    expect(existsSync(join(server.dataDir, 'postmaster.pid'))).toBe(true);
  });

  it('starts the server when none runs, and stops it again on exit', async () => {
    process.kill(server.pid, 'SIGINT');
    await until(() => !existsSync(join(server.dataDir, 'postmaster.pid')), 'the server to stop');
    holder?.kill('SIGKILL');
    const run = await cli.run(['balance', 'emb-acc-4', '--json'], await env());
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('starting the embedded PostgreSQL');
    expect(JSON.parse(run.stdout)).toMatchObject({ accountId: 'emb-acc-4', available: '987654321987654321', pending: '0' });
    expect(existsSync(join(server.dataDir, 'postmaster.pid'))).toBe(false);
  }, 60_000);

  it('refuses to create a ledger where there is none (exit code 3)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ledger-no-cluster-'));
    try {
      const run = await cli.run(['verify'], { DATABASE_URL: '', EMBEDDED_POSTGRES_DIR: empty });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain('holds no embedded PostgreSQL data');
      expect(existsSync(join(empty, 'PG_VERSION'))).toBe(false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
