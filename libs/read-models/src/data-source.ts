import { DataSource, type DataSourceOptions, type EntitySchema } from 'typeorm';
import { READ_MODEL_ENTITIES } from './entities';
import { READ_MODEL_MIGRATIONS } from './migrations';
import { READ_MODELS_SCHEMA } from './schema';

export interface ReadModelsDataSourceOptions {
  /** Connections in the pool. A projector holds one per running projection group for its leadership. */
  poolSize?: number;
  applicationName?: string;
  /** Server-side statement timeout for every query on the pool; 0 turns it off. */
  statementTimeoutMs?: number;
  /** Further entities the caller maps on the same pool (the read API's own, for instance). */
  extraEntities?: ReadonlyArray<EntitySchema | (new () => unknown) | string>;
}

/** The name of TypeORM's migrations table for the read models, inside the `read_models` schema. */
export const READ_MODELS_MIGRATIONS_TABLE = 'migrations';

/**
 * DataSource options for the read models: `synchronize` is off and stays off, because a
 * schema derived from entity classes at start-up is a schema nobody reviewed; every change
 * is a migration (`migrateReadModels`).
 */
export function readModelsDataSourceOptions(url: string, options: ReadModelsDataSourceOptions = {}): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: [...READ_MODEL_ENTITIES, ...(options.extraEntities ?? [])],
    migrations: [...READ_MODEL_MIGRATIONS],
    migrationsTableName: READ_MODELS_MIGRATIONS_TABLE,
    migrationsRun: false,
    synchronize: false,
    logging: false,
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? 'ledger-read-models',
    extra: {
      // The client notices a dead server or network by itself instead of waiting on a socket forever.
      keepAlive: true,
      ...(options.statementTimeoutMs === 0 ? {} : { statement_timeout: options.statementTimeoutMs ?? 60_000 }),
    },
  };
}

/** A DataSource over the read models, not yet initialised (call `initialize()` or pass it to `migrateReadModels`). */
export function createReadModelsDataSource(url: string, options: ReadModelsDataSourceOptions = {}): DataSource {
  return new DataSource(readModelsDataSourceOptions(url, options));
}

// Advisory-lock namespace of the read models (the first key of the two-key form); the
// event store and the idempotency store use single keys 7_340_021 and 7_340_031.
export const READ_MODELS_LOCK_NAMESPACE = 7_340_041;
const MIGRATION_LOCK_KEY = 0;

/**
 * Runs the read-model migrations that have not run yet, whatever migrations the given
 * DataSource was configured with: they run through a short-lived DataSource of their own
 * with the same connection settings, one connection, `synchronize` off, and TypeORM's
 * migrations table `read_models.migrations`. Safe to call from many processes at once: an
 * advisory lock lets one migrate while the others wait, then find nothing to do.
 * Initialises `dataSource` when it is not yet.
 */
export async function migrateReadModels(dataSource: DataSource): Promise<void> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('select pg_advisory_lock($1, $2)', [READ_MODELS_LOCK_NAMESPACE, MIGRATION_LOCK_KEY]);
    try {
      // TypeORM creates its migrations table but not the schema that holds it.
      await lockRunner.query(`create schema if not exists ${READ_MODELS_SCHEMA}`);
      const base = dataSource.options as Extract<DataSourceOptions, { type: 'postgres' }>;
      const migrator = new DataSource({
        ...base,
        entities: [],
        subscribers: [],
        migrations: [...READ_MODEL_MIGRATIONS],
        migrationsTableName: READ_MODELS_MIGRATIONS_TABLE,
        migrationsTransactionMode: 'each',
        schema: READ_MODELS_SCHEMA,
        synchronize: false,
        migrationsRun: false,
        dropSchema: false,
        logging: false,
        poolSize: 1,
      });
      await migrator.initialize();
      try {
        await migrator.runMigrations({ transaction: 'each' });
      } finally {
        await migrator.destroy();
      }
    } finally {
      await lockRunner.query('select pg_advisory_unlock($1, $2)', [READ_MODELS_LOCK_NAMESPACE, MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockRunner.release();
  }
}
