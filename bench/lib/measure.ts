import type { CpuMeter, CpuShare } from './cpu';

/** How long each data point warms up and then measures. */
export interface Timing {
  warmupMs: number;
  measureMs: number;
}

export interface LatencySummary {
  samples: number;
  latency_ms_p50: number;
  latency_ms_p99: number;
  latency_ms_max: number;
}

export interface LoopResult extends LatencySummary {
  /** Operations that completed inside the measurement window. */
  operations: number;
  operations_per_second: number;
  /** How busy the machine was during the window, and with what (null without /proc). */
  cpu: CpuShare | null;
}

export interface LoopOptions {
  /** Runs between the warm-up and the window, with the workers paused. */
  afterWarmup?: () => Promise<void>;
  meter?: CpuMeter;
}

/** Milliseconds between two `process.hrtime.bigint()` readings. */
export function elapsedMs(from: bigint, to: bigint = process.hrtime.bigint()): number {
  return Number(to - from) / 1e6;
}

/**
 * Nearest-rank percentiles over every sample: no histogram buckets and no sampling, so
 * p99 and max are the values actually observed.
 */
export function summarise(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const rank = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!);
  return {
    samples: sorted.length,
    latency_ms_p50: round(rank(50), 3),
    latency_ms_p99: round(rank(99), 3),
    latency_ms_max: round(sorted.length === 0 ? 0 : sorted[sorted.length - 1]!, 3),
  };
}

/**
 * Runs `workers` closed loops of `operation`: first a warm-up, then `afterWarmup` with
 * the workers paused, then the measurement window. An operation counts when it
 * completes inside the window; its latency is the time from its call to its completion.
 * Workers stop calling at the end of a phase and the loop waits for the calls still in
 * flight, which the window does not count.
 */
export async function closedLoop(
  workers: number,
  timing: Timing,
  operation: (worker: number) => Promise<void>,
  options: LoopOptions = {},
): Promise<LoopResult> {
  await phase(workers, timing.warmupMs, operation);
  if (options.afterWarmup) await options.afterWarmup();
  const stopMeter = options.meter?.start();
  const samples = await phase(workers, timing.measureMs, operation);
  return {
    operations: samples.length,
    operations_per_second: round(samples.length / (timing.measureMs / 1_000), 1),
    ...summarise(samples),
    cpu: stopMeter?.() ?? null,
  };
}

async function phase(workers: number, durationMs: number, operation: (worker: number) => Promise<void>) {
  const end = process.hrtime.bigint() + BigInt(durationMs) * 1_000_000n;
  const samples: number[] = [];
  const loop = async (worker: number) => {
    for (;;) {
      const calledAt = process.hrtime.bigint();
      if (calledAt >= end) return;
      await operation(worker);
      const doneAt = process.hrtime.bigint();
      if (doneAt < end) samples.push(elapsedMs(calledAt, doneAt));
    }
  };
  await Promise.all(Array.from({ length: workers }, (_unused, worker) => loop(worker)));
  return samples;
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * A small deterministic generator (mulberry32): runs draw the same batch sizes, so two
 * runs differ in the system measured, not in the workload.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
