import type { NewEvent, PostgresEventStore, RecordedEvent } from '@ledger/event-store';
import type { CpuShare } from '../lib/cpu';
import { elapsedMs, round, seededRandom, sleep, summarise } from '../lib/measure';
import { depositEvent } from '../lib/payload';
import { openStore, steadyState, type Scenario } from '../lib/scenario';

const WRITERS = 8;

/**
 * What a subscriber saw, checked against what was written: every event exactly once, in
 * strictly increasing global position.
 */
class DeliveryCheck {
  readonly seen = new Map<string, number>();
  delivered = 0;
  duplicates = 0;
  outOfOrder = 0;
  lastPosition = 0n;

  observe(event: RecordedEvent): void {
    this.delivered += 1;
    if (event.globalPosition <= this.lastPosition) this.outOfOrder += 1;
    this.lastPosition = event.globalPosition;
    const count = this.seen.get(event.id) ?? 0;
    if (count > 0) this.duplicates += 1;
    this.seen.set(event.id, count + 1);
  }

  verdict(written: ReadonlySet<string>) {
    let missed = 0;
    for (const id of written) if (!this.seen.has(id)) missed += 1;
    let unexpected = 0;
    for (const id of this.seen.keys()) if (!written.has(id)) unexpected += 1;
    return {
      events_written: written.size,
      events_delivered: this.delivered,
      missed,
      duplicates: this.duplicates,
      out_of_order: this.outOfOrder,
      unexpected,
      exact: missed === 0 && this.duplicates === 0 && this.outOfOrder === 0 && unexpected === 0,
    };
  }
}

/**
 * Catch-up speed: a subscription from the start of a log that already holds the events
 * reads them all. This bounds how fast a projection can rebuild; the written log is
 * made quickly with appends of 100 events from concurrent writers.
 */
export const subscribeCatchUp: Scenario = {
  name: 'subscribe-catch-up',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const total = context.quick ? 10_000 : 100_000;
    const eventsPerAppend = 100;
    const appends = total / eventsPerAppend;
    const written = new Set<string>();

    const writer = await openStore(context);
    const writeStarted = process.hrtime.bigint();
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          for (let index = next++; index < appends; index = next++) {
            const events = Array.from({ length: eventsPerAppend }, () => depositEvent());
            await writer.append(`bulk-s${index}`, events, { expectedRevision: 'no_stream' });
            for (const event of events) written.add(event.id);
          }
        }),
      );
    } finally {
      await writer.close();
    }
    const writeMs = elapsedMs(writeStarted);
    context.log(`subscribe-catch-up: wrote ${total} events in ${Math.round(writeMs)} ms`);

    // A store of its own, as a projector process would have: no pool or cache is shared with the writer.
    const reader = await openStore(context, { migrate: false });
    const check = new DeliveryCheck();
    let readMs: number;
    let cpu: CpuShare | null = null;
    try {
      const head = await reader.headPosition();
      const stopMeter = context.cpu.start();
      const readStarted = process.hrtime.bigint();
      // A stall must end the run, not hang it: the check then reports what is missing.
      const subscription = reader.subscribeToAll({ from: 'start', signal: AbortSignal.timeout(120_000) });
      for await (const batch of subscription) {
        for (const event of batch) check.observe(event);
        if (check.lastPosition >= head) break;
      }
      readMs = elapsedMs(readStarted);
      cpu = stopMeter();
      await subscription.close();
    } finally {
      await reader.close();
    }
    const verdict = check.verdict(written);
    const eventsPerSecond = round(check.delivered / (readMs / 1_000), 1);
    context.log(`subscribe-catch-up: read ${check.delivered} events at ${eventsPerSecond} events/s`);
    return [
      {
        scenario: 'subscribe-catch-up',
        parameters: {
          events: total,
          events_per_append: eventsPerAppend,
          streams: appends,
          writers: WRITERS,
          subscription: "subscribeToAll({ from: 'start' }), adapter's default batch size",
        },
        events_per_second: eventsPerSecond,
        read_ms: round(readMs, 1),
        write_events_per_second: round(total / (writeMs / 1_000), 1),
        ...verdict,
        ...cpu,
        target: { every_event_exactly_once: true, strictly_increasing_positions: true },
        pass: verdict.exact,
        reference: {
          projection_rebuild_target_events_per_second: 30_000,
          note: 'ARCHITECTURE.md §8 target for a projection rebuild, which this read rate bounds from above',
        },
      },
    ];
  },
};

/**
 * The gap-safety check under load: a subscriber follows the live tail while eight
 * writers append batches of 1 to 10 events; afterwards it must have seen every written
 * event exactly once. The first tenth of the events is a warm-up for the statistics
 * (see `steadyState`), delivered and checked like the rest. Delivery latency runs from
 * the writer building its append to the subscriber receiving the event.
 */
