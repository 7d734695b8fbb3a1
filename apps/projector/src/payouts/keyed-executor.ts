/** Raised for work that never started because the executor was closed. */
export class ExecutorClosed extends Error {
  override readonly name = 'ExecutorClosed';
  constructor() {
    super('the executor was closed before this task started');
  }
}

interface Task {
  work(): Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Runs tasks with bounded concurrency across keys and strictly in submission order within
 * one key. The payout process manager keys its reactions by withdrawal id: the reactions to
 * one withdrawal must happen in log order (a settlement before its return), while a slow
 * provider behind one withdrawal must not hold up the reactions to the others.
 *
 * A key waiting for a free slot holds no slot, so a thousand queued reactions for one
 * stuck withdrawal cost memory, not concurrency. Slots are handed to keys in the order they
 * became ready, so no key starves.
 */
export class KeyedExecutor {
  private readonly queues = new Map<string, Task[]>();
  /** Keys with waiting tasks and no task running, in the order they became ready. */
  private readonly ready: string[] = [];
  private readonly running = new Set<string>();
  private readonly idleWaiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  /** Resolves or rejects with the task's own outcome once it ran; rejects with `ExecutorClosed` if it never will. */
  run(key: string, work: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new ExecutorClosed());
    return new Promise<void>((resolve, reject) => {
      const task: Task = { work, resolve, reject };
      const queue = this.queues.get(key);
      if (queue) {
        queue.push(task);
        return;
      }
      this.queues.set(key, [task]);
      // A key whose task is running becomes ready again when that task ends, not before.
      if (this.running.has(key)) return;
      this.ready.push(key);
      this.pump();
    });
  }

  /** Tasks queued or running. */
  get size(): number {
    let size = 0;
    for (const queue of this.queues.values()) size += queue.length;
    return size + this.running.size;
  }

  /** True while a task for `key` is queued or running. */
  has(key: string): boolean {
    return this.queues.has(key) || this.running.has(key);
  }

  /**
   * Starts nothing new: tasks not yet started reject with `ExecutorClosed`. Resolves once
   * the tasks already running have finished.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const [key, queue] of this.queues) {
      for (const task of queue) task.reject(new ExecutorClosed());
      this.queues.delete(key);
    }
    this.ready.length = 0;
    await this.idle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((done) => this.idleWaiters.add(done));
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      const queue = this.queues.get(key);
      const task = queue?.shift();
      if (!queue || !task) continue;
      if (queue.length === 0) this.queues.delete(key);
      this.running.add(key);
      // The books are settled before the caller hears the outcome, so a caller that looks
      // at `size` or `has` right after its task sees it gone.
      const settle = (outcome: () => void) => {
        this.running.delete(key);
        // The key's next task queues behind the keys that became ready meanwhile.
        if (this.queues.has(key)) this.ready.push(key);
        this.pump();
        outcome();
        if (this.size === 0) {
          for (const wake of [...this.idleWaiters]) wake();
          this.idleWaiters.clear();
        }
      };
      let started: Promise<void>;
      try {
        started = task.work();
      } catch (error) {
        started = Promise.reject(error);
      }
      started.then(
        () => settle(() => task.resolve()),
        (error: unknown) => settle(() => task.reject(error)),
      );
    }
  }
}
