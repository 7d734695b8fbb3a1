/**
 * Group commit for independent statements. Callers submit one item each; while a batch is
 * on its way to the database, new items queue, and the next batch takes them all in one
 * statement (one round trip, one commit, one WAL flush). An idle system sends each item at
 * once, so batching adds no latency; a busy one turns N commits into one.
 *
 * Items with the same `keyOf` never share a batch: a multi-row upsert may touch a row only
 * once, and two operations on one key must stay in the order they were submitted.
 */
export interface MicroBatcherOptions<In> {
  /** Largest batch; the rest waits for the next. */
  maxBatchSize: number;
  /** Batches on their way at once. More overlaps round trips; 1 batches the most. */
  maxInFlight: number;
  /** Items with equal keys go to different batches, in submission order. */
  keyOf?: (item: In) => string;
}

interface Pending<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<In, Out> {
  private readonly queue: Array<Pending<In, Out>> = [];
  private inFlight = 0;
  /** Keys of the items in batches on their way: their successors wait until those land. */
  private readonly keysInFlight = new Map<string, number>();

  /** `run` gets a batch and returns one result per item, in order, or throws for them all. */
  constructor(
    private readonly run: (items: readonly In[]) => Promise<readonly Out[]>,
    private readonly options: MicroBatcherOptions<In>,
  ) {
    if (!Number.isSafeInteger(options.maxBatchSize) || options.maxBatchSize < 1) throw new RangeError('maxBatchSize must be a positive integer');
    if (!Number.isSafeInteger(options.maxInFlight) || options.maxInFlight < 1) throw new RangeError('maxInFlight must be a positive integer');
  }

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) return; // Every queued key is in flight; a landing batch pumps again.
      this.inFlight += 1;
      void this.send(batch);
    }
  }

  /** The next batch: queued items in order, skipping any whose key is already in it. */
  private take(): Array<Pending<In, Out>> {
    const { keyOf, maxBatchSize } = this.options;
    if (!keyOf) return this.queue.splice(0, maxBatchSize);
    const batch: Array<Pending<In, Out>> = [];
    // A key seen in this pass blocks later items with the same key even if it was not taken,
    // so no item overtakes an earlier one with its key.
    const seen = new Set<string>();
    for (let index = 0; index < this.queue.length && batch.length < maxBatchSize; ) {
      const key = keyOf(this.queue[index]!.item);
      if (seen.has(key) || this.keysInFlight.has(key)) {
        seen.add(key);
        index += 1;
        continue;
      }
      seen.add(key);
      this.keysInFlight.set(key, (this.keysInFlight.get(key) ?? 0) + 1);
      batch.push(this.queue.splice(index, 1)[0]!);
    }
    return batch;
  }

  private async send(batch: Array<Pending<In, Out>>): Promise<void> {
    try {
      const results = await this.run(batch.map((pending) => pending.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} returned ${results.length} results`);
      batch.forEach((pending, index) => pending.resolve(results[index]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.inFlight -= 1;
      if (this.options.keyOf) {
        for (const pending of batch) {
          const key = this.options.keyOf(pending.item);
          const count = (this.keysInFlight.get(key) ?? 1) - 1;
          if (count === 0) this.keysInFlight.delete(key);
          else this.keysInFlight.set(key, count);
        }
      }
      this.pump();
    }
  }
}
