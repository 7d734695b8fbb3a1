import { CheckpointTracker } from './checkpoint-tracker';
import { ExecutorClosed, KeyedExecutor } from './keyed-executor';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const tick = () => new Promise((done) => setImmediate(done));

describe('KeyedExecutor', () => {
  it('runs one key in submission order, one task at a time', async () => {
    const executor = new KeyedExecutor(4);
    const order: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    let running = 0;
    let runningMax = 0;
    const tasks = gates.map((gate, index) =>
      executor.run('w1', async () => {
        running += 1;
        runningMax = Math.max(runningMax, running);
        order.push(`start ${index}`);
        await gate.promise;
        order.push(`end ${index}`);
        running -= 1;
      }),
    );
    await tick();
    // A task queued for the key while its predecessor runs must wait for it.
    const late = executor.run('w1', async () => void order.push('late'));
    gates[2]!.resolve();
    gates[1]!.resolve();
    await tick();
    expect(order).toEqual(['start 0']);
    gates[0]!.resolve();
    await Promise.all([...tasks, late]);
    expect(order).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'late']);
    expect(runningMax).toBe(1);
  });

  it('runs different keys side by side up to the concurrency, and a slow key holds up only itself', async () => {
    const executor = new KeyedExecutor(2);
    const slow = deferred();
    const finished: string[] = [];
    const stuck = executor.run('slow', async () => {
      await slow.promise;
      finished.push('slow');
    });
    const others = ['a', 'b', 'c', 'd'].map((key) => executor.run(key, async () => void finished.push(key)));
    await Promise.all(others);
    expect(finished).toEqual(['a', 'b', 'c', 'd']);
    slow.resolve();
    await stuck;
    expect(executor.size).toBe(0);
  });

  it('never runs more than the concurrency at once', async () => {
    const executor = new KeyedExecutor(3);
    let running = 0;
    let runningMax = 0;
    await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        executor.run(`k${index % 10}`, async () => {
          running += 1;
          runningMax = Math.max(runningMax, running);
          await tick();
          running -= 1;
        }),
      ),
    );
    expect(runningMax).toBe(3);
  });

  it('close rejects what has not started and waits for what runs', async () => {
    const executor = new KeyedExecutor(1);
    const gate = deferred();
    let ranSecond = false;
    const first = executor.run('a', () => gate.promise);
    const second = executor.run('b', async () => void (ranSecond = true));
    const closing = executor.close();
    await expect(second).rejects.toBeInstanceOf(ExecutorClosed);
    gate.resolve();
    await closing;
    await first;
    expect(ranSecond).toBe(false);
    await expect(executor.run('c', async () => undefined)).rejects.toBeInstanceOf(ExecutorClosed);
  });

  it('passes a task failure to its caller and goes on with the key', async () => {
    const executor = new KeyedExecutor(1);
    const failing = executor.run('a', async () => {
      throw new Error('boom');
    });
    const next = executor.run('a', async () => undefined);
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBeUndefined();
  });
});

describe('CheckpointTracker', () => {
  it('moves the mark only over a finished prefix', () => {
    const tracker = new CheckpointTracker(10n);
    for (const position of [11n, 12n, 13n, 14n]) tracker.add(position);
    tracker.complete(13n);
    tracker.complete(12n);
    expect(tracker.safe).toBe(10n);
    tracker.complete(11n);
    expect(tracker.safe).toBe(13n);
    expect(tracker.inFlight).toBe(1);
    tracker.complete(14n);
    expect(tracker.safe).toBe(14n);
    expect(tracker.inFlight).toBe(0);
  });

  it('refuses positions out of order and completions of unknown positions', () => {
    const tracker = new CheckpointTracker(5n);
    expect(() => tracker.add(5n)).toThrow(RangeError);
    tracker.add(7n);
    expect(() => tracker.complete(6n)).toThrow(RangeError);
  });

  it('makes room as the mark moves, and gives up waiting when aborted', async () => {
    const tracker = new CheckpointTracker(0n);
    tracker.add(1n);
    tracker.add(2n);
    let roomy = false;
    const waiting = tracker.waitForRoom(2).then(() => (roomy = true));
    await tick();
    tracker.complete(2n);
    await tick();
    expect(roomy).toBe(false);
    tracker.complete(1n);
    await waiting;
    expect(roomy).toBe(true);

    tracker.add(3n);
    tracker.add(4n);
    const abort = new AbortController();
    const aborted = tracker.waitForRoom(1, abort.signal);
    abort.abort();
    await expect(aborted).resolves.toBeUndefined();
  });

  it('tells listeners where the mark went', () => {
    const tracker = new CheckpointTracker(0n);
    const marks: bigint[] = [];
    tracker.onAdvance((safe) => marks.push(safe));
    tracker.add(3n);
    tracker.add(8n);
    tracker.complete(8n);
    tracker.complete(3n);
    expect(marks).toEqual([8n]);
  });
});
