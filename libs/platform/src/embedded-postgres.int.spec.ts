import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

const root = join(__dirname, '..', '..', '..');
const child = join(root, 'test', 'support', 'embedded-postgres-child.ts');
// `node --import tsx` runs TypeScript in this one process; the tsx CLI would add a parent
// process, and SIGKILL would then orphan the child instead of killing it.
const runTs = ['--import', 'tsx'];

interface ChildReport {
  port: number;
  pid: number;
  dataDir: string;
  answer?: number;
}

/**
 * The embedded server must survive what a developer's machine does to it: a `npm start`
 * killed with SIGKILL leaves its PostgreSQL running with a postmaster.pid, and the next
 * start must take over cleanly. The package is ESM-only, so the server runs in child
 * processes here, as it does under `npm start`.
 */
describe('embedded PostgreSQL', () => {
  const dataDirs: string[] = [];
  afterAll(() => {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('recovers from a stale server left by a SIGKILLed parent', async () => {
    const name = `crash-${randomBytes(4).toString('hex')}`;
    const holder = spawn(process.execPath, [...runTs, child, 'hold', name, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const first = await firstLine(holder.stdout!);
    dataDirs.push(first.dataDir);
    holder.kill('SIGKILL');
    await new Promise((done) => holder.once('exit', done));

    // The orphaned server still runs and still owns its data directory.
    expect(await answers(first.port)).toBe(true);
    expect(existsSync(join(first.dataDir, 'postmaster.pid'))).toBe(true);

    const restarted = spawnSync(process.execPath, [...runTs, child, 'once', name, '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(restarted.status).toBe(0);
    const second = JSON.parse(restarted.stdout.trim()) as ChildReport;
    expect(second.dataDir).toBe(first.dataDir);
    expect(second.answer).toBe(42);
    // The stale server was stopped, and the second one shut down cleanly behind itself.
    expect(processAlive(first.pid)).toBe(false);
    expect(await answers(first.port)).toBe(false);
    expect(existsSync(join(first.dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('says which port is taken instead of rejecting with undefined', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startEmbeddedPostgres({ name: 'port-taken', port })).rejects.toThrow(`port ${port} is taken`);
    } finally {
      blocker.close();
    }
  });
});

function firstLine(stream: NodeJS.ReadableStream): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no report from child: ${buffer}`)), 60_000);
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buffer.slice(0, newline)) as ChildReport);
      }
    });
  });
}

async function answers(port: number): Promise<boolean> {
  const client = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Alive and not a zombie: an orphan's exit is reaped by whatever PID 1 is, in its own time. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
