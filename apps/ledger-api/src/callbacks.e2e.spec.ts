import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { callbackStream } from '@ledger/domain';
import { generateWebhookSecret, unixSeconds } from '@ledger/payments';
import { callbackEventIdFor, callbackIdFor } from './callbacks/callback-id';
import { callbackChannel, callbackPayload, deliver, specSignature } from './testing/callbacks';
import { startLedgerApi, type Harness } from './testing/ledger-api-harness';

const secret = generateWebhookSecret();
const oldSecret = generateWebhookSecret();
const newSecret = generateWebhookSecret();
const strangerSecret = generateWebhookSecret();

let api: Harness;
const registry = new Registry();

beforeAll(async () => {
  api = await startLedgerApi({
    paymentChannels: [callbackChannel('sandbox', [secret]), callbackChannel('rotating', [oldSecret, newSecret])],
    metricsRegistry: registry,
  });
});
afterAll(async () => {
  await api?.close();
});

async function callbackEvents(channel: string, webhookId: string) {
  return api.store.readStream(callbackStream(callbackIdFor(channel, webhookId)));
}

/** Runs `act` and checks that it appended nothing at all, to any stream. */
async function expectNothingWritten(act: () => Promise<void>): Promise<void> {
  const head = await api.store.headPosition();
  await act();
  expect(await api.store.headPosition()).toBe(head);
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = (metric?.values as Array<{ labels: Record<string, string>; value: number }> | undefined)?.find((v) =>
    Object.entries(labels).every(([key, label]) => v.labels[key] === label),
  );
  return value?.value ?? 0;
}

