import type { EventStore } from './port';
import { PostgresEventStore } from './postgres/postgres-event-store';

export interface ConnectEventStoreOptions {
  /** PostgreSQL connection string; the event store lives in its `event_store` schema. */
  databaseUrl: string;
  /** When set (`esdb://…`), the EventStoreDB adapter is used instead. */
  eventStoreUrl?: string;
  /** Our own deadline on every EventStoreDB call. */
  eventStoreTimeoutMs?: number;
}

/**
 * Opens the configured adapter. The EventStoreDB client (gRPC) is loaded only when it is
 * chosen, and its first call is made here so an unreachable server fails the start.
 */
export async function connectEventStore(options: ConnectEventStoreOptions): Promise<EventStore> {
  if (!options.eventStoreUrl) return PostgresEventStore.create({ connectionString: options.databaseUrl });
  const { EventStoreDbEventStore } = await import('./eventstoredb');
  const store = EventStoreDbEventStore.connect(options.eventStoreUrl, { timeoutMs: options.eventStoreTimeoutMs });
  try {
    await store.headPosition();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}
