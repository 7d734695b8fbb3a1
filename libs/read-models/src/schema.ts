/**
 * Names of the read-model schema. Every table lives in the PostgreSQL schema `read_models`;
 * the table and column names are a contract with the read API and change only through a
 * migration.
 */
export const READ_MODELS_SCHEMA = 'read_models';

/** The tables projections write. `projection_checkpoints` is separate: every projection shares it. */
export const READ_MODEL_TABLES = [
  'account_balances',
  'journal_entries',
  'withdrawals',
  'withdrawal_status_history',
  'review_queue',
  'reconciliation_statements',
  'reconciliation_items',
] as const;

export type ReadModelTable = (typeof READ_MODEL_TABLES)[number];

export const CHECKPOINTS_TABLE = `${READ_MODELS_SCHEMA}.projection_checkpoints`;

/**
 * A rebuild writes into `<table>__rebuild` and keeps its progress under the checkpoint
 * `<projection>__rebuild`, so it never touches what readers see until the swap.
 */
export const REBUILD_SUFFIX = '__rebuild';

export function qualified(table: string): string {
  return `${READ_MODELS_SCHEMA}.${table}`;
}

export function rebuildCheckpointName(projection: string): string {
  return `${projection}${REBUILD_SUFFIX}`;
}
