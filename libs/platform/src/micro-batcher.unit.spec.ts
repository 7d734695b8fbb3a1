import fc from 'fast-check';
import { MicroBatcher } from './micro-batcher';

/** A controllable `run`: each call waits until the test releases it. */
function gatedRun() {
  const calls: Array<{ items: readonly string[]; release: () => void; fail: (error: Error) => void }> = [];
  const run = (items: readonly string[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, release: () => resolve(items.map((item) => `done:${item}`)), fail: reject });
    });
  return { calls, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('MicroBatcher', () => {
  it('sends a lone item at once and queues the rest behind the batch in flight', async () => {
    const { calls, run } = gatedRun();
    const batcher = new MicroBatcher(run, { maxBatchSize: 10, maxInFlight: 1 });
    const first = batcher.submit('a');
    const later = ['b', 'c', 'd'].map((item) => batcher.submit(item));
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a']]);
    calls[0]!.release();
    await expect(first).resolves.toBe('done:a');
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b', 'c', 'd']]);
    calls[1]!.release();
    await expect(Promise.all(later)).resolves.toEqual(['done:b', 'done:c', 'done:d']);
  });

  it('caps the batch size and the batches in flight', async () => {
    const { calls, run } = gatedRun();
    const batcher = new MicroBatcher(run, { maxBatchSize: 2, maxInFlight: 2 });
    const all = ['a', 'b', 'c', 'd', 'e', 'f'].map((item) => batcher.submit(item));
    await tick();
    // Two slots: the first two items leave at once, alone; the rest wait.
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b']]);
    calls[0]!.release();
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b'], ['c', 'd']]);
    calls[1]!.release();
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b'], ['c', 'd'], ['e', 'f']]);
    calls[2]!.release();
    calls[3]!.release();
    await expect(Promise.all(all)).resolves.toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((item) => `done:${item}`));
  });

  it('rejects every item of a failed batch and carries on with the next', async () => {
    const { calls, run } = gatedRun();
    const batcher = new MicroBatcher(run, { maxBatchSize: 10, maxInFlight: 1 });
    const first = batcher.submit('a');
    const second = batcher.submit('b');
    await tick();
    calls[0]!.fail(new Error('connection lost'));
    await expect(first).rejects.toThrow('connection lost');
    await tick();
    calls[1]!.release();
    await expect(second).resolves.toBe('done:b');
  });

  it('refuses a run that returns the wrong number of results', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new MicroBatcher(
      async (items: readonly string[]) => {
        await gate;
        return items.length === 1 ? ['only one'] : ['too few'];
      },
      { maxBatchSize: 10, maxInFlight: 1 },
    );
    const first = batcher.submit('a');
    const queued = Promise.all([batcher.submit('b'), batcher.submit('c')]);
    release();
    await expect(first).resolves.toBe('only one');
    await expect(queued).rejects.toThrow('a batch of 2 returned 1 results');
  });

  it('never puts two items with one key in a batch or in flight at once, and keeps their order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }),
        async (keys, maxInFlight, maxBatchSize) => {
          const inFlight = new Set<string>();
          const order: string[] = [];
          const batcher = new MicroBatcher<{ key: string; index: number }, number>(
            async (items) => {
              const batchKeys = items.map((item) => item.key);
              expect(new Set(batchKeys).size).toBe(batchKeys.length);
              for (const key of batchKeys) {
                expect(inFlight.has(key)).toBe(false);
                inFlight.add(key);
              }
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 2));
              for (const item of items) {
                inFlight.delete(item.key);
                order.push(`${item.key}#${item.index}`);
              }
              return items.map((item) => item.index);
            },
            { maxBatchSize, maxInFlight, keyOf: (item) => item.key },
          );
          const results = await Promise.all(keys.map((key, index) => batcher.submit({ key, index })));
          expect(results).toEqual(keys.map((_key, index) => index));
          for (const key of new Set(keys)) {
            const indices = order.filter((entry) => entry.startsWith(`${key}#`)).map((entry) => Number(entry.split('#')[1]));
            expect(indices).toEqual([...indices].sort((a, b) => a - b));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
