import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@ledger/platform';
import { CallbackRejectedError } from './errors';

/**
 * Standard Webhooks (https://www.standardwebhooks.com), the scheme our providers sign
 * callbacks with:
 *
 *   webhook-id:        the message id, the same on every retry of one message
 *   webhook-timestamp: unix seconds of this delivery attempt (fresh on every retry)
 *   webhook-signature: space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`
 *
 * Secrets are written `whsec_<base64 key>`; the key is the decoded bytes, not the text.
 * Verification runs on the raw bytes as received: a body parsed and re-serialised is a
 * different byte string and would never match (ARCHITECTURE.md §9).
 */
export const WEBHOOK_ID_HEADER = 'webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** How far a delivery's timestamp may be from our clock, either way: limits replays of captured deliveries. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Key sizes the Standard Webhooks specification recommends. Shorter keys are refused
 * because an HMAC is only as strong as its key; longer ones gain nothing over SHA-256's block.
 */
export const WEBHOOK_KEY_BYTES_MIN = 24;
export const WEBHOOK_KEY_BYTES_MAX = 64;

/** Only this signature version is understood; entries of other versions are skipped, as the specification asks. */
const SIGNATURE_VERSION = 'v1';
const HMAC_SHA256_BYTES = 32;

// Bounds on attacker-controlled header sizes, so a huge header costs nothing to refuse.
const WEBHOOK_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
const TIMESTAMP_PATTERN = /^[0-9]{1,12}$/;
const SIGNATURE_HEADER_LENGTH_MAX = 4_096;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Request headers as Node gives them (lower-case names; an array when a header was repeated). */
export type WebhookHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What a valid signature proves: which message this is and when the provider sent this copy. */
export interface VerifiedWebhook {
  readonly webhookId: string;
  readonly timestamp: Date;
}

/** A new secret for a channel: 32 random bytes, in the `whsec_<base64>` form. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/**
 * The key bytes of a `whsec_<base64>` secret. Throws a ConfigError that never quotes the
 * secret, because the message may reach a log.
 */
