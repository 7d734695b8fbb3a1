import { ConfigError } from '@ledger/platform';
import { CHANNEL_DEFAULTS, loadPaymentChannels, parsePaymentChannels, sandboxChannelConfig } from './channel-config';
import { generateWebhookSecret } from './webhooks';

const secret = generateWebhookSecret();
const base = {
  name: 'acme_bank',
  baseUrl: 'https://payouts.acme.example',
  apiKey: 'sk_live_0123456789',
  webhookSecrets: [secret],
  currencies: ['EUR', 'USD'],
  minAmount: '100',
  maxAmount: '100000000',
};

function parse(channels: unknown[]): ReturnType<typeof parsePaymentChannels> {
  return parsePaymentChannels(JSON.stringify(channels));
}

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('payment channel configuration', () => {
  it('parses PAYMENT_CHANNELS with amounts as bigint and defaults for the optional fields', () => {
    const [channel] = loadPaymentChannels({ PAYMENT_CHANNELS: JSON.stringify([base]) });
    expect(channel).toEqual({
      ...base,
      minAmount: 100n,
      maxAmount: 100_000_000n,
      priority: CHANNEL_DEFAULTS.priority,
      timeoutMs: CHANNEL_DEFAULTS.timeoutMs,
      retry: CHANNEL_DEFAULTS.retry,
      breaker: CHANNEL_DEFAULTS.breaker,
    });
  });

  it('takes partial retry and breaker settings over the defaults', () => {
    const [channel] = parse([{ ...base, priority: 2, timeoutMs: 3000, retry: { maxAttempts: 5 }, breaker: { halfOpenAfterMs: 1000 } }]);
    expect(channel).toMatchObject({
      priority: 2,
      timeoutMs: 3000,
      retry: { ...CHANNEL_DEFAULTS.retry, maxAttempts: 5 },
      breaker: { ...CHANNEL_DEFAULTS.breaker, halfOpenAfterMs: 1000 },
    });
  });

  it('has no channels when PAYMENT_CHANNELS is unset or blank', () => {
    expect(loadPaymentChannels({})).toEqual([]);
    expect(loadPaymentChannels({ PAYMENT_CHANNELS: ' ' })).toEqual([]);
  });

  it.each([
    ['not JSON', () => parsePaymentChannels('[{'), /not valid JSON/],
    ['not an array', () => parsePaymentChannels('{}'), /must be a JSON array/],
    ['an unknown field', () => parse([{ ...base, timeout: 5 }]), /PAYMENT_CHANNELS\[0\] \(acme_bank\) has an unknown field "timeout"/],
    ['a missing field', () => parse([{ ...base, apiKey: undefined }]), /\.apiKey is required/],
    ['a bad name', () => parse([{ ...base, name: 'Acme-Bank' }]), /\.name must be/],
    ['an unknown currency', () => parse([{ ...base, currencies: ['EUR', 'XXX'] }]), /\.currencies\[1\]: currency XXX is not supported/],
    ['a lower-case currency', () => parse([{ ...base, currencies: ['eur'] }]), /\.currencies\[0\]/],
    ['a repeated currency', () => parse([{ ...base, currencies: ['EUR', 'EUR'] }]), /lists a currency twice/],
    ['no currencies', () => parse([{ ...base, currencies: [] }]), /\.currencies must list/],
    ['a number amount', () => parse([{ ...base, minAmount: 100 }]), /\.minAmount: an amount is a string of digits/],
    ['a zero minimum', () => parse([{ ...base, minAmount: '0' }]), /\.minAmount must be a positive amount/],
    ['min above max', () => parse([{ ...base, minAmount: '500', maxAmount: '100' }]), /minAmount \(500\) must not exceed maxAmount \(100\)/],
    ['no secrets', () => parse([{ ...base, webhookSecrets: [] }]), /\.webhookSecrets must list at least one/],
    ['an empty secret', () => parse([{ ...base, webhookSecrets: [''] }]), /\.webhookSecrets\[0\] must have the form whsec_/],
    ['a short secret', () => parse([{ ...base, webhookSecrets: ['whsec_c2hvcnQ='] }]), /\.webhookSecrets\[0\] must decode to 24-64 bytes/],
    ['a repeated secret', () => parse([{ ...base, webhookSecrets: [secret, secret] }]), /lists a secret twice/],
    ['a non-http URL', () => parse([{ ...base, baseUrl: 'ftp://x.example' }]), /\.baseUrl must be an http/],
    ['credentials in the URL', () => parse([{ ...base, baseUrl: 'https://u:p@x.example' }]), /must not carry credentials/],
    ['a zero timeout', () => parse([{ ...base, timeoutMs: 0 }]), /\.timeoutMs must be a whole number/],
    ['an unknown retry field', () => parse([{ ...base, retry: { attempts: 3 } }]), /\.retry has an unknown field "attempts"/],
    ['retry delays the wrong way round', () => parse([{ ...base, retry: { initialDelayMs: 500, maxDelayMs: 100 } }]), /initialDelayMs must not exceed/],
    ['zero breaker failures', () => parse([{ ...base, breaker: { consecutiveFailures: 0 } }]), /consecutiveFailures must be/],
    ['a duplicate name', () => parse([base, base]), /names the channel "acme_bank" twice/],
  ])('refuses %s with a message naming the field', (_name, run, message) => {
    expect(errorOf(run).message).toMatch(message);
  });

  it('never echoes an API key or a secret in its messages', () => {
    const message = errorOf(() => parse([{ ...base, apiKey: 'sk live with spaces', webhookSecrets: ['whsec_!!secret!!'] }])).message;
    expect(message).not.toContain('sk live');
    const secretMessage = errorOf(() => parse([{ ...base, webhookSecrets: ['whsec_!!secret!!'] }])).message;
    expect(secretMessage).not.toContain('!!secret!!');
  });

  it('builds the default sandbox channel from a base URL, key and secret', () => {
    const channel = sandboxChannelConfig({ baseUrl: 'http://127.0.0.1:4010', apiKey: 'sandbox-key', webhookSecrets: secret });
    expect(channel).toMatchObject({ name: 'sandbox', baseUrl: 'http://127.0.0.1:4010', webhookSecrets: [secret], minAmount: 1n });
    expect(() => sandboxChannelConfig({ baseUrl: 'nope', apiKey: 'k', webhookSecrets: secret })).toThrow(/baseUrl is not a URL/);
  });
});
