import { v5 as uuidv5 } from 'uuid';
import { eventIdFor } from '@ledger/commands';

/**
 * The UUID v5 namespace of callback ids. Fixed forever: a provider redelivers a message for
 * up to three days with the same `webhook-id`, and a different namespace would give the
 * redelivery a new stream, i.e. a second accepted callback. A random v4 UUID chosen once for
 * this purpose and used nowhere else.
 */
export const CALLBACK_ID_NAMESPACE = 'bd0f01f5-f2c0-46e6-85a9-fe2372169df3';

/**
 * The id of one provider message: UUIDv5(`${channel}:${webhookId}`, CALLBACK_ID_NAMESPACE).
 * Its stream is `callback-<callbackId>` (ADR 0008). The channel is part of it because
 * `webhook-id`s are unique per provider only: two providers may both send `msg_1`.
 */
export function callbackIdFor(channel: string, webhookId: string): string {
  return uuidv5(`${channel}:${webhookId}`, CALLBACK_ID_NAMESPACE);
}

/**
 * The id of the callback's one event, `ProviderCallbackReceived`: `eventIdFor(callbackId, 0)`,
 * the command side's rule (UUIDv5(`${callbackId}/0`, COMMAND_EVENT_ID_NAMESPACE)). Derived
 * rather than random so that an audit can find the event of any callback from the channel
 * and the webhook-id alone.
 */
export function callbackEventIdFor(callbackId: string): string {
  return eventIdFor(callbackId, 0);
}