export function decodeWebhookSecret(secret: string, source = 'webhook secret'): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new ConfigError(`${source} must have the form ${WEBHOOK_SECRET_PREFIX}<base64>`);
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64_PATTERN.test(encoded)) {
    throw new ConfigError(`${source} must be ${WEBHOOK_SECRET_PREFIX} followed by standard base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < WEBHOOK_KEY_BYTES_MIN || key.length > WEBHOOK_KEY_BYTES_MAX) {
    throw new ConfigError(
      `${source} must decode to ${WEBHOOK_KEY_BYTES_MIN}-${WEBHOOK_KEY_BYTES_MAX} bytes, got ${key.length}; use generateWebhookSecret()`,
    );
  }
  return key;
}

/** Unix seconds of a moment, as the `webhook-timestamp` header carries them. */
export function unixSeconds(moment: Date): number {
  return Math.floor(moment.getTime() / 1000);
}

/**
 * One `v1,<base64>` signature entry over `<id>.<timestamp>.<rawBody>`. The body is hashed as
 * bytes: decoding it to a string and back could change bytes that are not valid UTF-8.
 */
export function signWebhook(secret: string, id: string, timestamp: number, rawBody: Buffer | string): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError(`a webhook timestamp is whole unix seconds, got ${timestamp}`);
  return `${SIGNATURE_VERSION},${hmac(decodeWebhookSecret(secret), id, String(timestamp), toBuffer(rawBody)).toString('base64')}`;
}

/**
 * The three headers of a signed delivery. With several secrets (a rotation in progress) the
 * signature header carries one entry per secret, so receivers holding either key accept it.
 */
export function webhookHeaders(
  secrets: string | readonly string[],
  id: string,
  timestamp: number,
  rawBody: Buffer | string,
): Record<string, string> {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  if (list.length === 0) throw new RangeError('at least one webhook secret is needed to sign');
  return {
    [WEBHOOK_ID_HEADER]: id,
    [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
    [WEBHOOK_SIGNATURE_HEADER]: list.map((secret) => signWebhook(secret, id, timestamp, rawBody)).join(' '),
  };
}

/**
 * Checks deliveries against a channel's secrets. More than one secret may be active while a
 * secret is rotated: a delivery is genuine when ANY secret matches ANY of its signatures.
 * The keys are decoded once, here, so a malformed secret fails at start, not per request.
 */
export class WebhookVerifier {
  private readonly keys: readonly Buffer[];

  constructor(
    secrets: readonly string[],
    private readonly toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
  ) {
    if (secrets.length === 0) throw new ConfigError('a webhook verifier needs at least one secret');
    if (!Number.isInteger(toleranceSeconds) || toleranceSeconds < 1) {
      throw new RangeError(`toleranceSeconds must be a positive whole number, got ${toleranceSeconds}`);
    }
    this.keys = secrets.map((secret, index) => decodeWebhookSecret(secret, `webhook secret #${index + 1}`));
  }

  /**
   * Verifies one delivery, or throws CallbackRejectedError `invalid_signature` with a
   * `reason`. The checks run cheapest first; the timestamp is checked before any HMAC so a
   * replayed old delivery costs no hashing, and it is part of the signed content, so it
   * cannot be refreshed without the key.
   */
  verify(headers: WebhookHeaders, rawBody: Buffer, now: Date): VerifiedWebhook {
    const id = singleHeader(headers, WEBHOOK_ID_HEADER);
    const timestampText = singleHeader(headers, WEBHOOK_TIMESTAMP_HEADER);
    const signatureText = singleHeader(headers, WEBHOOK_SIGNATURE_HEADER);

    if (!WEBHOOK_ID_PATTERN.test(id)) {
      throw rejected('malformed_webhook_id', 'The webhook-id header must be 1-256 visible ASCII characters.');
    }
    if (!TIMESTAMP_PATTERN.test(timestampText)) {
      throw rejected('malformed_timestamp', 'The webhook-timestamp header must be whole unix seconds.');
    }
    const timestampSeconds = Number(timestampText);
    const skewSeconds = unixSeconds(now) - timestampSeconds;
    if (Math.abs(skewSeconds) > this.toleranceSeconds) {
      throw rejected('stale_timestamp', `The webhook-timestamp is more than ${this.toleranceSeconds} seconds from our clock.`, {
        skewSeconds,
        toleranceSeconds: this.toleranceSeconds,
      });
    }
    if (signatureText.length > SIGNATURE_HEADER_LENGTH_MAX) {
      throw rejected('malformed_signature', 'The webhook-signature header is too long.');
    }

    const candidates: Buffer[] = [];
    let malformedEntries = 0;
    for (const entry of signatureText.split(' ')) {
      if (entry.length === 0) continue;
      const comma = entry.indexOf(',');
      const version = comma < 0 ? entry : entry.slice(0, comma);
      if (version !== SIGNATURE_VERSION) continue;
      const encoded = entry.slice(comma + 1);
      const decoded = BASE64_PATTERN.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
      if (decoded === undefined || decoded.length !== HMAC_SHA256_BYTES) {
        malformedEntries += 1;
        continue;
      }
      candidates.push(decoded);
    }
    if (candidates.length === 0) {
      throw malformedEntries > 0
        ? rejected('malformed_signature', 'No v1 entry of the webhook-signature header is a base64 HMAC-SHA256.')
        : rejected('malformed_signature', 'The webhook-signature header has no v1 signature.');
    }

    // Every comparison runs, even after a match: the time taken does not tell which key or
    // which entry matched. timingSafeEqual needs equal lengths, which the decode ensured.
    let matched = false;
    for (const key of this.keys) {
      const expected = hmac(key, id, timestampText, rawBody);
      for (const candidate of candidates) {
        if (timingSafeEqual(expected, candidate)) matched = true;
      }
    }
    if (!matched) throw rejected('no_matching_signature', 'No signature matches the channel\'s webhook secrets.');
    return { webhookId: id, timestamp: new Date(timestampSeconds * 1000) };
  }
}

/** One-shot form of `new WebhookVerifier(secrets).verify(...)`. */
export function verifyWebhook(secrets: readonly string[], headers: WebhookHeaders, rawBody: Buffer, now: Date): VerifiedWebhook {
  return new WebhookVerifier(secrets).verify(headers, rawBody, now);
}

function hmac(key: Buffer, id: string, timestamp: string, rawBody: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(rawBody).digest();
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/**
 * A header's one value. Node joins most repeated headers with ", " but keeps unknown ones
 * as arrays; two copies of a signing header are ambiguous, so they are refused rather than
 * guessed between. Names are matched without regard to case for callers that build the
 * object by hand.
 */
function singleHeader(headers: WebhookHeaders, name: string): string {
  let value = headers[name];
  if (value === undefined) {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  if (value === undefined || value === '') {
    throw rejected('missing_header', `The ${name} header is missing.`, { header: name });
  }
  if (typeof value !== 'string') {
    if (value.length === 1 && typeof value[0] === 'string' && value[0] !== '') return value[0];
    throw rejected('repeated_header', `The ${name} header must appear once.`, { header: name });
  }
  return value;
}

function rejected(
  reason: ConstructorParameters<typeof CallbackRejectedError>[1],
  message: string,
  details: Record<string, unknown> = {},
): CallbackRejectedError {
  return new CallbackRejectedError('invalid_signature', reason, message, details);
}
