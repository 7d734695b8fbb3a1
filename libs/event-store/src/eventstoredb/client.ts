import type { EventStoreDBClient } from '@eventstore/db-client';
import { withTimeout } from './timeout';

/**
 * The part of `EventStoreDBClient` the adapter uses. Naming it keeps the adapter honest
 * about its dependency surface, and lets tests substitute an in-memory client.
 */
export type EventStoreDbClientLike = Pick<
  EventStoreDBClient,
  'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'
>;

/** Builds a client; called once at start and again whenever a wedged client is replaced. */
export type EventStoreDbClientFactory = () => EventStoreDbClientLike;

/**
 * Releases everything a client holds, within `timeoutMs`.
 *
 * `dispose()` cancels the client's streaming calls but leaves its gRPC channel open,
 * and a unary call queued on a channel that never finished connecting (the
 * server-features request the client sends without a deadline, against a listener
 * that accepted TCP but never spoke HTTP/2) keeps a referenced timer alive: Node would
 * never exit. Closing the channel fails such calls at once. The client exposes its
 * channel only through the protected `getChannel`, so it is reached by name here and
 * skipped when absent (an in-memory client, or a client version without it).
 */
export async function releaseClient(client: EventStoreDbClientLike, timeoutMs: number): Promise<void> {
  await withTimeout(client.dispose(), { operation: 'close', timeoutMs }).catch(() => undefined);
  const getChannel = (client as { getChannel?: unknown }).getChannel;
  if (typeof getChannel !== 'function') return;
  let channel: Promise<{ close(): void }>;
  try {
    channel = Promise.resolve((getChannel as () => Promise<{ close(): void }>).call(client));
  } catch {
    return;
  }
  // A channel still being discovered is closed whenever discovery ends, even after we
  // stop waiting for it.
  const closed = channel.then((resolved) => resolved.close());
  await withTimeout(closed, { operation: 'close', timeoutMs }).catch(() => undefined);
}
