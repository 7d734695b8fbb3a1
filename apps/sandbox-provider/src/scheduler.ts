/** What a flush did: how many tasks it ran and how many remain scheduled for later. */
export interface FlushReport {
  ran: number;
  remaining: number;
}

interface Task {
  readonly id: number;
  readonly dueAtMs: number;
  readonly run: () => Promise<void>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Timed work of the simulated provider (settlements, returns, callback deliveries) with a
 * way to wait for it: `flush` runs every task due by a cutoff, early if its timer has not
 * fired yet, and waits for them and for whatever they schedule that is also due by then.
 * Tests then assert on the provider's state without sleeping for guessed durations.
 */
export class Scheduler {
  private readonly tasks = new Map<number, Task>();
  private readonly running = new Set<Promise<void>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly onError: (error: unknown) => void) {}

  get pending(): number {
    return this.tasks.size + this.running.size;
  }

  schedule(delayMs: number, run: () => Promise<void>): void {
    if (this.closed) return;
    const task: Task = { id: this.nextId++, dueAtMs: Date.now() + Math.max(0, delayMs), run, timer: undefined };
    task.timer = setTimeout(() => this.start(task), Math.max(0, delayMs));
    this.tasks.set(task.id, task);
  }

  /**
   * Runs every task due by `cutoffMs` (default: now; `Infinity`: everything) and waits until
   * none is due or running. Tasks scheduled meanwhile for later than the cutoff stay scheduled.
   */
  async flush(cutoffMs: number = Date.now()): Promise<FlushReport> {
    let ran = 0;
    for (;;) {
      const due = [...this.tasks.values()].filter((task) => task.dueAtMs <= cutoffMs).sort((a, b) => a.dueAtMs - b.dueAtMs || a.id - b.id);
      for (const task of due) {
        this.start(task);
        ran += 1;
      }
      if (this.running.size === 0) break;
      await Promise.allSettled([...this.running]);
    }
    return { ran, remaining: this.tasks.size };
  }

  /** Drops everything scheduled and waits for what is running (the caller aborts its I/O). */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    this.tasks.clear();
    await Promise.allSettled([...this.running]);
  }

  private start(task: Task): void {
    if (!this.tasks.delete(task.id)) return;
    clearTimeout(task.timer);
    const running: Promise<void> = Promise.resolve()
      .then(task.run)
      .catch(this.onError)
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }
}
