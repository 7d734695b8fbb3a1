import { Registry } from 'prom-client';
import {
  generateWebhookSecret,
  HttpPaymentChannel,
  paymentMetrics,
  sandboxChannelConfig,
  type PaymentChannelConfig,
  type PayoutRequest,
} from '@ledger/payments';
import { DEFAULT_BEHAVIOUR } from './sandbox-config';
import { startSandboxProvider, type RunningSandboxProvider } from './sandbox-provider.app';
import { closedPort } from './testing/callback-receiver';

/**
 * The HTTP channel adapter against a real sandbox provider over real HTTP: outcomes,
 * idempotent replays, the timeout that must stay `unknown`, and the circuit breaker.
 */
const apiKey = 'sk_sandbox_test_0123456789';
const secret = generateWebhookSecret();

let sandbox: RunningSandboxProvider;
let sequence = 0;

beforeAll(async () => {
  sandbox = await startSandboxProvider({ apiKey, webhookSecrets: [secret], seed: 7, logLevel: 'silent', behaviour: { settleDelayMs: 10_000 } });
});

afterAll(async () => {
  await sandbox.close();
});

beforeEach(() => {
  sandbox.setBehaviour({ ...DEFAULT_BEHAVIOUR, settleDelayMs: 10_000 });
});

function channelFor(overrides: Partial<Parameters<typeof sandboxChannelConfig>[0]> = {}, registry?: Registry): HttpPaymentChannel {
  const config: PaymentChannelConfig = sandboxChannelConfig({
    baseUrl: sandbox.url,
    apiKey,
    webhookSecrets: secret,
    currencies: ['EUR', 'USD', 'CHF'],
    timeoutMs: 1_000,
    retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
    breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
    ...overrides,
  });
  return new HttpPaymentChannel(config, registry ? { metrics: paymentMetrics(registry) } : {});
}

function payout(overrides: Partial<PayoutRequest> = {}): PayoutRequest {
  sequence += 1;
  const withdrawalId = `wd-${sequence}`;
  return {
    idempotencyKey: `${withdrawalId}:1`,
    withdrawalId,
    attempt: 1,
    amount: 1_050n,
    currency: 'EUR',
    destination: { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada Lovelace' },
    ...overrides,
  };
}

function requests(route: 'POST /payouts' | 'GET /payouts/:key'): number {
  return sandbox.ledger().requests[route] ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('HttpPaymentChannel.submit', () => {
  it('is accepted, pending, under a provider reference', async () => {
    const request = payout();
    const outcome = await channelFor().submit(request);
    expect(outcome).toEqual({ kind: 'accepted', providerReference: expect.stringMatching(/^psp_[0-9a-f]{24}$/), status: 'pending' });
    expect(sandbox.provider.payout(request.idempotencyKey)).toMatchObject({ amount: 1_050n, currency: 'EUR', withdrawalId: request.withdrawalId });
  });

  it('returns the same reference for a replay of the same key, and the provider pays once', async () => {
    const channel = channelFor();
    const request = payout();
    const first = await channel.submit(request);
    const second = await channel.submit(request);
    expect(second).toEqual(first);
    await sandbox.flush({ all: true });
    const third = await channel.submit(request);
    expect(third).toEqual({ ...first, status: 'settled' });
    const entries = sandbox.ledger().payouts.filter((entry) => entry.idempotencyKey === request.idempotencyKey);
    expect(entries).toEqual([expect.objectContaining({ submissions: 3, timesPaid: 1, status: 'settled' })]);
  });

  it('is unknown, not rejected, when the key already holds a different payout', async () => {
    const channel = channelFor();
    const request = payout();
    await channel.submit(request);
    expect(await channel.submit({ ...request, amount: 999n })).toEqual({ kind: 'unknown', reason: 'idempotency_key_reused' });
  });

  it('is rejected with the provider\'s code on a 422: an unsupported currency, an amount over its limit', async () => {
    const channel = channelFor();
    expect(await channel.submit(payout({ currency: 'CHF' }))).toMatchObject({ kind: 'rejected', code: 'unsupported_currency' });
    expect(await channel.submit(payout({ amount: 100_000_001n }))).toMatchObject({ kind: 'rejected', code: 'amount_exceeds_limit' });
    expect(sandbox.ledger().payouts.some((entry) => entry.amount === '100000001')).toBe(false);
  });

  it('is rejected on a wrong API key', async () => {
    expect(await channelFor({ apiKey: 'sk_wrong_key_0000' }).submit(payout())).toMatchObject({ kind: 'rejected', code: 'unauthenticated' });
  });

  it('is rejected without a request when the channel does not serve the currency or amount', async () => {
    const before = requests('POST /payouts');
    const channel = channelFor({ minAmount: 100n, maxAmount: 5_000n });
    expect(await channel.submit(payout({ currency: 'GBP' }))).toMatchObject({ kind: 'rejected', code: 'currency_not_supported' });
    expect(await channel.submit(payout({ amount: 99n }))).toMatchObject({ kind: 'rejected', code: 'amount_out_of_range' });
    expect(await channel.submit(payout({ attempt: 0 }))).toMatchObject({ kind: 'rejected', code: 'invalid_request' });
    expect(requests('POST /payouts')).toBe(before);
  });

  it('is UNKNOWN, never rejected, when the provider takes the payout but answers after our deadline', async () => {
    sandbox.setBehaviour({ timeoutRate: 1, hangMs: 5_000 });
    const channel = channelFor({ timeoutMs: 300 });
    const request = payout();
    const startedMs = Date.now();
    const outcome = await channel.submit(request);
    expect(outcome).toEqual({ kind: 'unknown', reason: 'timeout' });
    expect(Date.now() - startedMs).toBeLessThan(2_000);
    // The provider does hold it: reading the timeout as "not paid" would pay twice on failover.
    expect(sandbox.provider.payout(request.idempotencyKey)).toBeDefined();
    expect(await channel.status(request.idempotencyKey)).toMatchObject({ kind: 'pending', amount: 1_050n, currency: 'EUR' });
  });

  it('is rejected as provider_unreachable when every try was refused before anything was sent', async () => {
    const port = await closedPort();
    const outcome = await channelFor({ baseUrl: `http://127.0.0.1:${port}` }).submit(payout());
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'provider_unreachable' });
  });
});