export const subscribeUnderWriters: Scenario = {
  name: 'subscribe-under-writers',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const total = context.quick ? 10_000 : 100_000;
    const maxWriteMs = context.quick ? 3_000 : 30_000;
    const streamsPerWriter = 100;
    const writer = await openStore(context);
    const follower = await openStore(context, { migrate: false });
    const check = new DeliveryCheck();
    const deliveryMs: number[] = [];
    const written = new Set<string>();
    let appends = 0;
    let writeMs = 0;
    let caughtUp = false;
    let drainMs = 0;
    let cpu: CpuShare | null = null;
    const abort = new AbortController();
    try {
      const subscription = follower.subscribeToAll({ from: 'start', signal: abort.signal });
      const following = (async () => {
        for await (const batch of subscription) {
          const receivedAt = process.hrtime.bigint();
          for (const event of batch) {
            check.observe(event);
            const sentAt = (event.data as { sentAtNs?: string }).sentAtNs;
            if (sentAt) deliveryMs.push(elapsedMs(BigInt(sentAt), receivedAt));
          }
        }
      })();
      // Its failure is rethrown where it is awaited below; until then it must not count as unhandled.
      following.catch(() => undefined);

      const writers = new LiveWriters(writer, streamsPerWriter, (events) => {
        appends += 1;
        for (const event of events) written.add(event.id);
      });
      const writeStarted = process.hrtime.bigint();
      const deadline = writeStarted + BigInt(maxWriteMs) * 1_000_000n;
      // The first tenth is the warm-up; the subscriber checks it like the rest.
      await writers.write(total / 10, deadline);
      await steadyState(context, writer)?.();
      const stopMeter = context.cpu.start();
      await writers.write(total - written.size, deadline);
      cpu = stopMeter();
      writeMs = elapsedMs(writeStarted);

      const head = await writer.headPosition();
      const drainStarted = process.hrtime.bigint();
      for (let waited = 0; waited < 60_000 && check.lastPosition < head; waited += 10) await sleep(10);
      caughtUp = check.lastPosition >= head;
      drainMs = elapsedMs(drainStarted);
      abort.abort();
      await subscription.close();
      await following;
    } finally {
      abort.abort();
      await follower.close();
      await writer.close();
    }
    const verdict = check.verdict(written);
    context.log(
      `subscribe-under-writers: wrote ${written.size}, missed ${verdict.missed}, duplicates ${verdict.duplicates}`,
    );
    const delivery = summarise(deliveryMs);
    return [
      {
        scenario: 'subscribe-under-writers',
        parameters: {
          writers: WRITERS,
          events: total,
          events_per_append: '1..10 (seeded)',
          streams_per_writer: streamsPerWriter,
          max_write_s: maxWriteMs / 1_000,
          analyze_after_warmup: context.analyzeAfterWarmup,
          subscription: "subscribeToAll({ from: 'start' }) started before the writers, on a store of its own",
        },
        ...verdict,
        appends,
        write_events_per_second: round(written.size / (writeMs / 1_000), 1),
        caught_up: caughtUp,
        drain_after_last_write_ms: round(drainMs, 1),
        delivery_ms_p50: delivery.latency_ms_p50,
        delivery_ms_p99: delivery.latency_ms_p99,
        delivery_ms_max: delivery.latency_ms_max,
        ...cpu,
        target: { missed: 0, duplicates: 0, out_of_order: 0 },
        pass: verdict.exact && caughtUp,
        reference: {
          emmett_0_42_missed: 19_498,
          emmett_0_42_of: 100_000,
          source: 'ARCHITECTURE.md §3 (quoted, not measured here)',
        },
      },
    ];
  },
};

/**
 * Eight writers, each appending 1 to 10 events at a time to its own streams with the
 * exact revision it tracks; `write` spends a budget of events across them, until the
 * budget or the time limit runs out. Revisions persist between calls.
 */
class LiveWriters {
  private readonly random = seededRandom(20_261_123);
  private readonly revisions: bigint[][];

  constructor(
    private readonly store: PostgresEventStore,
    private readonly streamsPerWriter: number,
    private readonly onAppended: (events: NewEvent[]) => void,
  ) {
    this.revisions = Array.from({ length: WRITERS }, () => new Array<bigint>(streamsPerWriter).fill(-1n));
  }

  async write(total: number, deadline: bigint): Promise<void> {
    let remaining = total;
    await Promise.all(
      this.revisions.map(async (revisions, writerIndex) => {
        for (let turn = 0; remaining > 0 && process.hrtime.bigint() < deadline; turn += 1) {
          const count = Math.min(1 + Math.floor(this.random() * 10), remaining);
          remaining -= count;
          const slot = (turn + writerIndex) % this.streamsPerWriter;
          const sentAtNs = process.hrtime.bigint().toString();
          const events = Array.from({ length: count }, () => depositEvent({ sentAtNs }));
          const revision = revisions[slot]!;
          const result = await this.store.append(`live-w${writerIndex}s${slot}`, events, {
            expectedRevision: revision < 0n ? 'no_stream' : revision,
          });
          revisions[slot] = result.nextExpectedRevision;
          this.onAppended(events);
        }
      }),
    );
  }
}
