import { v5 as uuidv5 } from 'uuid';
import type { EventMetadata, NewEvent } from '@ledger/event-store';

/**
 * Namespace of the event ids the command side derives. An event id is
 * UUIDv5(namespace, `${seed}/${index}`), where the seed is fixed by the request's
 * idempotency key (the entity id it derives). A retried request therefore produces the
 * same event ids, and the store reports the retry as the original append.
 */
export const COMMAND_EVENT_ID_NAMESPACE = 'f0f1d5a2-6a0c-4c56-9a4f-0c1f3c8e2b7d';

/** A domain command with what the store needs to write its events: ids and metadata. */
export interface CommandEnvelope<Command> {
  command: Command;
  /** Seed of the deterministic event ids (see COMMAND_EVENT_ID_NAMESPACE). */
  eventIdSeed: string;
  metadata: EventMetadata;
}

export function toNewEvents(
  events: ReadonlyArray<{ type: string; data: unknown }>,
  envelope: CommandEnvelope<unknown>,
): NewEvent[] {
  return events.map((event, index) => ({
    id: uuidv5(`${envelope.eventIdSeed}/${index}`, COMMAND_EVENT_ID_NAMESPACE),
    type: event.type,
    data: event.data,
    metadata: envelope.metadata,
  }));
}

export function eventIdFor(seed: string, index: number): string {
  return uuidv5(`${seed}/${index}`, COMMAND_EVENT_ID_NAMESPACE);
}
