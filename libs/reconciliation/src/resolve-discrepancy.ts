import { InvariantViolation, reconciliationDecider, reconciliationStream, type DiscrepancyResolved } from '@ledger/domain';
import { EventIdConflict, WrongExpectedVersion, type EventMetadata, type EventStore } from '@ledger/event-store';
import { ReconciliationConflict } from './errors';
import { loadReconciliationStream, toNewEvents, type LoadedStream } from './reconciliation-stream';

export interface ResolveDiscrepancyOptions {
  store: EventStore;
  channel: string;
  date: string;
  discrepancyId: string;
  /** Why, for the audit trail. */
  reason: string;
  /** The operator: stored as `resolvedBy` and in event metadata. */
  principal: string;
  now: string;
  /**
   * The id of the `DiscrepancyResolved` event, derived by the caller from its request
   * (the HTTP idempotency key), so that a retry finds its own event instead of a conflict.
   */
  eventId: string;
  metadata?: EventMetadata;
  maxAttempts?: number;
}

export interface ResolveDiscrepancyResult {
  readonly channel: string;
  readonly date: string;
  readonly discrepancyId: string;
  readonly resolution: string;
  readonly resolvedAt: string;
  readonly resolvedBy: string;
  /** True when the stream already held this request's event: the original outcome is reported. */
  readonly replayed: boolean;
  readonly position: bigint;
}

/**
 * An operator resolves a discrepancy with a reason: load the reconciliation stream, decide
 * (`discrepancy_not_found`, `discrepancy_already_resolved` and `discrepancy_superseded` are
 * `ReconciliationRejection`s), append with the expected revision. When the stream already
 * holds `eventId`, this is the same request retried (a crash between append and answer):
 * it answers with what was recorded, including the original time and author.
 */
export async function resolveDiscrepancy(options: ResolveDiscrepancyOptions): Promise<ResolveDiscrepancyResult> {
  const { store, channel, date, discrepancyId, reason, principal, now, eventId } = options;
  const streamName = reconciliationStream(channel, date);
  const attempts = options.maxAttempts ?? 5;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const loaded = await loadReconciliationStream(store, streamName);
    const own = ownEvent(loaded, eventId);
    if (own !== null) return own;
    const events = reconciliationDecider.decide(
      { type: 'ResolveDiscrepancy', data: { channel, statementDate: date, discrepancyId, reason }, metadata: { now, principal } },
      loaded.state,
    );
    const resolved = events[0];
    if (events.length !== 1 || resolved?.type !== 'DiscrepancyResolved') {
      throw new InvariantViolation('ResolveDiscrepancy decides exactly one DiscrepancyResolved');
    }
    try {
      const appended = await store.append(streamName, toNewEvents(events, () => eventId, { ...options.metadata, principal }), {
        expectedRevision: loaded.expectedRevision,
      });
      return { ...result(channel, date, resolved, appended.position), replayed: appended.idempotent };
    } catch (error) {
      if (!(error instanceof WrongExpectedVersion) && !(error instanceof EventIdConflict)) throw error;
    }
  }
  throw new ReconciliationConflict(streamName, attempts);
}

function ownEvent(loaded: LoadedStream, eventId: string): ResolveDiscrepancyResult | null {
  for (const { recorded, event } of loaded.entries) {
    if (recorded.id !== eventId) continue;
    if (event.type !== 'DiscrepancyResolved') {
      throw new InvariantViolation(`event ${eventId} of ${loaded.streamName} is a ${event.type}, not this request's DiscrepancyResolved`);
    }
    return { ...result(event.data.channel, event.data.statementDate, event, recorded.globalPosition), replayed: true };
  }
  return null;
}

function result(channel: string, date: string, event: DiscrepancyResolved, position: bigint): Omit<ResolveDiscrepancyResult, 'replayed'> {
  return {
    channel,
    date,
    discrepancyId: event.data.discrepancyId,
    resolution: event.data.resolution,
    resolvedAt: event.data.resolvedAt,
    resolvedBy: event.data.resolvedBy,
    position,
  };
}
