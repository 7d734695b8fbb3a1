import {
  generateWebhookSecret,
  HttpPaymentChannel,
  sandboxChannelConfig,
  WebhookVerifier,
  type VerifiedCallback,
} from '@ledger/payments';
import { DEFAULT_BEHAVIOUR, type SandboxBehaviour } from './sandbox-config';
import { startSandboxProvider, type RunningSandboxProvider } from './sandbox-provider.app';
import { startCallbackReceiver, type CallbackReceiver } from './testing/callback-receiver';

/**
 * The sandbox provider over real HTTP: its idempotency, its signed callbacks as the ledger's
 * channel adapter verifies them, its retries, each chaos knob as `/admin/ledger` records it,
 * and the statement export.
 */
const apiKey = 'sk_sandbox_test_0123456789';
const secret = generateWebhookSecret();
const destination = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada Lovelace' };

let sandbox: RunningSandboxProvider;
let receiver: CallbackReceiver;
let channel: HttpPaymentChannel;
let sequence = 0;
let clock = new Date('2026-11-23T10:00:00.000Z');

beforeAll(async () => {
  // The receiver verifies with the very adapter the ledger uses; its URL is known only once it
  // listens, so the channel is built first with a placeholder provider URL (it only verifies).
  channel = new HttpPaymentChannel(sandboxChannelConfig({ baseUrl: 'http://127.0.0.1:1', apiKey, webhookSecrets: secret }));
  receiver = await startCallbackReceiver((headers, rawBody, now) => channel.verifyCallback(headers, rawBody, now));
  sandbox = await startSandboxProvider({
    apiKey,
    webhookSecrets: [secret],
    callbackUrl: receiver.url,
    seed: 42,
    logLevel: 'silent',
    clock: () => clock,
    callbackInitialBackoffMs: 10,
    callbackMaxBackoffMs: 50,
    callbackMaxAttempts: 4,
  });
});

afterAll(async () => {
  await sandbox?.close();
  await receiver?.close();
});

beforeEach(() => {
  sandbox.setBehaviour({ ...DEFAULT_BEHAVIOUR, settleDelayMs: 60_000 });
  receiver.received.length = 0;
});

function nextKey(): { key: string; withdrawalId: string } {
  sequence += 1;
  return { key: `wd-${sequence}:1`, withdrawalId: `wd-${sequence}` };
}

