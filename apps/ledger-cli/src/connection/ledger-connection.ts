import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { connectEventStore, PostgresEventStore, type EventStore } from '@ledger/event-store';
import { ConfigError, loadConfig, resolveDatabase, type LedgerConfig } from '@ledger/platform';
import { createReadModelsDataSource, migrateReadModels } from '@ledger/read-models';
import type { DataSource } from 'typeorm';
import { CliContext } from '../cli/cli-context';
import { unavailable } from '../cli/cli-error';
import { embeddedDataDir, hasCluster, runningServer } from './embedded-server';

export interface CliDatabase {
  url: string;
  /** For messages: where the connection string came from. */
  source: string;
  /** Set when this process started the embedded server and must stop it again. */
  started: { stop(): Promise<void>; dataDir: string } | null;
}

const APPLICATION_NAME = 'ledger-cli';
const EMBEDDED_CREDENTIALS = 'postgres:postgres';
const ATTACH_TIMEOUT_MS = 30_000;

/**
 * The CLI's connections, opened on first use and closed when Nest shuts the application
 * down (after every command, success or failure): a command that needs only the event store
 * opens no read-model pool, and `ledger --help` opens nothing.
 *
 * Configuration is the apps' (`loadConfig`): DATABASE_URL, EVENTSTORE_URL,
 * EVENTSTORE_TIMEOUT_MS, EMBEDDED_POSTGRES_PORT and EMBEDDED_POSTGRES_DIR. Without
 * DATABASE_URL the CLI uses the embedded server of `npm start`, attached to while it runs and
 * started (and stopped afterwards) while it does not; see `embedded-server.ts`.
 *
 * The PostgreSQL event store is opened without migrating: the CLI reads and audits a ledger,
 * it never creates one, so a wrong DATABASE_URL fails with a message instead of growing an
 * empty event store in some other database.
 */
@Injectable()
export class LedgerConnection implements OnApplicationShutdown {
  private loaded: LedgerConfig | undefined;
  private databaseOpening: Promise<CliDatabase> | undefined;
  private storeOpening: Promise<EventStore> | undefined;
  private poolOpening: Promise<Pool> | undefined;
  private dataSourceOpening: Promise<DataSource> | undefined;

  constructor(private readonly context: CliContext) {}

  config(): LedgerConfig {
    if (this.loaded === undefined) {
      try {
        this.loaded = loadConfig();
      } catch (error) {
        if (error instanceof ConfigError) throw unavailable(`configuration: ${error.message}`);
        throw error;
      }
    }
    return this.loaded;
  }

  /** `postgres` when the event store is the PostgreSQL adapter, whose positions are dense. */
  eventStoreKind(): 'postgres' | 'eventstoredb' {
    return this.config().eventStoreUrl ? 'eventstoredb' : 'postgres';
  }

  database(): Promise<CliDatabase> {
    this.databaseOpening ??= this.openDatabase();
    return this.databaseOpening;
  }

  store(): Promise<EventStore> {
    this.storeOpening ??= this.openStore();
    return this.storeOpening;
  }

  /** A small pool for the read models and ad-hoc SQL. */
  pool(): Promise<Pool> {
    this.poolOpening ??= this.database().then((database) => {
      const pool = new Pool({ connectionString: database.url, max: 4, application_name: APPLICATION_NAME });
      // An idle client whose connection drops must not kill the process; the next query reports it.
      pool.on('error', () => undefined);
      return pool;
    });
    return this.poolOpening;
  }

  /**
   * A TypeORM DataSource over migrated read models, for the rebuild (which takes one session
   * per projection). Migrating is safe beside a running projector (an advisory lock orders
   * them) and a no-op on a current schema. No statement timeout: building the indexes of a
   * large shadow table may take longer than any timeout an app would set.
   */
  dataSource(): Promise<DataSource> {
    this.dataSourceOpening ??= this.database().then(async (database) => {
      const dataSource = createReadModelsDataSource(database.url, {
        poolSize: 6,
        applicationName: APPLICATION_NAME,
        statementTimeoutMs: 0,
      });
      await connecting(migrateReadModels(dataSource), 'the read-model database');
      return dataSource;
    });
    return this.dataSourceOpening;
  }

  async onApplicationShutdown(): Promise<void> {
    const settled = async <T>(opening: Promise<T> | undefined): Promise<T | undefined> =>
      opening === undefined ? undefined : opening.catch(() => undefined);
    const dataSource = await settled(this.dataSourceOpening);
    if (dataSource?.isInitialized) await dataSource.destroy().catch(() => undefined);
    await (await settled(this.poolOpening))?.end().catch(() => undefined);
    await (await settled(this.storeOpening))?.close().catch(() => undefined);
    const database = await settled(this.databaseOpening);
    if (database?.started) await this.stopStartedServer(database);
  }

