import { parseAmount, parseCurrency, PROVIDER_CALLBACK_TYPES, type CurrencyCode, type ProviderCallbackType } from '@ledger/domain';
import { CallbackRejectedError } from './errors';

/**
 * What a verified provider callback says about one payout attempt (docs/payments.md,
 * "Callback format"). The provider's JSON:
 *
 *   {
 *     "type": "payout.settled",
 *     "timestamp": "2026-11-23T10:15:00.000Z",
 *     "data": {
 *       "idempotencyKey": "…", "withdrawalId": "…", "attempt": 1,
 *       "providerReference": "psp_…", "amount": "1050", "currency": "EUR",
 *       "reason": "beneficiary_account_closed"
 *     }
 *   }
 *
 * `timestamp` is when the reported thing happened (Standard Webhooks' payload convention);
 * the `webhook-timestamp` header is when this copy was sent. `reason` is present on
 * `payout.failed` and `payout.returned` and may be absent or null otherwise.
 */
export interface CallbackEventData {
  readonly type: ProviderCallbackType;
  readonly idempotencyKey: string;
  readonly withdrawalId: string;
  readonly attempt: number;
  readonly providerReference: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly reason?: string;
  readonly occurredAt: Date;
}

// Bounds on provider-supplied text, so one callback cannot carry megabytes into an event.
const IDENTIFIER_LENGTH_MAX = 255;
const REASON_LENGTH_MAX = 500;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses the body of a callback whose signature has already been verified. Anything but the
 * documented shape is `malformed_callback` (400): the provider's bug, not an attack, and it
 * must not be answered 200, or the provider would stop retrying a message we never read.
 * Unknown extra fields are ignored so the provider can add fields without breaking us.
 */
export function parseCallbackBody(rawBody: Buffer): CallbackEventData {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(rawBody);
  } catch {
    throw malformed('body_not_utf8', 'The callback body is not UTF-8.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw malformed('body_not_json', 'The callback body is not JSON.');
  }
  if (!isObject(parsed)) throw malformed('body_not_an_object', 'The callback body must be a JSON object.');
  const { type, timestamp, data } = parsed;
  if (typeof type !== 'string' || !(PROVIDER_CALLBACK_TYPES as readonly string[]).includes(type)) {
    throw malformed('unknown_event_type', `The callback type must be one of ${PROVIDER_CALLBACK_TYPES.join(', ')}.`, {
      field: 'type',
    });
  }
  if (!isObject(data)) throw invalidField('data', 'an object');

  const amount = parseAmount(data.amount);
  if (!amount.ok) throw invalidField('data.amount', 'a string of digits in minor units');
  if (amount.value === 0n) throw invalidField('data.amount', 'a positive amount');
  const currency = parseCurrency(data.currency);
  if (!currency.ok) throw invalidField('data.currency', 'a supported ISO-4217 code');
  const { attempt, reason } = data;
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) {
    throw invalidField('data.attempt', 'a positive whole number');
  }
  if (reason !== undefined && reason !== null && (typeof reason !== 'string' || reason.length > REASON_LENGTH_MAX || !storable(reason))) {
    throw invalidField('data.reason', `a string of at most ${REASON_LENGTH_MAX} characters, or null`);
  }
  if (typeof timestamp !== 'string' || !ISO_INSTANT.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    throw invalidField('timestamp', 'an ISO-8601 instant');
  }

  return {
    type: type as ProviderCallbackType,
    idempotencyKey: identifier(data, 'idempotencyKey'),
    withdrawalId: identifier(data, 'withdrawalId'),
    attempt,
    providerReference: identifier(data, 'providerReference'),
    amount: amount.value,
    currency: currency.value,
    ...(typeof reason === 'string' ? { reason } : {}),
    occurredAt: new Date(timestamp),
  };
}

function identifier(data: Record<string, unknown>, field: string): string {
  const value = data[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > IDENTIFIER_LENGTH_MAX || hasControlCharacter(value) || !storable(value)) {
    throw invalidField(`data.${field}`, `a non-empty string of at most ${IDENTIFIER_LENGTH_MAX} characters without control characters`);
  }
  return value;
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Whether the text can be recorded: the event is stored as jsonb, which refuses NUL and
 * unpaired surrogates although JSON allows both (`\u0000`, `\ud800`). Refused here, they are
 * the documented 400 instead of a failed append (a 500 the provider would retry for days).
 */
function storable(text: string): boolean {
  return !text.includes('\u0000') && !/\p{Cs}/u.test(text);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidField(field: string, expected: string): CallbackRejectedError {
  return malformed('invalid_field', `The callback field ${field} must be ${expected}.`, { field });
}

function malformed(
  reason: ConstructorParameters<typeof CallbackRejectedError>[1],
  message: string,
  details: Record<string, unknown> = {},
): CallbackRejectedError {
  return new CallbackRejectedError('malformed_callback', reason, message, details);
}
