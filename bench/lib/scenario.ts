import { PostgresEventStore, type PostgresEventStoreOptions } from '@ledger/event-store';
import type { CpuMeter } from './cpu';
import type { LoopOptions, Timing } from './measure';
import type { BenchRecord } from './report';
import type { BenchServer, ScenarioDatabase } from './server';

/** Adapter options a run may override (`--store-options`); everything else is the adapter's default. */
export type StoreTuning = Pick<PostgresEventStoreOptions, 'poolSize' | 'maxAppendsPerBatch' | 'maxBatchesInFlight'>;

export interface ScenarioContext {
  server: BenchServer;
  /** The scenario's own empty database, dropped after it. */
  database: ScenarioDatabase;
  timing: Timing;
  quick: boolean;
  /** Roofline transactions per second by client count, measured earlier in this run. */
  roofline: Map<number, number>;
  storeTuning: StoreTuning;
  /** Analyse the event store's tables after each warm-up (the default; `--no-analyze` turns it off). */
  analyzeAfterWarmup: boolean;
  /** Splits the machine's CPU between client, server and other workloads per window. */
  cpu: CpuMeter;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** Scenarios that compare against the roofline make the run measure it first. */
  needsRoofline: boolean;
  /** Opt-in scenarios run only when named with `--scenario`. */
  inDefaultSuite: boolean;
  run(context: ScenarioContext): Promise<BenchRecord[]>;
}

/** Opens a PostgresEventStore on the scenario's database with the run's tuning applied. */
export function openStore(
  context: ScenarioContext,
  overrides: Partial<PostgresEventStoreOptions> = {},
): Promise<PostgresEventStore> {
  return PostgresEventStore.create({
    connectionString: context.database.url,
    applicationName: 'ledger-bench',
    ...context.storeTuning,
    ...overrides,
  });
}

/** The adapter settings a record reports: what was set, and the pool size actually used. */
export function describeStore(store: PostgresEventStore, tuning: StoreTuning): Record<string, unknown> {
  return {
    poolSize: store.pool.options.max,
    maxAppendsPerBatch: tuning.maxAppendsPerBatch ?? 'default',
    maxBatchesInFlight: tuning.maxBatchesInFlight ?? 'default',
  };
}

/**
 * Events per group-commit transaction, from the rows themselves: `recorded_at` is the
 * transaction's start time, shared by every event of one batch and distinct between
 * batches, so no hook into the adapter is needed. With one event per append this is
 * also the number of appends per transaction.
 */
export async function eventsPerTransaction(store: PostgresEventStore, streamPrefix: string): Promise<number> {
  const { rows } = await store.pool.query<{ events: string; transactions: string }>(
    `select count(*) as events, count(distinct recorded_at) as transactions
       from event_store.events where stream_name like $1`,
    [`${streamPrefix}%`],
  );
  const events = Number(rows[0]?.events ?? 0);
  const transactions = Number(rows[0]?.transactions ?? 0);
  return transactions === 0 ? 0 : Math.round((events / transactions) * 10) / 10;
}

/**
 * What autovacuum does to any database that has run for a while, done at a known moment.
 * A fresh database's statistics describe empty tables, and the plans PL/pgSQL caches
 * for `append_batch` on the first calls keep scanning whole tables as they grow; a
 * measurement on such a database shows its first minute, not its steady state (see
 * docs/benchmarks.md). Returns the callback for `closedLoop`, or none when turned off.
 */
export function steadyState(context: ScenarioContext, store: PostgresEventStore): (() => Promise<void>) | undefined {
  if (!context.analyzeAfterWarmup) return undefined;
  return async () => {
    await store.pool.query('analyze event_store.events, event_store.streams');
  };
}

/** The options every append scenario gives `closedLoop`. */
export function loopOptions(context: ScenarioContext, store: PostgresEventStore): LoopOptions {
  return { afterWarmup: steadyState(context, store), meter: context.cpu };
}