  private async openStore(): Promise<EventStore> {
    const config = this.config();
    const database = await this.database();
    if (config.eventStoreUrl) {
      return connecting(
        connectEventStore({ databaseUrl: database.url, eventStoreUrl: config.eventStoreUrl, eventStoreTimeoutMs: config.eventStoreTimeoutMs }),
        'EventStoreDB (EVENTSTORE_URL)',
      );
    }
    const store = await PostgresEventStore.create({
      connectionString: database.url,
      migrate: false,
      poolSize: 4,
      applicationName: APPLICATION_NAME,
      statementTimeoutMs: 0,
    });
    // Fail here, with a message, when the database holds no event store.
    await connecting(store.headPosition(), `the event store in ${database.source}`).catch(async (error: unknown) => {
      await store.close().catch(() => undefined);
      throw error;
    });
    return store;
  }

  private async openDatabase(): Promise<CliDatabase> {
    const config = this.config();
    if (config.databaseUrl) return { url: config.databaseUrl, source: 'DATABASE_URL', started: null };
    const dataDir = embeddedDataDir(config.embeddedPostgresDir);
    const running = runningServer(dataDir);
    if (running !== null) {
      const url = `postgres://${EMBEDDED_CREDENTIALS}@127.0.0.1:${running.port}/ledger`;
      await waitUntilAccepting(url, running.status);
      return { url, source: `the running embedded PostgreSQL (pid ${running.pid}, port ${running.port}, ${dataDir})`, started: null };
    }
    if (!hasCluster(dataDir)) {
      throw unavailable(
        `no ledger to open: DATABASE_URL is unset and ${dataDir} holds no embedded PostgreSQL data. ` +
          'Run `npm start` once, or set DATABASE_URL (and EVENTSTORE_URL) to the ledger you mean.',
      );
    }
    this.note(`starting the embedded PostgreSQL in ${dataDir} (npm start is not running); it is stopped again on exit`);
    const database = await connecting(
      resolveDatabase({ databaseUrl: undefined, embeddedPort: config.embeddedPostgresPort, embeddedDir: dataDir }),
      `the embedded PostgreSQL in ${dataDir}`,
    );
    const embedded = database.embedded!;
    return {
      url: database.url,
      source: `the embedded PostgreSQL started by this command (port ${embedded.port}, ${dataDir})`,
      started: { stop: () => embedded.stop(), dataDir },
    };
  }

  /**
   * Stops the server this process started, unless someone else connected to it meanwhile
   * (a second `ledger` run attached to it, or `npm start` coming up): stopping it would cut
   * them off. A server left running is a "stale" one to `npm start`, which stops it cleanly
   * and starts its own.
   */
  private async stopStartedServer(database: CliDatabase): Promise<void> {
    let others = 0;
    const client = new Client({ connectionString: database.url, application_name: APPLICATION_NAME });
    try {
      await client.connect();
      const { rows } = await client.query<{ others: string }>(
        `select count(*)::text as others from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid()`,
      );
      others = Number(rows[0]?.others ?? '0');
    } catch {
      // The server is already unreachable; stopping it is still right.
    } finally {
      await client.end().catch(() => undefined);
    }
    if (others > 0) {
      this.note(`left the embedded PostgreSQL in ${database.started!.dataDir} running: ${others} other connection(s) use it`);
      return;
    }
    await database.started!.stop().catch((error: unknown) => this.note(`could not stop the embedded PostgreSQL: ${String(error)}`));
  }

  private note(message: string): void {
    this.context.streams.err.write(`ledger: ${message}\n`);
  }
}

/**
 * Waits until a server that is still starting accepts connections to the `ledger`
 * database; a server that is ready passes on the first try.
 */
async function waitUntilAccepting(url: string, status: string): Promise<void> {
  const deadline = Date.now() + ATTACH_TIMEOUT_MS;
  for (;;) {
    const client = new Client({ connectionString: url, application_name: APPLICATION_NAME, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw unavailable(`the embedded PostgreSQL is running (${status}) but does not accept connections: ${describe(error)}`);
      }
      if ((error as { code?: string }).code === '3D000') {
        throw unavailable('the embedded PostgreSQL is running but holds no `ledger` database yet: let `npm start` finish starting');
      }
      await new Promise((done) => setTimeout(done, 250));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Turns a failure to reach a server into an exit-3 error that says which server. */
async function connecting<T>(work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw unavailable(`cannot use ${what}: ${describe(error)}`);
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === '42P01' || code === '3F000') return 'its schema is missing (is this the ledger\'s database?)';
  if (error instanceof Error && error.message) return code ? `${error.message} (${code})` : error.message;
  if (error instanceof AggregateError) return error.errors.map(describe).join('; ');
  return String(error ?? 'unknown error');
}
