import { EventStoreUnavailable } from './errors';
import type { RecordedEvent, Subscription } from './port';

export interface PollingSubscriptionSource {
  from: bigint | 'start';
  batchSize: number;
  signal?: AbortSignal;
  /** Reads the global log strictly after a position. */
  read(after: bigint | 'start', limit: number): Promise<RecordedEvent[]>;
  /** Resolves when an append past `after` may have committed, after a timeout, or on abort. */
  waitForAppend(after: bigint | 'start', signal: AbortSignal): Promise<void>;
}

const RETRY_DELAY_MS_MAX = 5_000;

/**
 * A catch-up subscription over a gap-safe log: read a batch after the last delivered
 * position; when the log is drained, wait for the next append and read again. Because
 * the log never shows position P before every position below P, "strictly after the
 * last delivered position" is the whole protocol: no event is skipped or repeated.
 *
 * A store that goes away (restart, failover) is retried with capped backoff from the
 * last delivered position; any other error ends the iteration with that error.
 */
export class PollingSubscription implements Subscription {
  private readonly abortController = new AbortController();

  constructor(private readonly source: PollingSubscriptionSource) {
    if (source.signal) {
      if (source.signal.aborted) this.abortController.abort();
      else source.signal.addEventListener('abort', () => this.abortController.abort(), { once: true });
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<readonly RecordedEvent[]> {
    const signal = this.abortController.signal;
    let after = this.source.from;
    let failures = 0;
    while (!signal.aborted) {
      let batch: RecordedEvent[];
      try {
        batch = await this.source.read(after, this.source.batchSize);
        failures = 0;
      } catch (error) {
        if (!(error instanceof EventStoreUnavailable) || signal.aborted) {
          if (signal.aborted) return;
          throw error;
        }
        failures += 1;
        await sleep(Math.min(RETRY_DELAY_MS_MAX, 50 * 2 ** failures), signal);
        continue;
      }
      if (signal.aborted) return;
      if (batch.length === 0) {
        await this.source.waitForAppend(after, signal);
        continue;
      }
      after = batch[batch.length - 1]!.globalPosition;
      yield batch;
    }
  }

  async close(): Promise<void> {
    this.abortController.abort();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}