async function post(key: string | undefined, body: unknown, token = apiKey): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` };
  if (key !== undefined) headers['Idempotency-Key'] = key;
  const response = await fetch(`${sandbox.url}/payouts`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

function payoutBody(withdrawalId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { withdrawalId, attempt: 1, amount: '1050', currency: 'EUR', destination, ...overrides };
}

/** Submits a payout with these knobs, then delivers everything it causes. */
async function payoutWith(behaviour: Partial<SandboxBehaviour>): Promise<{ key: string; withdrawalId: string }> {
  sandbox.setBehaviour(behaviour);
  const ids = nextKey();
  expect((await post(ids.key, payoutBody(ids.withdrawalId))).status).toBe(201);
  await sandbox.flush({ all: true });
  return ids;
}

function callbacksOf(key: string) {
  return sandbox.ledger().callbacks.filter((callback) => callback.idempotencyKey === key);
}

function receivedFor(key: string) {
  return receiver.received.filter((entry) => entry.rawBody.includes(Buffer.from(`"idempotencyKey":"${key}"`)));
}

function verifiedTypes(key: string): string[] {
  return receivedFor(key)
    .map((entry) => entry.verified)
    .filter((verified): verified is VerifiedCallback => verified !== undefined)
    .map((verified) => verified.event.type);
}

describe('the payout API', () => {
  it('creates a payout once per idempotency key: 201, then 200 replays of the same request', async () => {
    const { key, withdrawalId } = nextKey();
    const created = await post(key, payoutBody(withdrawalId));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ providerReference: expect.stringMatching(/^psp_/), status: 'pending', amount: '1050', idempotencyKey: key });
    const replayed = await post(key, payoutBody(withdrawalId));
    expect(replayed.status).toBe(200);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.providerReference).toBe(created.body.providerReference);
    const ledger = sandbox.ledger();
    expect(ledger.payouts.filter((payout) => payout.idempotencyKey === key)).toEqual([expect.objectContaining({ submissions: 2, timesPaid: 0 })]);
  });

  it('refuses the same key with a different request (422 idempotency_key_reused) and creates nothing', async () => {
    const { key, withdrawalId } = nextKey();
    await post(key, payoutBody(withdrawalId));
    const reused = await post(key, payoutBody(withdrawalId, { amount: '1051' }));
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ error: { code: 'idempotency_key_reused' } });
    expect(sandbox.provider.payout(key)?.amount).toBe(1_050n);
  });

  it('answers 422 to an unsupported currency and to an amount over its limit, and creates nothing', async () => {
    const first = nextKey();
    expect((await post(first.key, payoutBody(first.withdrawalId, { currency: 'CHF' }))).body).toMatchObject({ error: { code: 'unsupported_currency' } });
    expect((await post(first.key, payoutBody(first.withdrawalId, { currency: 'XYZ' }))).status).toBe(422);
    const second = nextKey();
    const tooMuch = await post(second.key, payoutBody(second.withdrawalId, { amount: '100000001' }));
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body).toMatchObject({ error: { code: 'amount_exceeds_limit' } });
    expect(sandbox.provider.payout(first.key)).toBeUndefined();
    expect(sandbox.provider.payout(second.key)).toBeUndefined();
  });

  it('requires the API key, the Idempotency-Key and a well-formed body', async () => {
    const { key, withdrawalId } = nextKey();
    expect((await post(key, payoutBody(withdrawalId), 'sk_wrong_key_00000')).status).toBe(401);
    expect((await post(undefined, payoutBody(withdrawalId))).body).toMatchObject({ error: { code: 'idempotency_key_missing' } });
    const invalid = await post(key, payoutBody(withdrawalId, { amount: 1050, attempt: 0, extra: true, destination: { type: 'card' } }));
    expect(invalid.status).toBe(400);
    const fields = (invalid.body.error as { details: { fields: Array<{ field: string }> } }).details.fields.map((violation) => violation.field);
    expect(fields).toEqual(expect.arrayContaining(['amount', 'attempt', 'extra', 'destination.type', 'destination.accountNumber']));
    expect(sandbox.provider.payout(key)).toBeUndefined();
  });

  it('answers GET /payouts/{key} with the payout, or 404 payout_not_found', async () => {
    const { key, withdrawalId } = nextKey();
    await post(key, payoutBody(withdrawalId));
    const found = await fetch(`${sandbox.url}/payouts/${encodeURIComponent(key)}`, { headers: { Authorization: `Bearer ${apiKey}` } });
    expect(found.status).toBe(200);
    expect(await found.json()).toMatchObject({ idempotencyKey: key, status: 'pending' });
    const missing = await fetch(`${sandbox.url}/payouts/nope`, { headers: { Authorization: `Bearer ${apiKey}` } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'payout_not_found' } });
  });
});

describe('callbacks', () => {
  it('arrive signed, in order, and verify with the channel adapter', async () => {
    const { key, withdrawalId } = await payoutWith({});
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.settled']);
    const settled = receivedFor(key)[1]!.verified!;
    expect(settled.event).toMatchObject({ idempotencyKey: key, withdrawalId, attempt: 1, amount: 1_050n, currency: 'EUR' });
    expect(settled.webhookId).toMatch(/^msg_/);
    expect(callbacksOf(key)).toEqual([
      expect.objectContaining({ type: 'payout.processing', delivered: true, forged: false, stale: false }),
      expect.objectContaining({ type: 'payout.settled', delivered: true }),
    ]);
    expect(sandbox.ledger().payouts.find((payout) => payout.idempotencyKey === key)).toMatchObject({ status: 'settled', timesPaid: 1 });
  });

  it('are retried with backoff on a 500, with the same webhook-id and a fresh timestamp each time', async () => {
    receiver.failNext(2);
    const { key } = await payoutWith({});
    const processing = callbacksOf(key)[0]!;
    expect(processing).toMatchObject({ type: 'payout.processing', delivered: true });
    expect(processing.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 200]);
    const ids = receivedFor(key).slice(0, 3).map((entry) => entry.headers['webhook-id']);
    expect(new Set(ids)).toEqual(new Set([processing.webhookId]));
    const timestamps = processing.attempts.map((attempt) => attempt.timestamp);
    expect([...timestamps].sort()).toEqual(timestamps);
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.settled']);
  });

  it('give up after callbackMaxAttempts tries, and the next callback of the payout follows', async () => {
    receiver.failNext(4);
    const { key } = await payoutWith({});
    const [processing, settled] = callbacksOf(key);
    expect(processing).toMatchObject({ delivered: false, finished: true });
    expect(processing!.attempts).toHaveLength(4);
    expect(settled).toMatchObject({ delivered: true });
  });

  it('fail a payout with a reason under failureRate', async () => {
    const { key } = await payoutWith({ failureRate: 1 });
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.failed']);
    const failed = receivedFor(key)[1]!.verified!.event;
    expect(failed.reason).toEqual(expect.any(String));
    expect(sandbox.ledger().payouts.find((payout) => payout.idempotencyKey === key)).toMatchObject({ status: 'failed', timesPaid: 0 });
  });

  it('return a settled payout later under returnRate (alias returnAfterSettleRate)', async () => {
    sandbox.setBehaviour({ returnAfterSettleRate: 1 } as Partial<SandboxBehaviour>);
    expect(sandbox.provider.behaviour.returnRate).toBe(1);
    const { key } = await payoutWith({});
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.settled', 'payout.returned']);
    expect(sandbox.ledger().payouts.find((payout) => payout.idempotencyKey === key)).toMatchObject({ status: 'returned', timesPaid: 1 });
  });

  it('are delivered twice with one webhook-id under duplicateRate', async () => {
    const { key } = await payoutWith({ duplicateRate: 1 });
    const records = callbacksOf(key);
    const byType = (type: string) => records.filter((record) => record.type === type);
    for (const type of ['payout.processing', 'payout.settled']) {
      expect(byType(type).map((record) => record.duplicate)).toEqual([false, true]);
      expect(new Set(byType(type).map((record) => record.webhookId)).size).toBe(1);
    }
    // The copy goes to the back of the payout's queue, so it may arrive after later messages.
    expect(verifiedTypes(key).sort()).toEqual(['payout.processing', 'payout.processing', 'payout.settled', 'payout.settled']);
  });

  it('are held back by lateDeliveryMs under lateRate, and a plain flush does not deliver them early', async () => {
    sandbox.setBehaviour({ lateRate: 1, lateDeliveryMs: 60_000, settleDelayMs: 0 });
    const { key, withdrawalId } = nextKey();
    await post(key, payoutBody(withdrawalId));
    await sandbox.flush();
    expect(receivedFor(key)).toHaveLength(0);
    expect(callbacksOf(key)[0]).toMatchObject({ late: true, delivered: false });
    await sandbox.flush({ all: true });
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.settled']);
  });

  it('deliver processing after settled under outOfOrderRate', async () => {
    const { key } = await payoutWith({ outOfOrderRate: 1 });
    expect(verifiedTypes(key)).toEqual(['payout.settled', 'payout.processing']);
    expect(callbacksOf(key).find((record) => record.type === 'payout.processing')).toMatchObject({ outOfOrder: true, delivered: true });
  });

  it('are followed by a forged one under forgedRate, which the receiver refuses and the ledger marks forged', async () => {
    const { key } = await payoutWith({ forgedRate: 1 });
    const forged = callbacksOf(key).filter((record) => record.forged);
    expect(forged).toEqual([expect.objectContaining({ type: 'payout.failed', forged: true, delivered: false })]);
    const refused = receivedFor(key).filter((entry) => entry.rejection);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ status: 401, rejection: { code: 'invalid_signature', reason: 'no_matching_signature' } });
    expect(verifiedTypes(key)).toEqual(['payout.processing', 'payout.settled']);
  });

  it('carry a stale timestamp on the first try under staleTimestampRate, refused, then delivered fresh', async () => {
    const { key } = await payoutWith({ staleTimestampRate: 1 });
    const processing = callbacksOf(key)[0]!;
    expect(processing).toMatchObject({ stale: true, delivered: true });
    expect(processing.attempts.map((attempt) => [attempt.stale, attempt.status])).toEqual([
      [true, 401],
      [false, 200],
    ]);
    expect(receivedFor(key)[0]!.rejection).toMatchObject({ reason: 'stale_timestamp' });
  });

  it('keep working across a secret rotation: signed with the first secret, verified by a receiver holding both', async () => {
    await payoutWith({});
    const next = generateWebhookSecret();
    const verifier = new WebhookVerifier([next, secret]);
    const delivered = receiver.received.find((entry) => entry.verified)!;
    expect(verifier.verify(delivered.headers, delivered.rawBody, new Date()).webhookId).toBe(delivered.verified!.webhookId);
  });
});

describe('the other chaos knobs', () => {
  it('timeoutRate accepts the payout but holds the answer past the client\'s deadline', async () => {
    sandbox.setBehaviour({ timeoutRate: 1, hangMs: 10_000 });
    const { key, withdrawalId } = nextKey();
    await expect(
      fetch(`${sandbox.url}/payouts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiKey}`, 'Idempotency-Key': key },
        body: JSON.stringify(payoutBody(withdrawalId)),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow();
    expect(sandbox.ledger().payouts.find((payout) => payout.idempotencyKey === key)).toMatchObject({ status: 'pending', submissions: 1 });
  });

  it('unavailable answers 503 to the API, counts the request, and leaves the admin routes open', async () => {
    const before = sandbox.ledger().requests['POST /payouts'] ?? 0;
    sandbox.setBehaviour({ unavailable: true });
    const { key, withdrawalId } = nextKey();
    const answer = await post(key, payoutBody(withdrawalId));
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: { code: 'service_unavailable' } });
    expect(sandbox.provider.payout(key)).toBeUndefined();
    const ledger = (await (await fetch(`${sandbox.url}/admin/ledger`)).json()) as { requests: Record<string, number> };
    expect(ledger.requests['POST /payouts']).toBe(before + 1);
  });

  it('are set over HTTP with PUT /admin/behaviour, which refuses unknown knobs and bad values', async () => {
    const put = (body: unknown) =>
      fetch(`${sandbox.url}/admin/behaviour`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const changed = await put({ duplicateRate: 0.5, unavailable: false });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ duplicateRate: 0.5 });
    for (const bad of [{ duplicatRate: 1 }, { failureRate: 2 }, { settleDelayMs: -1 }, { unavailable: 'yes' }]) {
      const refused = await put(bad);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ error: { code: 'invalid_behaviour' } });
    }
    expect(sandbox.provider.behaviour.duplicateRate).toBe(0.5);
  });

  it('POST /admin/flush?all=true settles over HTTP and reports what ran', async () => {
    const { key, withdrawalId } = nextKey();
    await post(key, payoutBody(withdrawalId));
    const flushed = await fetch(`${sandbox.url}/admin/flush?all=true`, { method: 'POST' });
    expect(flushed.status).toBe(200);
    expect(await flushed.json()).toEqual({ ran: expect.any(Number), remaining: 0 });
    expect(sandbox.provider.payout(key)?.status).toBe('settled');
  });
});

describe('determinism', () => {
  it('gives a payout the same reference and fate under the same seed, whatever else happened first', async () => {
    const options = { apiKey, webhookSecrets: [secret], logLevel: 'silent', behaviour: { failureRate: 0.5, settleDelayMs: 0 } };
    const one = await startSandboxProvider({ ...options, seed: 99 });
    const two = await startSandboxProvider({ ...options, seed: 99 });
    try {
      const keys = Array.from({ length: 20 }, (_, index) => `det-${index}`);
      const submit = async (provider: RunningSandboxProvider, order: string[]) => {
        for (const key of order) provider.provider.submit(key, { withdrawalId: key, attempt: 1, amount: 5n, currency: 'EUR', destination: destination as never });
        await provider.flush({ all: true });
        return Object.fromEntries(provider.ledger().payouts.map((payout) => [payout.idempotencyKey, [payout.providerReference, payout.status]]));
      };
      const forwards = await submit(one, keys);
      const backwards = await submit(two, [...keys].reverse());
      expect(backwards).toEqual(forwards);
      const statuses = Object.values(forwards).map(([, status]) => status);
      expect(statuses).toContain('failed');
      expect(statuses).toContain('settled');
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('GET /admin/statements/{date}.csv', () => {
  it('lists the day\'s settlements and returns, booked on their own day, and not failures', async () => {
    sandbox.setBehaviour({ settleDelayMs: 0 });
    clock = new Date('2031-01-02T09:00:00.000Z');
    const settled = nextKey();
    await post(settled.key, payoutBody(settled.withdrawalId, { amount: '250000', currency: 'USD' }));
    sandbox.setBehaviour({ failureRate: 1 });
    const failed = nextKey();
    await post(failed.key, payoutBody(failed.withdrawalId));
    sandbox.setBehaviour({ failureRate: 0, returnRate: 1, returnDelayMs: 60_000 });
    const returned = nextKey();
    await post(returned.key, payoutBody(returned.withdrawalId));
    await sandbox.flush();
    clock = new Date('2031-01-03T08:00:00.000Z');
    await sandbox.flush({ all: true });

    const reference = (key: string) => sandbox.provider.payout(key)!.providerReference;
    const day1 = await fetch(`${sandbox.url}/admin/statements/2031-01-02.csv`);
    expect(day1.status).toBe(200);
    expect(day1.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await day1.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('provider_reference,withdrawal_id,amount_minor,currency,settled_date,status');
    expect(lines.slice(1).sort()).toEqual(
      [
        `${reference(settled.key)},${settled.withdrawalId},250000,USD,2031-01-02,settled`,
        `${reference(returned.key)},${returned.withdrawalId},1050,EUR,2031-01-02,settled`,
      ].sort(),
    );
    expect(await (await fetch(`${sandbox.url}/admin/statements/2031-01-03.csv`)).text()).toBe(
      `provider_reference,withdrawal_id,amount_minor,currency,settled_date,status\n${reference(returned.key)},${returned.withdrawalId},1050,EUR,2031-01-03,returned\n`,
    );
    expect((await fetch(`${sandbox.url}/admin/statements/2031-02-30.csv`)).status).toBe(404);
    expect((await fetch(`${sandbox.url}/admin/statements/2031-01-02.json`)).status).toBe(404);
  });
});