describe('POST /v1/callbacks/{channel}', () => {
  describe('accepting', () => {
    it('records one ProviderCallbackReceived with the payload, the times, the body hash and the request ids', async () => {
      const body = callbackPayload({ type: 'payout.failed', data: { reason: 'beneficiary_account_closed', attempt: 2 } });
      const payload = JSON.parse(body) as { data: Record<string, unknown>; timestamp: string };
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const before = new Date();
      const answer = await deliver(api.baseUrl, 'sandbox', body, {
        secrets: [secret],
        headers: { 'x-correlation-id': 'corr-callback-1', traceparent },
      });
      const after = new Date();
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: 'accepted', position: expect.stringMatching(/^[0-9]+$/) });

      const callbackId = callbackIdFor('sandbox', answer.webhookId);
      const events = await callbackEvents('sandbox', answer.webhookId);
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event!.id).toBe(callbackEventIdFor(callbackId));
      expect(event!.streamName).toBe(`callback-${callbackId}`);
      expect(event!.type).toBe('ProviderCallbackReceived');
      expect(event!.globalPosition.toString()).toBe(answer.body.position);
      const data = event!.data as Record<string, unknown>;
      expect(data).toEqual({
        channel: 'sandbox',
        webhookId: answer.webhookId,
        callbackType: 'payout.failed',
        withdrawalId: payload.data.withdrawalId,
        attempt: 2,
        idempotencyKey: payload.data.idempotencyKey,
        providerReference: payload.data.providerReference,
        amount: '1050',
        currency: 'EUR',
        reason: 'beneficiary_account_closed',
        occurredAt: payload.timestamp,
        sentAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/),
        receivedAt: expect.any(String),
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
      const receivedAt = new Date(data.receivedAt as string).getTime();
      expect(receivedAt).toBeGreaterThanOrEqual(before.getTime());
      expect(receivedAt).toBeLessThanOrEqual(after.getTime());
      expect(Math.abs(new Date(data.sentAt as string).getTime() - before.getTime())).toBeLessThan(2_000);
      expect(event!.metadata).toMatchObject({
        correlationId: 'corr-callback-1',
        causationId: answer.headers.get('x-request-id'),
        principal: 'provider:sandbox',
      });
      expect(String(event!.metadata.traceparent)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    });

    it('takes no API key, and records a callback for a withdrawal nobody knows (the process manager raises it)', async () => {
      const answer = await deliver(api.baseUrl, 'sandbox', callbackPayload({ data: { withdrawalId: `never-${randomUUID()}` } }), {
        secrets: [secret],
        headers: { authorization: 'Bearer not-a-key' },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.status).toBe('accepted');
      expect(await callbackEvents('sandbox', answer.webhookId)).toHaveLength(1);
    });

    it('accepts a signature computed from the specification with node:crypto alone', async () => {
      const body = callbackPayload();
      const id = `msg_${randomUUID()}`;
      const timestamp = unixSeconds(new Date());
      const answer = await deliver(api.baseUrl, 'sandbox', body, {
        id,
        timestamp,
        secrets: [secret],
        headers: { 'webhook-signature': specSignature(secret, id, timestamp, body) },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.status).toBe('accepted');
    });

    it('verifies the raw bytes: white space and key order as sent are kept, and a re-serialised body is refused', async () => {
      // What a provider may well send: indentation, a key order of its own, escaped unicode.
      const raw = `{\n  "timestamp": "2026-11-23T10:15:00Z",\n  "type": "payout.settled",\n  "data": {"withdrawalId": "w-${randomUUID()}", "attempt": 1, "idempotencyKey": "k-1", "providerReference": "psp_\\u00e9", "currency": "EUR", "amount": "1050"}\n}\n`;
      const reserialised = JSON.stringify(JSON.parse(raw));
      expect(reserialised).not.toBe(raw);
      await expectNothingWritten(async () => {
        const parsedFirst = await deliver(api.baseUrl, 'sandbox', raw, { secrets: [secret], sendBody: reserialised });
        expect(parsedFirst.status).toBe(401);
        expect(parsedFirst.body.error).toMatchObject({ code: 'invalid_signature', details: { reason: 'no_matching_signature' } });
      });
      const asSent = await deliver(api.baseUrl, 'sandbox', raw, { secrets: [secret] });
      expect(asSent.status).toBe(200);
      const [event] = await callbackEvents('sandbox', asSent.webhookId);
      expect((event!.data as { bodySha256: string }).bodySha256).toBe(createHash('sha256').update(raw).digest('hex'));
      expect((event!.data as { providerReference: string }).providerReference).toBe('psp_é');
    });
  });

  describe('redeliveries', () => {
    it('a redelivery with a fresh timestamp is 200 duplicate and appends nothing', async () => {
      const body = callbackPayload();
      const id = `msg_${randomUUID()}`;
      const first = await deliver(api.baseUrl, 'sandbox', body, { id, secrets: [secret], timestamp: unixSeconds(new Date()) - 60 });
      expect(first.body.status).toBe('accepted');
      await expectNothingWritten(async () => {
        const again = await deliver(api.baseUrl, 'sandbox', body, { id, secrets: [secret] });
        expect(again.status).toBe(200);
        expect(again.body).toEqual({ status: 'duplicate' });
      });
      expect(await callbackEvents('sandbox', id)).toHaveLength(1);
    });

    it('the same webhook-id delivered 20 times concurrently: all 200, one accepted, one event', async () => {
      const body = callbackPayload();
      const id = `msg_${randomUUID()}`;
      const answers = await Promise.all(Array.from({ length: 20 }, () => deliver(api.baseUrl, 'sandbox', body, { id, secrets: [secret] })));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(answers.filter((a) => a.body.status === 'accepted')).toHaveLength(1);
      expect(answers.filter((a) => a.body.status === 'duplicate')).toHaveLength(19);
      expect(await callbackEvents('sandbox', id)).toHaveLength(1);
    });

    it('the same webhook-id on two channels is two callbacks', async () => {
      const id = `msg_${randomUUID()}`;
      const body = callbackPayload();
      expect((await deliver(api.baseUrl, 'sandbox', body, { id, secrets: [secret] })).body.status).toBe('accepted');
      expect((await deliver(api.baseUrl, 'rotating', body, { id, secrets: [newSecret] })).body.status).toBe('accepted');
      expect(callbackIdFor('sandbox', id)).not.toBe(callbackIdFor('rotating', id));
    });
  });

  describe('refusing: 401 invalid_signature, nothing written', () => {
    const now = () => unixSeconds(new Date());
    const cases: Array<[string, (body: string) => Parameters<typeof deliver>[3], string]> = [
      ['a forged signature', () => ({ secrets: [secret], headers: { 'webhook-signature': `v1,${randomBytes(32).toString('base64')}` } }), 'no_matching_signature'],
      ['the wrong secret', () => ({ secrets: [strangerSecret] }), 'no_matching_signature'],
      ['no webhook-id', () => ({ secrets: [secret], headers: { 'webhook-id': undefined } }), 'missing_header'],
      ['no webhook-timestamp', () => ({ secrets: [secret], headers: { 'webhook-timestamp': undefined } }), 'missing_header'],
      ['no webhook-signature', () => ({ secrets: [secret], headers: { 'webhook-signature': undefined } }), 'missing_header'],
      [
        'a body with one byte changed',
        (body) => ({ secrets: [secret], sendBody: body.replace('"1050"', '"1051"') }),
        'no_matching_signature',
      ],
      ['a timestamp 301 s old', () => ({ secrets: [secret], timestamp: now() - 301 }), 'stale_timestamp'],
      ['a timestamp 301 s ahead', () => ({ secrets: [secret], timestamp: now() + 301 }), 'stale_timestamp'],
      ['a signature of another version only', () => ({ secrets: [secret], headers: { 'webhook-signature': 'v1a,abc' } }), 'malformed_signature'],
    ];

    it.each(cases)('%s', async (_name, delivery, reason) => {
      const body = callbackPayload();
      const failuresBefore = await metricValue('ledger_callback_verification_failures_total', { channel: 'sandbox', reason });
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', body, delivery(body));
        expect(answer.status).toBe(401);
        expect(answer.body.error).toMatchObject({ code: 'invalid_signature', details: { reason } });
        expect(answer.body.requestId).toBe(answer.headers.get('x-request-id'));
        // Nothing of what was sent comes back.
        expect(JSON.stringify(answer.body)).not.toContain('v1,');
      });
      expect(await metricValue('ledger_callback_verification_failures_total', { channel: 'sandbox', reason })).toBe(failuresBefore + 1);
    });

    it('a timestamp 299 s off either way is still accepted', async () => {
      for (const offset of [-299, 299]) {
        const answer = await deliver(api.baseUrl, 'sandbox', callbackPayload(), { secrets: [secret], timestamp: now() + offset });
        expect(answer.status).toBe(200);
      }
    });
  });

  describe('refusing: 400 malformed_callback for a signed body of the wrong shape, nothing written', () => {
    const cases: Array<[string, string, string, string | undefined]> = [
      ['not JSON', 'this is not json {', 'body_not_json', undefined],
      ['a JSON array', '[1,2,3]', 'body_not_an_object', undefined],
      ['an unknown type', callbackPayload({ type: 'payout.exploded' }), 'unknown_event_type', 'type'],
      ['no withdrawalId', callbackPayload({ data: { withdrawalId: undefined } }), 'invalid_field', 'data.withdrawalId'],
      ['an amount with a decimal point', callbackPayload({ data: { amount: '10.50' } }), 'invalid_field', 'data.amount'],
      ['an amount as a JSON number', callbackPayload({ data: { amount: 1050 } }), 'invalid_field', 'data.amount'],
      ['an unsupported currency', callbackPayload({ data: { currency: 'XXX' } }), 'invalid_field', 'data.currency'],
      ['attempt 0', callbackPayload({ data: { attempt: 0 } }), 'invalid_field', 'data.attempt'],
      ['no timestamp', callbackPayload({ timestamp: 'yesterday' }), 'invalid_field', 'timestamp'],
    ];

    it.each(cases)('%s', async (_name, body, reason, field) => {
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', body, { secrets: [secret] });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toMatchObject({ code: 'malformed_callback', details: { reason, ...(field ? { field } : {}) } });
      });
    });

    it('an empty body with a valid signature is 400 too', async () => {
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', '', { secrets: [secret] });
        expect(answer.status).toBe(400);
        expect(answer.body.error!.code).toBe('malformed_callback');
      });
    });

    it('a body that is not JSON and not signed is 401: the signature is checked first', async () => {
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', 'not json', { secrets: [strangerSecret] });
        expect(answer.status).toBe(401);
      });
    });
  });

  describe('channels and limits', () => {
    it('an unknown channel is 404 channel_not_found', async () => {
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'nowhere', callbackPayload(), { secrets: [secret] });
        expect(answer.status).toBe(404);
        expect(answer.body.error).toMatchObject({ code: 'channel_not_found', details: { channel: 'nowhere' } });
        const odd = await deliver(api.baseUrl, 'Not-A-Channel', callbackPayload(), { secrets: [secret] });
        expect(odd.status).toBe(404);
        expect(odd.body.error).toMatchObject({ code: 'channel_not_found', details: {} });
      });
    });

    it('during a secret rotation both secrets verify, each on its own', async () => {
      const withOld = await deliver(api.baseUrl, 'rotating', callbackPayload(), { secrets: [oldSecret] });
      const withNew = await deliver(api.baseUrl, 'rotating', callbackPayload(), { secrets: [newSecret] });
      const withBoth = await deliver(api.baseUrl, 'rotating', callbackPayload(), { secrets: [strangerSecret, newSecret] });
      expect([withOld.status, withNew.status, withBoth.status]).toEqual([200, 200, 200]);
      const withOther = await deliver(api.baseUrl, 'rotating', callbackPayload(), { secrets: [secret] });
      expect(withOther.status).toBe(401);
    });

    it('the body limit applies: a larger body is 413 payload_too_large', async () => {
      const body = callbackPayload({ data: { reason: 'x'.repeat(70 * 1024) } });
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', body, { secrets: [secret] });
        expect(answer.status).toBe(413);
        expect(answer.body.error!.code).toBe('payload_too_large');
      });
    });

    it('a gzip Content-Encoding is undone before verification: the signature covers the payload', async () => {
      const body = callbackPayload();
      const answer = await deliver(api.baseUrl, 'sandbox', body, {
        secrets: [secret],
        sendBody: gzipSync(body),
        headers: { 'content-encoding': 'gzip' },
      });
      expect(answer.status).toBe(200);
      const [event] = await callbackEvents('sandbox', answer.webhookId);
      expect((event!.data as { bodySha256: string }).bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    });

    it('a body that does not say it is JSON is 415, before anything is read', async () => {
      await expectNothingWritten(async () => {
        const answer = await deliver(api.baseUrl, 'sandbox', callbackPayload(), { secrets: [secret], headers: { 'content-type': 'text/plain' } });
        expect(answer.status).toBe(415);
        expect(answer.body.error!.code).toBe('unsupported_media_type');
      });
    });

    it('counts callbacks by channel and outcome at /metrics', async () => {
      const response = await fetch(`${api.baseUrl}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toMatch(/ledger_callbacks_total\{channel="sandbox",outcome="accepted"\} [1-9]/);
      expect(text).toMatch(/ledger_callbacks_total\{channel="sandbox",outcome="duplicate"\} [1-9]/);
      expect(text).toMatch(/ledger_callbacks_total\{channel="sandbox",outcome="rejected"\} [1-9]/);
      expect(text).toMatch(/ledger_callbacks_total\{channel="_unknown",outcome="rejected"\} [1-9]/);
      expect(text).toMatch(/ledger_callback_verification_failures_total\{channel="_unknown",reason="unknown_channel"\} [1-9]/);
      expect(text).toContain('ledger_command_api_http_request_duration_seconds_bucket');
      expect(text).not.toContain('Not-A-Channel');
    });
  });
});

describe('callback rate limits', () => {
  let limited: Harness;
  const channelSecret = generateWebhookSecret();

  beforeAll(async () => {
    limited = await startLedgerApi({
      paymentChannels: [callbackChannel('sandbox', [channelSecret])],
      // Tiny buckets that do not refill within the test.
      rateLimit: { perSecond: 0.001, burst: 2 },
      callbackRateLimit: { perSecond: 0.001, burst: 5 },
    });
  });
  afterAll(async () => {
    await limited?.close();
  });

  it('verified callbacks do not use the per-API-key limit, but a per-channel one, answered 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      statuses.push((await deliver(limited.baseUrl, 'sandbox', callbackPayload(), { secrets: [channelSecret] })).status);
    }
    // Five fit in the channel's bucket although the API-key bucket holds two.
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const over = await deliver(limited.baseUrl, 'sandbox', callbackPayload(), { secrets: [channelSecret] });
    expect(over.body.error!.code).toBe('rate_limited');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('refused callbacks are limited per client address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await deliver(limited.baseUrl, 'sandbox', callbackPayload(), { secrets: [strangerSecret] })).status);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });
});
