import { EventStoreTimeout } from '../errors';

export interface TimeoutOptions {
  /** Names the operation in the `EventStoreTimeout` error. */
  operation: string;
  /** When the backstop fires. */
  timeoutMs: number;
  /**
   * The deadline reported to the caller, when it differs from `timeoutMs`: a backstop
   * set a little after the client's own gRPC deadline still reports the configured value.
   */
  reportedTimeoutMs?: number;
  /** Runs once when the backstop fires, to cancel the work and release what it holds. */
  onTimeout?: () => void;
}

/**
 * Settles with `work`, or rejects with `EventStoreTimeout` once `timeoutMs` has passed.
 *
 * This is the backstop behind the client's own deadlines: `@eventstore/db-client` sends
 * its first call (the server-features request) with no deadline, and its reads and
 * subscriptions run with an infinite one, so a listener that accepts TCP but never
 * speaks gRPC would otherwise hold a caller forever. The timer is cleared as soon as
 * `work` settles, so a finished call leaves nothing behind that keeps Node running, and
 * a rejection of `work` that arrives after the timeout is absorbed rather than reported
 * as unhandled.
 */
export function withTimeout<T>(work: Promise<T>, options: TimeoutOptions): Promise<T> {
  const { operation, timeoutMs, onTimeout } = options;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new EventStoreTimeout(operation, options.reportedTimeoutMs ?? timeoutMs));
      try {
        onTimeout?.();
      } catch {
        // Cleanup is best effort; the caller already has its answer.
      }
    }, timeoutMs);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or less when `signal` aborts; never rejects, so callers re-check their own state. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal?.aborted) {
      done();
      return;
    }
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    signal?.addEventListener('abort', finish, { once: true });
  });
}
