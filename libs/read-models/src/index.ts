/**
 * `@ledger/read-models`: the PostgreSQL read models (TypeORM entities and migrations), the
 * projections that fill them, the projector that runs them from the event log with
 * checkpoints and leadership, and the rebuild that replaces them without read downtime.
 */
export * from './schema';
export * from './errors';
export * from './entities';
export { READ_MODEL_MIGRATIONS, CreateReadModels1764000000000, CreateReconciliation1764100000000 } from './migrations';
export {
  createReadModelsDataSource,
  migrateReadModels,
  readModelsDataSourceOptions,
  READ_MODELS_LOCK_NAMESPACE,
  READ_MODELS_MIGRATIONS_TABLE,
  type ReadModelsDataSourceOptions,
} from './data-source';
export type { SqlResult, SqlSession } from './sql';
export { DedicatedSession, inTransaction } from './sql';
export type { Projection, ProjectionReport, ProjectionTransaction } from './projection';
export {
  AccountBalancesProjection,
  JournalProjection,
  ReconciliationProjection,
  RECONCILIATION_PROJECTION,
  WithdrawalsProjection,
  PROJECTION_NAMES,
  createProjections,
  parseUserLedgerAccount,
  type ProjectionName,
} from './projections';
export { readCheckpoints, compareAndSetCheckpoint } from './checkpoints';
export { commitBatch, applyBatch, LIVE_TABLES, type BatchOutcome, type CommitBatchOptions, type TableSet } from './batch';
export { Leadership, projectionLockKey, PROJECTION_LOCK_NAMESPACE } from './leadership';
export { ProjectorMetrics, type ProjectorMetricsOptions } from './metrics';
export {
  Projector,
  type ProjectorLog,
  type ProjectorLogLevel,
  type ProjectorOptions,
  type ProjectorState,
  type ProjectorStatus,
} from './projector';
export {
  rebuildProjection,
  rebuildProjections,
  REBUILD_TABLES,
  type RebuildOptions,
  type RebuildProgress,
  type RebuildResult,
} from './rebuild';
