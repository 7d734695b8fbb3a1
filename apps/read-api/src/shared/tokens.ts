/** Injection token of the PostgreSQL pool that holds the read models (the caller owns it). */
export const READ_POOL = Symbol('read-api.pool');

/** Injection token of the resolved ReadApiSettings. */
export const READ_API_SETTINGS = Symbol('read-api.settings');

/** The projection that maintains each read model, by the names used in `projection_checkpoints`. */
export interface ReadModelProjections {
  balances: string;
  journal: string;
  withdrawals: string;
  reviewQueue: string;
  reconciliation: string;
}

export const DEFAULT_READ_MODEL_PROJECTIONS: Readonly<ReadModelProjections> = {
  balances: 'balances',
  journal: 'journal',
  withdrawals: 'withdrawals',
  // The withdrawals projection writes the review queue in the same transaction, under its checkpoint.
  reviewQueue: 'withdrawals',
  reconciliation: 'reconciliation',
};

/** The options of createReadApiApp after defaults, shared by the controllers. */
export interface ReadApiSettings {
  /** Every projection readiness and the lag metrics watch. */
  projections: readonly string[];
  readModelProjections: Readonly<ReadModelProjections>;
  minPositionTimeoutMs: number;
  minPositionPollIntervalMs: number;
  readyMaxLagEvents: bigint;
  headPosition?: () => Promise<bigint>;
}
