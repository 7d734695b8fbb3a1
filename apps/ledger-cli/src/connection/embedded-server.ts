import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Finding the embedded PostgreSQL that `npm start` uses, running or not.
 *
 * `startEmbeddedPostgres` (libs/platform) treats a server already running on its data folder
 * as a stale leftover of a killed run and STOPS it. That is right for `npm start` and fatal
 * for a CLI run beside a live system: `ledger verify` would shut the ledger down. So the CLI
 * first looks for a live server in the data folder (its `postmaster.pid` names the process
 * and the port) and connects to it; only when none runs does it start the server itself.
 *
 * The data folder is chosen by the rule `startEmbeddedPostgres` applies for the name `dev`
 * (the name `npm start` passes): EMBEDDED_POSTGRES_DIR, else `<project>/.data/postgres-dev`,
 * else, as root in a project folder the `postgres` user cannot reach, a folder under the
 * system temp folder keyed by the project path. The platform library does not export that
 * rule, so it is repeated here; docs/cli.md names it, and the report asks for the export.
 */
export function embeddedDataDir(configured: string | undefined): string {
  if (configured) return resolve(configured);
  const projectRoot = findProjectRoot(__dirname);
  const inProject = join(projectRoot, '.data', 'postgres-dev');
  if (userInfo().uid !== 0 || everyAncestorTraversable(projectRoot)) return inProject;
  const key = createHash('sha256').update(projectRoot).digest('hex').slice(0, 12);
  return join(tmpdir(), `ledger-postgres-${key}`, 'dev');
}

export interface RunningServer {
  pid: number;
  port: number;
  /** `ready`, `starting` or `stopping`, from the postmaster.pid status line. */
  status: string;
}

/**
 * The server running on `dataDir`, from its `postmaster.pid` (line 1 the postmaster's pid,
 * line 4 its port, line 8 its status), or null when the file is missing or names a process
 * that is gone (a stale file that the next `startEmbeddedPostgres` removes).
 */
export function runningServer(dataDir: string): RunningServer | null {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  let lines: string[];
  try {
    lines = readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  if (!processAlive(pid)) return null;
  return { pid, port, status: (lines[7] ?? '').trim() || 'unknown' };
}

/** True once the folder holds an initialised cluster: the CLI never creates a new, empty ledger. */
export function hasCluster(dataDir: string): boolean {
  return existsSync(join(dataDir, 'PG_VERSION'));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user (the `postgres` user, as root).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function findProjectRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function everyAncestorTraversable(path: string): boolean {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}
