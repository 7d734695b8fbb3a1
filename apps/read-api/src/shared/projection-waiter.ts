import { performance } from 'node:perf_hooks';
import { ApiError } from '@ledger/platform';
import type { Checkpoint, CheckpointReader } from './checkpoints';

interface Waiter {
  projections: readonly string[];
  minPosition: bigint;
  deadlineMs: number;
  resolve(): void;
  reject(error: unknown): void;
}

export interface ProjectionWaiterOptions {
  timeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Read-your-writes for `minPosition`: holds a read until every projection it depends on has
 * checkpointed at or past the position a command returned, or answers 503
 * `projection_behind` after `timeoutMs`.
 *
 * It polls `projection_checkpoints` rather than LISTENing, so it needs nothing from the
 * projectors (no NOTIFY) and no dedicated connection, and a missed notification cannot
 * strand a request. The cost is bounded: one query per poll interval for all waiting
 * requests together, and none at all while nobody waits. A request whose position is
 * already projected pays one indexed lookup and never waits.
 */
export class ProjectionWaiter {
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  constructor(
    private readonly checkpoints: CheckpointReader,
    private readonly options: ProjectionWaiterOptions,
  ) {}

  /** Resolves once every projection in `projections` is at `minPosition` or later. */
  async waitFor(projections: readonly string[], minPosition: string | undefined): Promise<void> {
    if (minPosition === undefined || projections.length === 0) return;
    const target = BigInt(minPosition);
    const deadlineMs = performance.now() + this.options.timeoutMs;
    if (reached(projections, target, await this.checkpoints.read(projections))) return;
    if (this.closed) throw shuttingDown();
    await new Promise<void>((resolve, reject) => {
      this.waiters.add({ projections, minPosition: target, deadlineMs, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses every waiting read: the app is closing and its pool is about to go. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.waiters) waiter.reject(shuttingDown());
    this.waiters.clear();
  }

  private schedule(): void {
    if (this.timer || this.polling || this.waiters.size === 0 || this.closed) return;
    const now = performance.now();
    const nearestDeadline = Math.min(...[...this.waiters].map((w) => w.deadlineMs));
    // Wake at the deadline, not a poll later, so the timeout the client sees is the documented one.
    const delay = Math.max(0, Math.min(this.options.pollIntervalMs, nearestDeadline - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, delay);
  }

  private async poll(): Promise<void> {
    this.polling = true;
    const waiting = [...this.waiters];
    try {
      const names = [...new Set(waiting.flatMap((w) => w.projections))];
      const checkpoints = await this.checkpoints.read(names);
      const now = performance.now();
      for (const waiter of waiting) {
        if (reached(waiter.projections, waiter.minPosition, checkpoints)) {
          this.settle(waiter, () => waiter.resolve());
        } else if (now >= waiter.deadlineMs) {
          this.settle(waiter, () => waiter.reject(projectionBehind(waiter, checkpoints)));
        }
      }
    } catch (error) {
      // The database failed the poll: every waiter gets the error, which the error mapper
      // turns into a 503, rather than waiting out a timeout that would hide the cause.
      for (const waiter of waiting) this.settle(waiter, () => waiter.reject(error));
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  private settle(waiter: Waiter, done: () => void): void {
    if (this.waiters.delete(waiter)) done();
  }
}

function reached(projections: readonly string[], minPosition: bigint, checkpoints: ReadonlyMap<string, Checkpoint>): boolean {
  return projections.every((projection) => (checkpoints.get(projection)?.position ?? -1n) >= minPosition);
}

function projectionBehind(waiter: Waiter, checkpoints: ReadonlyMap<string, Checkpoint>): ApiError {
  // The projection furthest behind is the one the client is waiting for; none at all ranks lowest.
  const standing = waiter.projections.map((projection) => ({ projection, position: checkpoints.get(projection)?.position ?? null }));
  const behind = standing.reduce((a, b) => ((b.position ?? -1n) < (a.position ?? -1n) ? b : a));
  return new ApiError(
    503,
    'projection_behind',
    'The read model has not reached minPosition yet; retry after the time in the Retry-After header.',
    { minPosition: waiter.minPosition.toString(), position: behind.position?.toString() ?? null, projection: behind.projection },
    { 'Retry-After': '1' },
  );
}

function shuttingDown(): ApiError {
  return new ApiError(503, 'shutting_down', 'The read API is shutting down; retry the request.', {}, { 'Retry-After': '1' });
}
