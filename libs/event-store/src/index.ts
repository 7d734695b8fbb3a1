export * from './port';
export * from './errors';
export { STREAM_NAME_PATTERN, EVENT_TYPE_PATTERN, validateAppend, serialise } from './validation';
export { PollingSubscription } from './subscription';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store';
export { migrateEventStore } from './postgres/migrate';
export { StreamCommandQueue, type QueueDecider, type StreamCommandQueueOptions, type CommandOutcome } from './stream-command-queue';
export { connectEventStore, type ConnectEventStoreOptions } from './connect';
