import { createHash } from 'node:crypto';
import { callbackStream, encodeAmount, type ProviderCallbackReceived } from '@ledger/domain';
import { EventIdConflict, WrongExpectedVersion, type EventMetadata, type EventStore } from '@ledger/event-store';
import type { VerifiedCallback } from '@ledger/payments';
import { callbackEventIdFor, callbackIdFor } from './callback-id';

/** What recording a verified callback came to. */
export type RecordedCallback =
  | { readonly status: 'accepted'; readonly callbackId: string; readonly position: bigint }
  | { readonly status: 'duplicate'; readonly callbackId: string };

/**
 * Records a verified provider callback as one `ProviderCallbackReceived` event on its own
 * stream, `callback-<callbackId>` (ADR 0008), and nothing else: no provider call, no
 * withdrawal decision. The payout process manager reads the event from the log and turns it
 * into withdrawal commands, so the endpoint answers in one append.
 *
 * Dedupe is the append itself: expected revision `no_stream` and a deterministic event id.
 * A redelivery of the message (same channel and webhook-id, a fresh timestamp) finds the
 * stream and writes nothing. It lasts as long as the event store keeps the stream, which
 * outlives any provider's retry window (three days), and needs no table of its own.
 */
export class CallbackRecorder {
  constructor(private readonly store: EventStore) {}

  async record(
    channel: string,
    verified: VerifiedCallback,
    rawBody: Buffer,
    receivedAt: Date,
    metadata: EventMetadata,
  ): Promise<RecordedCallback> {
    const callbackId = callbackIdFor(channel, verified.webhookId);
    const eventId = callbackEventIdFor(callbackId);
    const { event } = verified;
    const data: ProviderCallbackReceived['data'] = {
      channel,
      webhookId: verified.webhookId,
      callbackType: event.type,
      withdrawalId: event.withdrawalId,
      attempt: event.attempt,
      idempotencyKey: event.idempotencyKey,
      providerReference: event.providerReference,
      amount: encodeAmount(event.amount),
      currency: event.currency,
      reason: event.reason ?? null,
      occurredAt: event.occurredAt.toISOString(),
      sentAt: verified.timestamp.toISOString(),
      receivedAt: receivedAt.toISOString(),
      bodySha256: createHash('sha256').update(rawBody).digest('hex'),
    };
    try {
      const result = await this.store.append(
        callbackStream(callbackId),
        [{ id: eventId, type: 'ProviderCallbackReceived', data, metadata }],
        { expectedRevision: 'no_stream' },
      );
      // The store reports an append whose event is already there with the same data as done;
      // that is a redelivery that happened to carry the same times (two copies in one instant).
      if (result.idempotent) return { status: 'duplicate', callbackId };
      return { status: 'accepted', callbackId, position: result.position };
    } catch (error) {
      if (isRedelivery(error, callbackStream(callbackId), eventId)) return { status: 'duplicate', callbackId };
      throw error;
    }
  }
}

/**
 * The two ways the store reports that this callback's event is already recorded. Which one
 * comes depends on the adapter's order of checks: the PostgreSQL adapter matches event ids
 * before revisions, so a redelivery, whose `receivedAt` and `sentAt` differ, is an
 * `EventIdConflict` on our own id; a store that checks the revision first says
 * `WrongExpectedVersion`. Any other conflict is a real error and propagates.
 */
function isRedelivery(error: unknown, streamName: string, eventId: string): boolean {
  if (error instanceof WrongExpectedVersion) return error.streamName === streamName;
  if (error instanceof EventIdConflict) return error.eventId === eventId;
  return false;
}
