import type { AllStreamResolvedEvent, ResolvedEvent } from '@eventstore/db-client';
import { EventStoreUnavailable } from '../errors';
import type { EventMetadata, RecordedEvent } from '../port';

/** The fields of an EventStoreDB recorded event this adapter reads. */
export interface EsdbRecordedEvent {
  streamId: string;
  id: string;
  type: string;
  revision: bigint;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: { commit: bigint; prepare: bigint };
}

/**
 * The largest position a real log can hold. Servers before 22.6 answered stream reads
 * with 2^64-1 ("no position"); anything at or above 2^63 is such a sentinel, not a place
 * in the log.
 */
const MAX_POSITION = 2n ** 63n - 1n;

/**
 * Events the ledger never wrote: EventStoreDB's own records live in streams whose name
 * starts with `$` (`$epoch-information`, `$$account-…` stream metadata, `$stats-…`) and
 * carry types that start with `$` (`$>` links, `$metadata`, `$streamDeleted`).
 */
export function isSystemEvent(event: { streamId: string; type: string }): boolean {
  return event.streamId.startsWith('$') || event.type.startsWith('$');
}

/**
 * The global position of an event: its commit position. Every gRPC append commits
 * implicitly, so an event's commit and prepare positions coincide and the commit
 * position alone orders the log; both stream and `$all` reads report it on EventStoreDB
 * 22.6 and later. A missing or sentinel value is refused rather than passed on, because
 * a reader that checkpoints a wrong position silently skips or repeats events.
 */
export function positionOf(event: EsdbRecordedEvent, fallbackCommit?: bigint): bigint {
  const commit = event.position?.commit ?? fallbackCommit;
  if (typeof commit !== 'bigint' || commit < 0n || commit > MAX_POSITION) {
    throw new EventStoreUnavailable(
      `EventStoreDB reported no usable position for event ${event.id} in ${event.streamId} ` +
        `(got ${String(commit)}); this adapter needs EventStoreDB 22.6 or later`,
    );
  }
  return commit;
}

export function toRecordedEvent(event: EsdbRecordedEvent, globalPosition: bigint): RecordedEvent {
  return {
    id: event.id,
    streamName: event.streamId,
    type: event.type,
    data: event.data,
    metadata: toMetadata(event.metadata),
    streamRevision: event.revision,
    globalPosition,
    recordedAt: event.created,
  };
}

/** A `$all` item as a port event, or undefined for system events (which readers never see). */
export function fromAllStreamEvent(resolved: AllStreamResolvedEvent): RecordedEvent | undefined {
  const event = resolved.event as EsdbRecordedEvent | undefined;
  if (event === undefined || isSystemEvent(event)) return undefined;
  return toRecordedEvent(event, positionOf(event, resolved.commitPosition));
}

/** The recorded event of a stream read; links are never resolved, so it is always present. */
export function eventOf(resolved: ResolvedEvent | AllStreamResolvedEvent): EsdbRecordedEvent {
  const event = resolved.event as EsdbRecordedEvent | undefined;
  if (event === undefined) {
    throw new EventStoreUnavailable('EventStoreDB returned a read result without an event');
  }
  return event;
}

/**
 * Metadata is stored as the JSON of our metadata object. Events written by other tools
 * may carry none, or bytes that are not a JSON object; they read as empty metadata
 * rather than as a value of the wrong type.
 */
function toMetadata(raw: unknown): EventMetadata {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) return {};
  return raw as EventMetadata;
}

/**
 * JSON with object keys sorted, so two payloads compare equal exactly when PostgreSQL's
 * `jsonb` equality would call them equal: key order never matters, array order does.
 * Binary payloads (events written by other tools) get a form no JSON value can have.
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return `#binary:${Buffer.from(value).toString('base64')}`;
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