describe('HttpPaymentChannel circuit breaker', () => {
  it('opens after consecutive 503s, then refuses as circuit_open without a request reaching the provider', async () => {
    sandbox.setBehaviour({ unavailable: true });
    const registry = new Registry();
    const channel = channelFor({}, registry);
    const before = requests('POST /payouts');
    const statusBefore = requests('GET /payouts/:key');

    // Three tries, three 503s: the provider may have taken it (a 5xx is no proof), so unknown.
    expect(await channel.submit(payout())).toEqual({ kind: 'unknown', reason: 'http_503' });
    expect(requests('POST /payouts')).toBe(before + 3);
    expect(channel.circuitState()).toBe('open');

    const rejected = await channel.submit(payout());
    expect(rejected).toMatchObject({ kind: 'rejected', code: 'circuit_open' });
    expect(await channel.status('anything')).toEqual({ kind: 'unknown', reason: 'circuit_open' });
    expect(requests('POST /payouts')).toBe(before + 3);
    expect(requests('GET /payouts/:key')).toBe(statusBefore);

    const metrics = await registry.metrics();
    expect(metrics).toContain('ledger_payment_channel_circuit_state{channel="sandbox"} 2');
    expect(metrics).toContain('ledger_payouts_total{channel="sandbox",outcome="unknown"} 1');
    expect(metrics).toContain('ledger_payouts_total{channel="sandbox",outcome="rejected"} 1');
    expect(metrics).toMatch(/ledger_payment_channel_request_duration_seconds_count\{channel="sandbox",operation="submit"\} 3/);
  });

  it('opens part-way through a submit, which stays unknown because earlier tries were sent', async () => {
    sandbox.setBehaviour({ unavailable: true });
    const channel = channelFor({ breaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 } });
    expect(await channel.submit(payout())).toEqual({ kind: 'unknown', reason: 'circuit_open' });
    expect(channel.circuitState()).toBe('open');
  });

  it('recovers through half-open: after the break one trial request goes through and closes the circuit', async () => {
    sandbox.setBehaviour({ unavailable: true });
    const registry = new Registry();
    const channel = channelFor({}, registry);
    await channel.submit(payout());
    expect(channel.circuitState()).toBe('open');

    sandbox.setBehaviour({ unavailable: false });
    await sleep(350);
    expect(channel.circuitState()).toBe('half_open');
    expect(await registry.metrics()).toContain('ledger_payment_channel_circuit_state{channel="sandbox"} 1');
    expect(await channel.submit(payout())).toMatchObject({ kind: 'accepted' });
    expect(channel.circuitState()).toBe('closed');
    expect(await registry.metrics()).toContain('ledger_payment_channel_circuit_state{channel="sandbox"} 0');
  });

  it('opens again when the half-open trial fails', async () => {
    sandbox.setBehaviour({ unavailable: true });
    const channel = channelFor();
    await channel.submit(payout());
    await sleep(350);
    expect(channel.circuitState()).toBe('half_open');
    expect(await channel.submit(payout())).toMatchObject({ kind: 'unknown' });
    expect(channel.circuitState()).toBe('open');
  });

  it('does not count 4xx answers as failures: a provider saying no is healthy', async () => {
    const channel = channelFor({ breaker: { consecutiveFailures: 1, halfOpenAfterMs: 300 } });
    for (let index = 0; index < 3; index += 1) {
      expect(await channel.submit(payout({ currency: 'CHF' }))).toMatchObject({ kind: 'rejected', code: 'unsupported_currency' });
    }
    expect(channel.circuitState()).toBe('closed');
  });

  it('can be held open by an operator', async () => {
    const channel = channelFor();
    const handle = channel.isolate();
    expect(channel.circuitState()).toBe('open');
    expect(await channel.submit(payout())).toMatchObject({ kind: 'rejected', code: 'circuit_open' });
    handle.dispose();
    expect(channel.circuitState()).toBe('closed');
  });
});

