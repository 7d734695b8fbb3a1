export * from './port';
export * from './errors';
export { STREAM_NAME_PATTERN, EVENT_TYPE_PATTERN, validateAppend, serialise } from './validation';
export { PollingSubscription } from './subscription';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store';
export { migrateEventStore } from './postgres/migrate';
