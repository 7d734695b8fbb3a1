import { AMOUNT_MAX, isChannel, parseAmount, parseCurrency, type CurrencyCode } from '@ledger/domain';
import { ConfigError } from '@ledger/platform';
import { decodeWebhookSecret } from './webhooks';

/** Retries of one operation on one channel, with exponential backoff between tries. */
export interface RetrySettings {
  /** Tries in all, the first included: 1 means no retry. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** When a channel's circuit opens, and when it lets one trial request through again. */
export interface BreakerSettings {
  /** Consecutive transient failures (5xx, timeouts, network errors) that open the circuit. */
  readonly consecutiveFailures: number;
  /** How long the circuit stays open before one request may test the provider (half-open). */
  readonly halfOpenAfterMs: number;
}

/** One payment channel: a provider account we pay out through. */
export interface PaymentChannelConfig {
  /** Appears in ledger account names (`payouts:settled:<name>`) and the callback path (`/v1/callbacks/<name>`). */
  readonly name: string;
  /** The provider's API root, e.g. `http://127.0.0.1:4010`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey: string;
  /** `whsec_<base64>` secrets its callbacks are signed with; two while one is being rotated. */
  readonly webhookSecrets: readonly string[];
  readonly currencies: readonly CurrencyCode[];
  /** Inclusive bounds of one payout, minor units. */
  readonly minAmount: bigint;
  readonly maxAmount: bigint;
  /** Lower is preferred. */
  readonly priority: number;
  /** Deadline of one submit or status call, retries included. */
  readonly timeoutMs: number;
  readonly retry: RetrySettings;
  readonly breaker: BreakerSettings;
  /** Where the provider should send callbacks, sent with each payout; absent when configured at the provider. */
  readonly callbackUrl?: string;
}

/**
 * Defaults for the optional fields. The timeout leaves room for three tries with their
 * backoff; five consecutive transient failures open the circuit, which then tests the
 * provider again after 30 seconds.
 */
export const CHANNEL_DEFAULTS = Object.freeze({
  priority: 100,
  timeoutMs: 10_000,
  retry: Object.freeze({ maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 2_000 }),
  breaker: Object.freeze({ consecutiveFailures: 5, halfOpenAfterMs: 30_000 }),
});

const FIELDS = new Set([
  'name',
  'baseUrl',
  'apiKey',
  'webhookSecrets',
  'currencies',
  'minAmount',
  'maxAmount',
  'priority',
  'timeoutMs',
  'retry',
  'breaker',
  'callbackUrl',
]);
const RETRY_FIELDS = new Set(['maxAttempts', 'initialDelayMs', 'maxDelayMs']);
const BREAKER_FIELDS = new Set(['consecutiveFailures', 'halfOpenAfterMs']);

/**
 * The channels in `PAYMENT_CHANNELS`, a JSON array of channel objects with amounts as digit
 * strings (docs/payments.md). Unset or empty: no channels, and the caller decides (the
 * all-in-one entry point falls back to `sandboxChannelConfig`).
 */
export function loadPaymentChannels(env: NodeJS.ProcessEnv = process.env): PaymentChannelConfig[] {
  const raw = env.PAYMENT_CHANNELS;
  if (raw === undefined || raw.trim() === '') return [];
  return parsePaymentChannels(raw, 'PAYMENT_CHANNELS');
}

/**
 * Parses a JSON array of channels, strictly: a mistake in where money goes must stop the
 * process at start. Messages name the entry and the field (`PAYMENT_CHANNELS[1].minAmount`)
 * and never echo an API key or a secret.
 */
export function parsePaymentChannels(json: string, source = 'PAYMENT_CHANNELS'): PaymentChannelConfig[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source} is not valid JSON; expected an array of channel objects`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`${source} must be a JSON array of channel objects`);
  const channels = parsed.map((entry: unknown, index) => parseChannel(entry, `${source}[${index}]`));
  checkUniqueNames(channels, source);
  return channels;
}

/** The one channel of local runs and tests: the sandbox provider, for every supported currency. */
export function sandboxChannelConfig(options: {
  baseUrl: string;
  apiKey: string;
  webhookSecrets: string | readonly string[];
  callbackUrl?: string;
  name?: string;
  currencies?: readonly CurrencyCode[];
  minAmount?: bigint;
  maxAmount?: bigint;
  priority?: number;
  timeoutMs?: number;
  retry?: Partial<RetrySettings>;
  breaker?: Partial<BreakerSettings>;
}): PaymentChannelConfig {
  const config: PaymentChannelConfig = {
    name: options.name ?? 'sandbox',
    baseUrl: options.baseUrl,
    apiKey: options.apiKey,
    webhookSecrets: typeof options.webhookSecrets === 'string' ? [options.webhookSecrets] : [...options.webhookSecrets],
    currencies: options.currencies ?? ['EUR', 'USD', 'GBP', 'JPY'],
    minAmount: options.minAmount ?? 1n,
    maxAmount: options.maxAmount ?? AMOUNT_MAX,
    priority: options.priority ?? CHANNEL_DEFAULTS.priority,
    timeoutMs: options.timeoutMs ?? CHANNEL_DEFAULTS.timeoutMs,
    retry: { ...CHANNEL_DEFAULTS.retry, ...options.retry },
    breaker: { ...CHANNEL_DEFAULTS.breaker, ...options.breaker },
    ...(options.callbackUrl === undefined ? {} : { callbackUrl: options.callbackUrl }),
  };
  checkPaymentChannelConfig(config, `channel ${config.name}`);
  return config;
}

/**
 * Checks a typed channel configuration (one built in code rather than parsed), with the
 * same rules as the JSON parser. `at` names it in messages.
 */
export function checkPaymentChannelConfig(config: PaymentChannelConfig, at = `channel ${String(config.name)}`): void {
  if (!isChannel(config.name)) {
    throw new ConfigError(`${at}.name must be 1-32 lower-case letters, digits or "_", starting with a letter`);
  }
  checkUrl(config.baseUrl, `${at}.baseUrl`);
  if (config.callbackUrl !== undefined) checkUrl(config.callbackUrl, `${at}.callbackUrl`);
  if (typeof config.apiKey !== 'string' || config.apiKey.length === 0 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(config.apiKey)) {
    throw new ConfigError(`${at}.apiKey must be a non-empty bearer token (letters, digits, -._~+/)`);
  }
  if (!Array.isArray(config.webhookSecrets) || config.webhookSecrets.length === 0) {
    throw new ConfigError(`${at}.webhookSecrets must list at least one whsec_ secret`);
  }
  if (config.webhookSecrets.length > 5) throw new ConfigError(`${at}.webhookSecrets lists more than 5 secrets; retire old ones`);
  config.webhookSecrets.forEach((secret, index) => decodeWebhookSecret(secret, `${at}.webhookSecrets[${index}]`));
  if (new Set(config.webhookSecrets).size !== config.webhookSecrets.length) {
    throw new ConfigError(`${at}.webhookSecrets lists a secret twice`);
  }
  if (!Array.isArray(config.currencies) || config.currencies.length === 0) {
    throw new ConfigError(`${at}.currencies must list at least one ISO-4217 code`);
  }
  config.currencies.forEach((currency, index) => {
    const parsed = parseCurrency(currency);
    if (!parsed.ok) throw new ConfigError(`${at}.currencies[${index}]: ${parsed.error.message}`);
  });
  if (new Set(config.currencies).size !== config.currencies.length) throw new ConfigError(`${at}.currencies lists a currency twice`);
  if (typeof config.minAmount !== 'bigint' || config.minAmount < 1n || config.minAmount > AMOUNT_MAX) {
    throw new ConfigError(`${at}.minAmount must be a positive amount of minor units`);
  }
  if (typeof config.maxAmount !== 'bigint' || config.maxAmount < 1n || config.maxAmount > AMOUNT_MAX) {
    throw new ConfigError(`${at}.maxAmount must be a positive amount of minor units`);
  }
  if (config.minAmount > config.maxAmount) {
    throw new ConfigError(`${at}.minAmount (${config.minAmount}) must not exceed maxAmount (${config.maxAmount})`);
  }
  checkInteger(config.priority, `${at}.priority`, 0, 1_000_000);
  checkInteger(config.timeoutMs, `${at}.timeoutMs`, 1, 600_000);
  checkInteger(config.retry?.maxAttempts, `${at}.retry.maxAttempts`, 1, 10);
  checkInteger(config.retry.initialDelayMs, `${at}.retry.initialDelayMs`, 0, 60_000);
  checkInteger(config.retry.maxDelayMs, `${at}.retry.maxDelayMs`, 0, 600_000);
  if (config.retry.initialDelayMs > config.retry.maxDelayMs) {
    throw new ConfigError(`${at}.retry.initialDelayMs must not exceed retry.maxDelayMs`);
  }
  checkInteger(config.breaker?.consecutiveFailures, `${at}.breaker.consecutiveFailures`, 1, 1_000);
  checkInteger(config.breaker.halfOpenAfterMs, `${at}.breaker.halfOpenAfterMs`, 1, 3_600_000);
}

function parseChannel(entry: unknown, at: string): PaymentChannelConfig {
  if (!isObject(entry)) throw new ConfigError(`${at} must be an object`);
  // A name is no secret and makes the message findable in a long list; an overlong one is not echoed.
  const name = entry.name;
  const named = typeof name === 'string' && name.length <= 32 ? `${at} (${name})` : at;
  for (const field of Object.keys(entry)) {
    if (!FIELDS.has(field)) throw new ConfigError(`${named} has an unknown field "${field}"; allowed: ${[...FIELDS].join(', ')}`);
  }
  for (const required of ['name', 'baseUrl', 'apiKey', 'webhookSecrets', 'currencies', 'minAmount', 'maxAmount']) {
    if (entry[required] === undefined) throw new ConfigError(`${named}.${required} is required`);
  }
  const config: PaymentChannelConfig = {
    name: stringField(entry, 'name', named),
    baseUrl: stringField(entry, 'baseUrl', named),
    apiKey: stringField(entry, 'apiKey', named),
    webhookSecrets: stringList(entry, 'webhookSecrets', named),
    currencies: stringList(entry, 'currencies', named) as CurrencyCode[],
    minAmount: amountField(entry, 'minAmount', named),
    maxAmount: amountField(entry, 'maxAmount', named),
    priority: numberField(entry, 'priority', named, CHANNEL_DEFAULTS.priority),
    timeoutMs: numberField(entry, 'timeoutMs', named, CHANNEL_DEFAULTS.timeoutMs),
    retry: nested(entry, 'retry', named, RETRY_FIELDS, CHANNEL_DEFAULTS.retry),
    breaker: nested(entry, 'breaker', named, BREAKER_FIELDS, CHANNEL_DEFAULTS.breaker),
    ...(entry.callbackUrl === undefined ? {} : { callbackUrl: stringField(entry, 'callbackUrl', named) }),
  };
  checkPaymentChannelConfig(config, named);
  return config;
}

function checkUniqueNames(channels: readonly PaymentChannelConfig[], source: string): void {
  const seen = new Set<string>();
  for (const channel of channels) {
    if (seen.has(channel.name)) throw new ConfigError(`${source} names the channel "${channel.name}" twice`);
    seen.add(channel.name);
  }
}

function stringField(entry: Record<string, unknown>, field: string, at: string): string {
  const value = entry[field];
  if (typeof value !== 'string') throw new ConfigError(`${at}.${field} must be a string`);
  return value;
}

function stringList(entry: Record<string, unknown>, field: string, at: string): string[] {
  const value = entry[field];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new ConfigError(`${at}.${field} must be an array of strings`);
  }
  return value as string[];
}

/** Amounts are digit strings, as everywhere in our JSON: a JSON number may already have been rounded. */
function amountField(entry: Record<string, unknown>, field: string, at: string): bigint {
  const parsed = parseAmount(entry[field]);
  if (!parsed.ok) throw new ConfigError(`${at}.${field}: ${parsed.error.message}`);
  return parsed.value;
}

function numberField(entry: Record<string, unknown>, field: string, at: string, fallback: number): number {
  const value = entry[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new ConfigError(`${at}.${field} must be a number`);
  return value;
}

function nested<T extends object>(entry: Record<string, unknown>, field: string, at: string, allowed: ReadonlySet<string>, defaults: T): T {
  const value = entry[field];
  if (value === undefined) return { ...defaults };
  if (!isObject(value)) throw new ConfigError(`${at}.${field} must be an object`);
  const result: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, item] of Object.entries(value)) {
    if (!allowed.has(key)) throw new ConfigError(`${at}.${field} has an unknown field "${key}"; allowed: ${[...allowed].join(', ')}`);
    if (typeof item !== 'number') throw new ConfigError(`${at}.${field}.${key} must be a number`);
    result[key] = item;
  }
  return result as T;
}

function checkInteger(value: unknown, at: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${at} must be a whole number from ${min} to ${max}`);
  }
}

function checkUrl(value: unknown, at: string): void {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new ConfigError(`${at} is not a URL`);
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(`${at} must be an http:// or https:// URL`);
  }
  // Credentials in a URL end up in logs and error messages; the API key has its own field.
  if (url.username !== '' || url.password !== '') throw new ConfigError(`${at} must not carry credentials`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