describe('HttpPaymentChannel.status', () => {
  it('is not_found for a key the provider never saw', async () => {
    expect(await channelFor().status('never-seen')).toEqual({ kind: 'not_found' });
  });

  it('follows a payout from pending to settled, with amount and currency', async () => {
    const channel = channelFor();
    const request = payout({ amount: 123_456n, currency: 'USD' });
    const accepted = await channel.submit(request);
    expect(await channel.status(request.idempotencyKey)).toMatchObject({ kind: 'pending' });
    await sandbox.flush({ all: true });
    expect(await channel.status(request.idempotencyKey)).toEqual({
      kind: 'settled',
      providerReference: accepted.kind === 'accepted' ? accepted.providerReference : 'none',
      withdrawalId: request.withdrawalId,
      attempt: 1,
      amount: 123_456n,
      currency: 'USD',
    });
  });

  it('reports failed and returned payouts with the provider\'s reason', async () => {
    const channel = channelFor();
    sandbox.setBehaviour({ failureRate: 1 });
    const failing = payout();
    await channel.submit(failing);
    // The fate is drawn at acceptance: turning the knob off again does not save the first payout.
    sandbox.setBehaviour({ failureRate: 0, returnRate: 1 });
    const returning = payout();
    await channel.submit(returning);
    sandbox.setBehaviour({ returnRate: 0 });
    await sandbox.flush({ all: true });
    expect(await channel.status(failing.idempotencyKey)).toMatchObject({ kind: 'failed', reason: expect.any(String) });
    expect(await channel.status(returning.idempotencyKey)).toMatchObject({ kind: 'returned', reason: expect.any(String) });
    // A replay of the returned payout's submit reports it paid; the return comes by callback and status.
    expect(await channel.submit(returning)).toMatchObject({ kind: 'accepted', status: 'settled' });
  });

  it('is unknown, not not_found, for a 404 that is not the provider\'s "no such payout"', async () => {
    expect(await channelFor({ baseUrl: `${sandbox.url}/wrong-prefix` }).status('x')).toEqual({ kind: 'unknown', reason: 'http_404' });
  });

  it('is unknown while the provider answers 503', async () => {
    sandbox.setBehaviour({ unavailable: true });
    expect(await channelFor().status('x')).toEqual({ kind: 'unknown', reason: 'http_503' });
  });
});
