import type { EventStore, RecordedEvent } from '@ledger/event-store';
import type { LogPoint } from './parse';

/**
 * The global position of the last event recorded at or before `time` (`inclusive`), or
 * strictly before it; 0 when there is none.
 *
 * The port has no index by time, so this is a binary search over positions with one-event
 * reads (`readAll(p, 1)` returns the first event after p): about log2(head) reads, which
 * also works on EventStoreDB's sparse commit positions. It assumes recorded times do not
 * decrease along the log. They follow commit order up to the skew between transactions
 * that commit together or out of start order (PostgreSQL's `now()` is the transaction's
 * start), milliseconds at most, so an instant inside such a skew may land one side or the
 * other of events recorded in the same millisecond.
 */
export async function positionAtTime(store: EventStore, time: Date, inclusive = true): Promise<bigint> {
  const head = await store.headPosition();
  if (head < 1n) return 0n;
  const before = (event: RecordedEvent) =>
    inclusive ? event.recordedAt.getTime() <= time.getTime() : event.recordedAt.getTime() < time.getTime();
  // Invariant: the answer is in [low, high); low is 0 or the position of an event that qualifies.
  let low = 0n;
  let high = head + 1n;
  while (high - low > 1n) {
    const middle = (low + high) / 2n;
    const [event] = await store.readAll(middle - 1n === 0n ? 'start' : middle - 1n, 1);
    if (event === undefined || event.globalPosition >= high) {
      high = middle;
    } else if (before(event)) {
      low = event.globalPosition;
    } else {
      high = middle;
    }
  }
  return low;
}

/** A log point as a position: positions as given, times by `positionAtTime`. */
export async function resolveLogPoint(store: EventStore, point: LogPoint, inclusive = true): Promise<bigint> {
  return point.kind === 'position' ? point.position : positionAtTime(store, point.time, inclusive);
}

/**
 * Reads the global log after `after` up to and including `until`, page by page: only one
 * page is in memory at a time, and the next is read while the caller works on this one.
 */
export async function* readLog(
  store: EventStore,
  options: { after: bigint; until: bigint; pageSize?: number; signal?: AbortSignal },
): AsyncGenerator<readonly RecordedEvent[]> {
  const pageSize = options.pageSize ?? 5_000;
  let after = options.after;
  if (after >= options.until) return;
  let next: Promise<RecordedEvent[]> | null = store.readAll(after === 0n ? 'start' : after, pageSize);
  while (next !== null) {
    const page: RecordedEvent[] = await next;
    next = null;
    const wanted = page.filter((event) => event.globalPosition <= options.until);
    if (wanted.length === 0) return;
    after = wanted[wanted.length - 1]!.globalPosition;
    if (page.length === pageSize && wanted.length === page.length && after < options.until && !options.signal?.aborted) {
      next = store.readAll(after, pageSize);
      next.catch(() => undefined);
    }
    yield wanted;
    if (options.signal?.aborted) return;
  }
}
