/**
 * The low-water mark of reactions that completed out of order. Events enter in log order
 * (`add`); their reactions finish in any order (`complete`); `safe` is the highest position
 * P such that every event at or below P has completed. Only `safe` may become the
 * checkpoint: a restart then replays every event whose reaction might not have finished,
 * and never skips one.
 *
 * Positions that entered and completed are forgotten as the mark passes them, so memory is
 * bounded by the events in flight, which the caller bounds with `waitForRoom`.
 */
export class CheckpointTracker {
  /** Positions added and not yet passed by the mark, in log order, with their completion. */
  private readonly pending: Array<{ position: bigint; done: boolean }> = [];
  private mark: bigint;
  private last: bigint;
  private readonly roomWaiters: Array<{ limit: number; wake: () => void }> = [];
  private readonly advanceListeners = new Set<(safe: bigint) => void>();

  constructor(start: bigint) {
    this.mark = start;
    this.last = start;
  }

  /** The checkpoint that is safe to commit. */
  get safe(): bigint {
    return this.mark;
  }

  /** Events added and not yet passed by the mark (completed ones behind a slow one count). */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Registers the next event of the log. Positions must increase. */
  add(position: bigint): void {
    if (position <= this.last) throw new RangeError(`position ${position} is not after ${this.last}`);
    this.last = position;
    this.pending.push({ position, done: false });
  }

  /** Marks an event's reaction as finished and moves the mark over every finished prefix. */
  complete(position: bigint): void {
    const entry = this.find(position);
    if (!entry) throw new RangeError(`position ${position} is not in flight`);
    entry.done = true;
    let passed = 0;
    while (passed < this.pending.length && this.pending[passed]!.done) passed += 1;
    if (passed === 0) return;
    this.mark = this.pending[passed - 1]!.position;
    this.pending.splice(0, passed);
    for (const listener of this.advanceListeners) listener(this.mark);
    this.wakeRoomWaiters();
  }

  /** Resolves once fewer than `limit` events are in flight, or when `signal` aborts. */
  waitForRoom(limit: number, signal?: AbortSignal): Promise<void> {
    if (this.pending.length < limit || signal?.aborted) return Promise.resolve();
    return new Promise((done) => {
      const waiter = {
        limit,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          done();
        },
      };
      const onAbort = () => {
        const index = this.roomWaiters.indexOf(waiter);
        if (index >= 0) this.roomWaiters.splice(index, 1);
        done();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.roomWaiters.push(waiter);
    });
  }

  /** Calls `listener` with the new mark every time it moves; returns the unsubscribe function. */
  onAdvance(listener: (safe: bigint) => void): () => void {
    this.advanceListeners.add(listener);
    return () => this.advanceListeners.delete(listener);
  }

  private find(position: bigint): { position: bigint; done: boolean } | undefined {
    // Binary search: `pending` is sorted by position.
    let low = 0;
    let high = this.pending.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const entry = this.pending[middle]!;
      if (entry.position === position) return entry;
      if (entry.position < position) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  private wakeRoomWaiters(): void {
    for (let index = this.roomWaiters.length - 1; index >= 0; index -= 1) {
      const waiter = this.roomWaiters[index]!;
      if (this.pending.length < waiter.limit) {
        this.roomWaiters.splice(index, 1);
        waiter.wake();
      }
    }
  }
}
