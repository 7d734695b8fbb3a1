import { v5 as uuidv5 } from 'uuid';
import {
  EVENT_SCHEMA_VERSIONS,
  foldEvents,
  isLedgerEventType,
  reconciliationDecider,
  type ReconciliationEvent,
  type ReconciliationState,
} from '@ledger/domain';
import type { EventMetadata, EventStore, ExpectedRevision, NewEvent, RecordedEvent } from '@ledger/event-store';

/**
 * The UUID v5 namespace of the event ids of statement imports. Fixed forever: an import
 * retried after a crash must derive the ids it derived the first time. A random v4 UUID
 * chosen once for this purpose and used nowhere else.
 */
export const RECONCILIATION_EVENT_ID_NAMESPACE = '6f1c2b8e-3d4a-4f7b-9c0e-5a2d8e1b7c43';

/** A reconciliation stream as read: its events, the state they fold into, and where to append next. */
export interface LoadedStream {
  readonly streamName: string;
  /** The stream's events as recorded, each with its domain event. */
  readonly entries: ReadonlyArray<{ readonly recorded: RecordedEvent; readonly event: ReconciliationEvent }>;
  readonly state: ReconciliationState;
  readonly expectedRevision: ExpectedRevision;
}

export async function loadReconciliationStream(store: EventStore, streamName: string): Promise<LoadedStream> {
  const recorded = await store.readStream(streamName);
  const entries = recorded
    .filter((event) => isLedgerEventType(event.type))
    .map((event) => ({ recorded: event, event: { type: event.type, data: event.data } as ReconciliationEvent }));
  const last = recorded[recorded.length - 1];
  return {
    streamName,
    entries,
    state: foldEvents(
      reconciliationDecider,
      entries.map((entry) => entry.event),
    ),
    expectedRevision: last === undefined ? 'no_stream' : last.streamRevision,
  };
}

/**
 * The id of the n-th event of a statement's import: UUID v5 of the stream, the statement and
 * the index. Event ids are unique across the store (ADR 0005) and the same file may be
 * imported for two days (an empty statement, say), so the stream is part of the name.
 */
export function importEventId(streamName: string, statementId: string, index: number): string {
  return uuidv5(`${streamName}\n${statementId}\n${index}`, RECONCILIATION_EVENT_ID_NAMESPACE);
}

/** Domain events as the store takes them, with the schema version in metadata as every writer puts it. */
export function toNewEvents(events: readonly ReconciliationEvent[], ids: (index: number) => string, metadata: EventMetadata): NewEvent[] {
  return events.map((event, index) => ({
    id: ids(index),
    type: event.type,
    data: event.data,
    metadata: { ...metadata, schemaVersion: EVENT_SCHEMA_VERSIONS[event.type] },
  }));
}
