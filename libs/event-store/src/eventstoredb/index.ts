export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb-event-store';
export type { EventStoreDbClientFactory, EventStoreDbClientLike } from './client';
export {
  DEFAULT_EVENTSTOREDB_TIMEOUT_MS,
  isTransientEventStoreDbError,
  mapEventStoreDbError,
} from './error-mapping';
