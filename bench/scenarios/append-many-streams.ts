import type { PostgresEventStore } from '@ledger/event-store';
import { closedLoop, round } from '../lib/measure';
import { depositEvent, payloadBytes } from '../lib/payload';
import {
  describeStore,
  eventsPerTransaction,
  loopOptions,
  openStore,
  type Scenario,
  type ScenarioContext,
} from '../lib/scenario';

const CALLERS = [1, 8, 32] as const;
const STREAMS_PER_CALLER = 1_000;
const TARGET_CALLERS = 32;
const TARGET_RATIO = 0.6;

/**
 * Many independent writers, the common case of a ledger: each caller appends one event
 * at a time to its own streams with the exact expected revision it tracked itself, all
 * through one store instance, so the adapter's group commit is what is measured.
 */
export const appendManyStreams: Scenario = {
  name: 'append-many-streams',
  needsRoofline: true,
  inDefaultSuite: true,
  async run(context) {
    const store = await openStore(context);
    try {
      const points = [];
      for (const callers of CALLERS) points.push(await measure(context, store, callers));
      const atTarget = points.find((point) => point.callers === TARGET_CALLERS)!;
      return [
        {
          scenario: 'append-many-streams',
          parameters: {
            callers: [...CALLERS],
            streams_per_caller: STREAMS_PER_CALLER,
            events_per_append: 1,
            expected_revision: 'exact (no_stream for a stream\'s first append)',
            event_bytes: payloadBytes(),
            store: describeStore(store, context.storeTuning),
            analyze_after_warmup: context.analyzeAfterWarmup,
            warmup_s: context.timing.warmupMs / 1_000,
            measure_s: context.timing.measureMs / 1_000,
          },
          points,
          appends_per_second: atTarget.appends_per_second,
          roofline_tx_per_second: atTarget.roofline_tx_per_second,
          ratio_to_roofline: atTarget.ratio_to_roofline,
          target: { callers: TARGET_CALLERS, min_ratio_to_roofline: TARGET_RATIO },
          pass: atTarget.ratio_to_roofline !== null && atTarget.ratio_to_roofline >= TARGET_RATIO,
        },
      ];
    } finally {
      await store.close();
    }
  },
};

/** One data point; exported for the tuning sweep, which repeats it under other settings. */
export async function measure(context: ScenarioContext, store: PostgresEventStore, callers: number, label = 'n') {
  // A prefix per data point keeps each point's streams (and revisions) its own.
  const prefix = `bench-${label}${callers}c`;
  const revisions = Array.from({ length: callers }, () => new Array<bigint>(STREAMS_PER_CALLER).fill(-1n));
  const cursor = new Array<number>(callers).fill(0);
  const result = await closedLoop(callers, context.timing, async (caller) => {
    const index = cursor[caller]!;
    cursor[caller] = (index + 1) % STREAMS_PER_CALLER;
    const current = revisions[caller]![index]!;
    const appended = await store.append(`${prefix}${caller}s${index}`, [depositEvent()], {
      expectedRevision: current < 0n ? 'no_stream' : current,
    });
    revisions[caller]![index] = appended.nextExpectedRevision;
  }, loopOptions(context, store));
  const roofline = context.roofline.get(callers) ?? null;
  const ratio = roofline ? round(result.operations_per_second / roofline, 3) : null;
  context.log(
    `append-many-streams (${label}): ${callers} callers: ${result.operations_per_second} appends/s` +
      (ratio === null ? '' : ` (${ratio}x roofline)`),
  );
  return {
    callers,
    appends_per_second: result.operations_per_second,
    latency_ms_p50: result.latency_ms_p50,
    latency_ms_p99: result.latency_ms_p99,
    latency_ms_max: result.latency_ms_max,
    appends: result.operations,
    appends_per_transaction: await eventsPerTransaction(store, prefix),
    roofline_tx_per_second: roofline,
    ratio_to_roofline: ratio,
    ...result.cpu,
  };
}
