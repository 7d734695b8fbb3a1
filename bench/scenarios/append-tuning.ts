import { round } from '../lib/measure';
import { openStore, type Scenario, type StoreTuning } from '../lib/scenario';
import { measure } from './append-many-streams';

const CALLERS = 32;

/** Settings tried, the adapter's defaults first (poolSize 10, 256 appends, 2 batches in flight). */
const GRID: readonly StoreTuning[] = [
  {},
  { maxBatchesInFlight: 1 },
  { maxBatchesInFlight: 3 },
  { maxBatchesInFlight: 4 },
  { maxAppendsPerBatch: 8 },
  { maxAppendsPerBatch: 12 },
  { maxAppendsPerBatch: 16 },
  { maxAppendsPerBatch: 24 },
  { maxAppendsPerBatch: 16, maxBatchesInFlight: 3 },
];

/**
 * Opt-in: the many-streams scenario at 32 callers under other group-commit settings,
 * to find what the adapter's defaults should be. Every setting gets a store of its own
 * and streams of its own in the one database.
 */
export const appendTuning: Scenario = {
  name: 'append-tuning',
  needsRoofline: true,
  inDefaultSuite: false,
  async run(context) {
    const points = [];
    for (const [index, tuning] of GRID.entries()) {
      const store = await openStore(context, tuning);
      try {
        const point = await measure(context, store, CALLERS, `t${index}n`);
        points.push({
          poolSize: store.pool.options.max,
          maxAppendsPerBatch: tuning.maxAppendsPerBatch ?? 'default',
          maxBatchesInFlight: tuning.maxBatchesInFlight ?? 'default',
          appends_per_second: point.appends_per_second,
          latency_ms_p50: point.latency_ms_p50,
          latency_ms_p99: point.latency_ms_p99,
          appends_per_transaction: point.appends_per_transaction,
          ratio_to_roofline: point.ratio_to_roofline,
          cpu_busy_pct: point.cpu_busy_pct,
          cpu_other_pct: point.cpu_other_pct,
        });
      } finally {
        await store.close();
      }
    }
    const best = points.reduce((a, b) => (b.appends_per_second > a.appends_per_second ? b : a));
    const defaults = points[0]!;
    return [
      {
        scenario: 'append-tuning',
        parameters: {
          callers: CALLERS,
          streams_per_caller: 1_000,
          events_per_append: 1,
          analyze_after_warmup: context.analyzeAfterWarmup,
          warmup_s: context.timing.warmupMs / 1_000,
          measure_s: context.timing.measureMs / 1_000,
        },
        points,
        best: {
          poolSize: best.poolSize,
          maxAppendsPerBatch: best.maxAppendsPerBatch,
          maxBatchesInFlight: best.maxBatchesInFlight,
          appends_per_second: best.appends_per_second,
        },
        best_over_defaults: round(best.appends_per_second / defaults.appends_per_second, 3),
        roofline_tx_per_second: context.roofline.get(CALLERS) ?? null,
        target: null,
        pass: true,
      },
    ];
  },
};
