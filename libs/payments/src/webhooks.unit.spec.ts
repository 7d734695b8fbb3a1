import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { CallbackRejectedError } from './errors';
import {
  decodeWebhookSecret,
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
  WebhookVerifier,
  WEBHOOK_SECRET_PREFIX,
} from './webhooks';

const secret = generateWebhookSecret();
const otherSecret = generateWebhookSecret();
const now = new Date('2026-11-23T10:00:00.000Z');
const nowSeconds = Math.floor(now.getTime() / 1000);
const body = Buffer.from('{"type":"payout.settled","data":{"amount":"1050"}}');
const id = 'msg_2b9f0c';

function headersFor(overrides: Record<string, string | string[] | undefined> = {}, timestamp = nowSeconds) {
  return { ...webhookHeaders(secret, id, timestamp, body), ...overrides };
}

/** The rejection a verification throws, for asserting on its code and reason. */
function rejection(run: () => unknown): CallbackRejectedError {
  try {
    run();
  } catch (error) {
    if (error instanceof CallbackRejectedError) return error;
    throw error;
  }
  throw new Error('expected the callback to be rejected');
}

describe('Standard Webhooks signing', () => {
  it('signs "<id>.<timestamp>.<body>" with HMAC-SHA256 keyed by the decoded secret, as v1,<base64>', () => {
    const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${nowSeconds}.${body.toString()}`).digest('base64');
    expect(signWebhook(secret, id, nowSeconds, body)).toBe(`v1,${expected}`);
  });

  it('matches the Standard Webhooks reference vector', () => {
    // From the specification's test suite (standard-webhooks/standard-webhooks, libraries).
    const signature = signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('generates secrets of 32 random bytes in the whsec_ form', () => {
    const generated = generateWebhookSecret();
    expect(generated).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(decodeWebhookSecret(generated)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(generated);
  });

  it('refuses secrets without the prefix, with bad base64, empty, or too short, without quoting them', () => {
    for (const bad of ['', 'whsec_', 'abc', 'whsec_not base64!', `whsec_${Buffer.alloc(8).toString('base64')}`]) {
      expect(() => decodeWebhookSecret(bad)).toThrow(/webhook secret/);
    }
    expect(() => decodeWebhookSecret('whsec_###', 'channel x')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('###') }));
  });
});

describe('Standard Webhooks verification', () => {
  it('accepts a valid delivery and reports its id and timestamp', () => {
    expect(verifyWebhook([secret], headersFor(), body, now)).toEqual({ webhookId: id, timestamp: new Date(nowSeconds * 1000) });
  });

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'])('rejects a delivery without %s as invalid_signature (401)', (header) => {
    const error = rejection(() => verifyWebhook([secret], headersFor({ [header]: undefined }), body, now));
    expect(error).toMatchObject({ code: 'invalid_signature', status: 401, reason: 'missing_header', details: { header } });
  });

  it('rejects a repeated signing header instead of guessing which copy counts', () => {
    const headers = headersFor({ 'webhook-id': [id, 'msg_other'] });
    expect(rejection(() => verifyWebhook([secret], headers, body, now)).reason).toBe('repeated_header');
  });

  it('finds headers whatever their case, for hand-built header objects', () => {
    const headers = Object.fromEntries(Object.entries(headersFor()).map(([name, value]) => [name.toUpperCase(), value]));
    expect(verifyWebhook([secret], headers, body, now).webhookId).toBe(id);
  });

  it('rejects signatures that are not base64 of 32 bytes', () => {
    for (const signature of ['v1,!!!notbase64!!!', 'v1,', 'v1,AAAA', 'v1']) {
      const error = rejection(() => verifyWebhook([secret], headersFor({ 'webhook-signature': signature }), body, now));
      expect(error.reason).toBe('malformed_signature');
    }
  });

  it('rejects a signature made with another secret', () => {
    const headers = webhookHeaders(otherSecret, id, nowSeconds, body);
    expect(rejection(() => verifyWebhook([secret], headers, body, now)).reason).toBe('no_matching_signature');
  });

  it('rejects a body changed by one byte', () => {
    const tampered = Buffer.from(body);
    tampered[tampered.indexOf('1')] = '9'.charCodeAt(0);
    expect(rejection(() => verifyWebhook([secret], headersFor(), tampered, now)).reason).toBe('no_matching_signature');
  });

  it('rejects a changed webhook-id or timestamp: both are signed', () => {
    expect(rejection(() => verifyWebhook([secret], headersFor({ 'webhook-id': 'msg_other' }), body, now)).reason).toBe('no_matching_signature');
    const shifted = headersFor({ 'webhook-timestamp': String(nowSeconds + 1) });
    expect(rejection(() => verifyWebhook([secret], shifted, body, now)).reason).toBe('no_matching_signature');
  });

  it.each([301, -301])('rejects a timestamp %i seconds from our clock as stale_timestamp, before any HMAC', (offset) => {
    const headers = headersFor({}, nowSeconds + offset);
    const error = rejection(() => verifyWebhook([secret], headers, body, now));
    expect(error).toMatchObject({ code: 'invalid_signature', reason: 'stale_timestamp', details: { skewSeconds: -offset, toleranceSeconds: 300 } });
  });

  it.each([300, -300])('accepts a timestamp exactly %i seconds away', (offset) => {
    expect(verifyWebhook([secret], headersFor({}, nowSeconds + offset), body, now).webhookId).toBe(id);
  });

  it.each(['abc', '1.5', '-1700000000', '', ' 1700000000', '1e9', '99999999999999'])('rejects the non-numeric timestamp %p', (timestamp) => {
    const error = rejection(() => verifyWebhook([secret], headersFor({ 'webhook-timestamp': timestamp }), body, now));
    expect(['malformed_timestamp', 'missing_header']).toContain(error.reason);
  });

  it('accepts when any one of several signatures matches', () => {
    const good = signWebhook(secret, id, nowSeconds, body);
    const wrong = signWebhook(otherSecret, id, nowSeconds, body);
    const headers = headersFor({ 'webhook-signature': `${wrong} v1,garbage ${good}` });
    expect(verifyWebhook([secret], headers, body, now).webhookId).toBe(id);
  });

  it('accepts either of two secrets during a rotation, signed with the old or the new one', () => {
    const verifier = new WebhookVerifier([otherSecret, secret]);
    expect(verifier.verify(webhookHeaders(secret, id, nowSeconds, body), body, now).webhookId).toBe(id);
    expect(verifier.verify(webhookHeaders(otherSecret, id, nowSeconds, body), body, now).webhookId).toBe(id);
    // A sender mid-rotation signs with both; a receiver holding only one accepts it too.
    const both = webhookHeaders([secret, otherSecret], id, nowSeconds, body);
    expect(both['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyWebhook([secret], both, body, now).webhookId).toBe(id);
    expect(verifyWebhook([otherSecret], both, body, now).webhookId).toBe(id);
  });

  it('ignores entries of other versions, even when they carry a valid v1 digest', () => {
    const digest = signWebhook(secret, id, nowSeconds, body).slice('v1,'.length);
    const headers = headersFor({ 'webhook-signature': `v2,${digest}` });
    expect(rejection(() => verifyWebhook([secret], headers, body, now)).reason).toBe('malformed_signature');
    const mixed = headersFor({ 'webhook-signature': `v2,${digest} v1,${digest}` });
    expect(verifyWebhook([secret], mixed, body, now).webhookId).toBe(id);
  });

  it('rejects a webhook-id with spaces or control characters', () => {
    const error = rejection(() => verifyWebhook([secret], headersFor({ 'webhook-id': 'msg 1' }), body, now));
    expect(error.reason).toBe('malformed_webhook_id');
  });

  it('verifies raw bytes that are not valid UTF-8', () => {
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    expect(verifyWebhook([secret], webhookHeaders(secret, id, nowSeconds, raw), raw, now).webhookId).toBe(id);
  });

  it('needs at least one secret, each well formed', () => {
    expect(() => new WebhookVerifier([])).toThrow(/at least one secret/);
    expect(() => new WebhookVerifier(['whsec_short'])).toThrow(/webhook secret #1/);
  });

  it('round-trips sign → verify, and fails for any single-byte change of the body (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 40 }).filter((text) => /^[\x21-\x7e]+$/.test(text)),
        fc.integer({ min: -300, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, webhookId, skew, position, delta) => {
          const raw = Buffer.from(bytes);
          const timestamp = nowSeconds + skew;
          const headers = webhookHeaders(secret, webhookId, timestamp, raw);
          expect(verifyWebhook([secret], headers, raw, now)).toEqual({ webhookId, timestamp: new Date(timestamp * 1000) });

          const mutated = Buffer.from(raw);
          const index = position % mutated.length;
          mutated[index] = (mutated[index]! + delta) % 256;
          expect(rejection(() => verifyWebhook([secret], headers, mutated, now)).reason).toBe('no_matching_signature');
        },
      ),
      { numRuns: 300 },
    );
  });
});
