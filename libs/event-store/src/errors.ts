import type { ExpectedRevision } from './port';

/** Every error the port raises carries a stable machine-readable code. */
export abstract class EventStoreError extends Error {
  abstract readonly code: string;
}

/** The stream was not at the expected revision. `actualRevision` is -1n when the stream does not exist. */
export class WrongExpectedVersion extends EventStoreError {
  readonly code = 'wrong_expected_version';
  constructor(
    readonly streamName: string,
    readonly expectedRevision: ExpectedRevision,
    readonly actualRevision: bigint,
  ) {
    super(
      `stream ${streamName}: expected revision ${String(expectedRevision)}, actual ${
        actualRevision < 0n ? 'no_stream' : actualRevision.toString()
      }`,
    );
  }
}

/** The append was malformed; nothing was written. `reason` names the rule broken. */
export class InvalidAppend extends EventStoreError {
  readonly code = 'invalid_append';
  constructor(
    readonly reason:
      | 'empty_event_list'
      | 'too_many_events'
      | 'malformed_stream_name'
      | 'unknown_expected_revision'
      | 'malformed_event_id'
      | 'duplicate_event_id_in_append'
      | 'malformed_event_type'
      | 'event_too_large'
      | 'append_too_large'
      | 'data_not_serialisable',
    message: string,
  ) {
    super(message);
  }
}

/** An event id already exists with other content (or in another stream, or only part of the append exists). */
export class EventIdConflict extends EventStoreError {
  readonly code = 'event_id_conflict';
  constructor(
    readonly streamName: string,
    readonly eventId: string,
    message: string,
  ) {
    super(message);
  }
}

/** The store did not answer within our own deadline. The outcome of a write is unknown. */
export class EventStoreTimeout extends EventStoreError {
  readonly code = 'event_store_timeout';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`event store ${operation} did not answer within ${timeoutMs} ms`);
  }
}

/** The store could not be reached or failed in a way the caller cannot fix. */
export class EventStoreUnavailable extends EventStoreError {
  readonly code = 'event_store_unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
