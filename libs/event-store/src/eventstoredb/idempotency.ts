import { canonicalJson, isSystemEvent, type EsdbRecordedEvent } from './recorded-event';

/** An event of an append, reduced to what the idempotency rules compare. */
export interface ProposedEvent {
  id: string;
  type: string;
  /** `canonicalJson` of the event's data. */
  canonicalData: string;
}

export type StreamIdCheck =
  /** None of the append's ids is among the events checked. */
  | { kind: 'absent' }
  /** The whole append is already stored; `last` is the original of its last event. */
  | { kind: 'idempotent'; last: EsdbRecordedEvent }
  /** Some id is stored, but not as this exact append; nothing may be written. */
  | { kind: 'conflict'; eventId: string; detail: string };

/**
 * Applies the port's idempotency rule, the same one the PostgreSQL adapter enforces,
 * to the newest events of the target stream.
 *
 * An append is a repeat of an earlier one when every one of its ids is stored in this
 * stream, in the append's order at consecutive revisions, each with the same type and
 * the same data (metadata may differ: a retry carries a new traceparent). Any other
 * overlap, such as one id of two, the same ids reordered, or an id with other content,
 * is a conflict, reported (as PostgreSQL reports it) on the first of the append's ids
 * that is stored.
 */
export function checkStreamTail(
  proposed: readonly ProposedEvent[],
  tail: readonly EsdbRecordedEvent[],
): StreamIdCheck {
  const byId = new Map<string, EsdbRecordedEvent>();
  for (const stored of tail) byId.set(stored.id.toLowerCase(), stored);
  const found = proposed.map((event) => byId.get(event.id));
  const firstFound = found.findIndex((stored) => stored !== undefined);
  if (firstFound === -1) return { kind: 'absent' };

  const eventId = proposed[firstFound]!.id;
  if (found.some((stored) => stored === undefined)) {
    return { kind: 'conflict', eventId, detail: 'only part of the append is already stored' };
  }
  const stored = found as EsdbRecordedEvent[];
  const mismatch = proposed.findIndex(
    (event, index) => stored[index]!.type !== event.type || canonicalJson(stored[index]!.data) !== event.canonicalData,
  );
  if (mismatch !== -1) {
    const which = mismatch === firstFound ? 'it' : `event ${proposed[mismatch]!.id} of the same append`;
    return { kind: 'conflict', eventId, detail: `${which} is already stored with another type or other data` };
  }
  const first = stored[0]!.revision;
  if (stored.some((event, index) => event.revision !== first + BigInt(index))) {
    return { kind: 'conflict', eventId, detail: 'the stored events are not this append in its order' };
  }
  return { kind: 'idempotent', last: stored[stored.length - 1]! };
}

export type GlobalIdCheck =
  | { kind: 'absent' }
  /** An id is stored in another stream: a conflict whatever its content. */
  | { kind: 'other_stream'; eventId: string; streamName: string }
  /** An id appeared in the target stream after its tail was read: the append raced another. */
  | { kind: 'same_stream' };

/**
 * Looks for the append's ids among the newest events of the whole log. An id the
 * target stream holds was already judged by `checkStreamTail`, which read that
 * stream first; finding one here means a concurrent append got in between.
 */
export function checkGlobalTail(
  proposed: readonly ProposedEvent[],
  tail: readonly EsdbRecordedEvent[],
  streamName: string,
): GlobalIdCheck {
  const wanted = new Set(proposed.map((event) => event.id));
  let sameStream = false;
  let otherStream: { eventId: string; streamName: string; order: number } | undefined;
  for (const stored of tail) {
    if (isSystemEvent(stored)) continue;
    const id = stored.id.toLowerCase();
    if (!wanted.has(id)) continue;
    if (stored.streamId === streamName) {
      sameStream = true;
      continue;
    }
    const order = proposed.findIndex((event) => event.id === id);
    if (otherStream === undefined || order < otherStream.order) {
      otherStream = { eventId: id, streamName: stored.streamId, order };
    }
  }
  if (otherStream) return { kind: 'other_stream', eventId: otherStream.eventId, streamName: otherStream.streamName };
  return sameStream ? { kind: 'same_stream' } : { kind: 'absent' };
}
