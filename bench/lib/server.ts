import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '@ledger/platform';
import { postmasterOf } from './cpu';

/** Facts about where a run happened, carried by every record it prints. */
export interface Environment {
  server: 'embedded' | 'external';
  postgres_version: string;
  fsync: string;
  synchronous_commit: string;
  wal_sync_method: string;
  shared_buffers: string;
  max_connections: number;
  cpus: number;
  cpu_model: string;
  node: string;
}

export interface ScenarioDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export interface BenchServer {
  environment: Environment;
  /** The postmaster's pid when the server runs on this machine, for the CPU meter. */
  serverPid: number | undefined;
  /** Creates an empty database of its own, so no scenario sees another's rows or bloat. */
  createDatabase(scenario: string): Promise<ScenarioDatabase>;
  stop(): Promise<void>;
}

/**
 * The server to measure: BENCH_DATABASE_URL, else DATABASE_URL, else an embedded
 * PostgreSQL started here with its defaults (fsync on) and stopped by `stop()`.
 */
export async function acquireServer(log: (line: string) => void): Promise<BenchServer> {
  const configured = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL;
  let url: string;
  let stopServer: () => Promise<void> = async () => undefined;
  if (configured) {
    url = configured;
    log(`server: ${redact(url)}`);
  } else {
    log('server: starting embedded PostgreSQL (fsync on)');
    const verbose = Boolean(process.env.BENCH_VERBOSE);
    const handle = await startEmbeddedPostgres({
      name: 'bench',
      port: 0,
      log: verbose ? (line) => log(`postgres: ${line}`) : undefined,
    });
    url = handle.url;
    stopServer = () => handle.stop();
    // The embedded cluster is ours alone; databases left by an interrupted run are dropped.
    await dropLeftovers(url, log).catch((error: unknown) => {
      void stopServer();
      throw error;
    });
  }
  const environment = await describeServer(url, configured ? 'external' : 'embedded');
  return {
    environment,
    serverPid: await localPostmaster(url),
    createDatabase: (scenario) => createDatabase(url, scenario),
    stop: stopServer,
  };
}

async function createDatabase(serverUrl: string, scenario: string): Promise<ScenarioDatabase> {
  const name = `bench_${scenario.replace(/[^a-z0-9]+/g, '_')}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withClient(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

async function dropLeftovers(serverUrl: string, log: (line: string) => void): Promise<void> {
  await withClient(serverUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `select datname from pg_database where datname like 'bench\\_%'`,
    );
    for (const { datname } of rows) {
      log(`server: dropping leftover database ${datname}`);
      await client.query(`drop database if exists "${datname}" with (force)`);
    }
  });
}

/**
 * A server on this machine is the parent of our backend. The pid our backend reports is
 * only trusted when that process and its parent both run PostgreSQL: on a remote
 * server the same number may name an unrelated local process.
 */
async function localPostmaster(url: string): Promise<number | undefined> {
  // Looked up while the connection is open: the backend exits with it.
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const backendPid = rows[0]!.pid;
    const postmaster = postmasterOf(backendPid);
    return postmaster !== undefined && runsPostgres(backendPid) && runsPostgres(postmaster) ? postmaster : undefined;
  });
}

function runsPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return false;
  }
}

async function describeServer(url: string, server: Environment['server']): Promise<Environment> {
  return withClient(url, async (client) => {
    const setting = async (name: string) =>
      (await client.query<{ setting: string }>('select current_setting($1) as setting', [name])).rows[0]!.setting;
    return {
      server,
      postgres_version: await setting('server_version'),
      fsync: await setting('fsync'),
      synchronous_commit: await setting('synchronous_commit'),
      wal_sync_method: await setting('wal_sync_method'),
      shared_buffers: await setting('shared_buffers'),
      max_connections: Number(await setting('max_connections')),
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
    };
  });
}

export async function withClient<T>(url: string, run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'ledger-bench' });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
