import { InvalidAppend } from './errors';
import { EVENT_STORE_LIMITS, type AppendOptions, type ExpectedRevision, type NewEvent } from './port';

/**
 * A stream name is a category and an id joined by a dash: `account-7f3c…`,
 * `reconciliation-sandbox-2026-11-23`. The category is lower-case letters and digits
 * starting with a letter; the id is letters, digits and `-_.:`. Names starting with `$`
 * are EventStoreDB system streams and are never ours.
 */
export const STREAM_NAME_PATTERN = /^[a-z][a-z0-9]*-[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Event types are PascalCase names, optionally versioned: `FundsDeposited`, `FundsDeposited.v2`. */
export const EVENT_TYPE_PATTERN = /^[A-Z][A-Za-z0-9]*(\.v[1-9][0-9]*)?$/;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function assertStreamName(streamName: unknown): asserts streamName is string {
  if (
    typeof streamName !== 'string' ||
    streamName.length > EVENT_STORE_LIMITS.maxStreamNameLength ||
    !STREAM_NAME_PATTERN.test(streamName)
  ) {
    throw new InvalidAppend('malformed_stream_name', `malformed stream name: ${JSON.stringify(streamName)}`);
  }
}

export function assertExpectedRevision(value: unknown): asserts value is ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return;
  if (typeof value === 'bigint' && value >= 0n) return;
  throw new InvalidAppend(
    'unknown_expected_revision',
    `unknown expected revision: ${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`,
  );
}

/** A validated event with its serialised payloads, ready for an adapter to write. */
export interface SerialisedEvent {
  id: string;
  type: string;
  data: string;
  metadata: string;
}

/**
 * Checks an append before anything is written and serialises its payloads once.
 * Throws `InvalidAppend` naming the first rule broken.
 */
export function validateAppend(
  streamName: unknown,
  events: readonly NewEvent[] | unknown,
  options: AppendOptions | undefined,
): SerialisedEvent[] {
  assertStreamName(streamName);
  assertExpectedRevision(options?.expectedRevision);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppend('empty_event_list', 'an append needs at least one event');
  }
  if (events.length > EVENT_STORE_LIMITS.maxEventsPerAppend) {
    throw new InvalidAppend(
      'too_many_events',
      `an append holds at most ${EVENT_STORE_LIMITS.maxEventsPerAppend} events, got ${events.length}`,
    );
  }
  const seen = new Set<string>();
  let appendBytes = 0;
  const serialised = (events as NewEvent[]).map((event, index) => {
    if (typeof event?.id !== 'string' || !UUID_PATTERN.test(event.id)) {
      throw new InvalidAppend('malformed_event_id', `event ${index}: id must be a lower-case UUID`);
    }
    if (seen.has(event.id)) {
      throw new InvalidAppend('duplicate_event_id_in_append', `event ${index}: id ${event.id} appears twice`);
    }
    seen.add(event.id);
    if (
      typeof event.type !== 'string' ||
      event.type.length > EVENT_STORE_LIMITS.maxEventTypeLength ||
      !EVENT_TYPE_PATTERN.test(event.type)
    ) {
      throw new InvalidAppend('malformed_event_type', `event ${index}: malformed type ${JSON.stringify(event.type)}`);
    }
    let data: string;
    let metadata: string;
    try {
      data = serialise(event.data);
      metadata = serialise(event.metadata ?? {});
    } catch (error) {
      throw new InvalidAppend(
        'data_not_serialisable',
        `event ${index}: data or metadata is not JSON-serialisable (${(error as Error).message})`,
      );
    }
    // JSON.stringify returns undefined for undefined and functions; events need an object or array.
    if (typeof data !== 'string' || !/^[{[]/.test(data)) {
      throw new InvalidAppend('data_not_serialisable', `event ${index}: data must be a JSON object or array`);
    }
    const size = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    if (size > EVENT_STORE_LIMITS.maxEventBytes) {
      throw new InvalidAppend(
        'event_too_large',
        `event ${index}: ${size} bytes exceeds the limit of ${EVENT_STORE_LIMITS.maxEventBytes}`,
      );
    }
    appendBytes += size;
    return { id: event.id, type: event.type, data, metadata };
  });
  if (appendBytes > EVENT_STORE_LIMITS.maxAppendBytes) {
    throw new InvalidAppend(
      'append_too_large',
      `the append's events total ${appendBytes} bytes, over the limit of ${EVENT_STORE_LIMITS.maxAppendBytes}`,
    );
  }
  return serialised;
}

/**
 * JSON with bigint support: a bigint is written as its decimal string. Event payloads
 * carry money as digit strings anyway; this keeps a stray bigint from throwing deep
 * inside a driver.
 */
export function serialise(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
