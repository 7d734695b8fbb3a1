/** Injection token of the process's one EventStore (PostgreSQL or EventStoreDB adapter). */
export const EVENT_STORE = Symbol('EVENT_STORE');
