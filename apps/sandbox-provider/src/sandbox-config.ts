import { randomInt } from 'node:crypto';
import { AMOUNT_MAX, isCurrencyCode, parseAmount, type CurrencyCode } from '@ledger/domain';
import { decodeWebhookSecret } from '@ledger/payments';
import { ConfigError } from '@ledger/platform';

/**
 * How the simulated provider behaves; every knob can change at runtime through
 * `PUT /admin/behaviour`. Rates are probabilities in [0, 1], drawn per payout from the seed
 * (see SeededRolls). A payout's fate (fails, is returned) and its settle delay are fixed when
 * it is accepted; callback knobs apply to callbacks emitted after the change; `timeoutRate`
 * and `unavailable` to requests that arrive after it.
 */
export interface SandboxBehaviour {
  /** From acceptance to the payout settling or failing. */
  settleDelayMs: number;
  /** Share of payouts that fail instead of settling. */
  failureRate: number;
  /** Share of settled payouts the bank later sends back (`payout.returned`). */
  returnRate: number;
  /** From settlement to the return. */
  returnDelayMs: number;
  /** Share of callbacks delivered a second time after a successful delivery, with the same webhook-id. */
  duplicateRate: number;
  /** Share of callbacks whose first delivery is held back by `lateDeliveryMs`. */
  lateRate: number;
  lateDeliveryMs: number;
  /** Share of payouts whose `payout.processing` callback is delivered after their final callback. */
  outOfOrderRate: number;
  /** Share of final callbacks followed by a forged one (wrong signature, opposite outcome, own webhook-id). */
  forgedRate: number;
  /** Share of callbacks whose first delivery carries a timestamp 10 minutes old (validly signed). */
  staleTimestampRate: number;
  /** Share of `POST /payouts` requests that create the payout but answer only after `hangMs`. */
  timeoutRate: number;
  hangMs: number;
  /** Answer 503 to every API request (not the admin routes), as a provider outage. */
  unavailable: boolean;
}

export interface SandboxProviderConfig {
  /** Fixes every random decision; printed at start so a run can be repeated. */
  seed: number;
  /** The one merchant API key accepted as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** `whsec_` secrets; callbacks are signed with the first (the current one). */
  webhookSecrets: string[];
  /** Where callbacks go when a payout names no `callbackUrl` of its own. */
  callbackUrl?: string;
  currencies: CurrencyCode[];
  /** Largest payout accepted, minor units; above it `422 amount_exceeds_limit`. */
  maxAmount: bigint;
  /** One callback delivery try's deadline. */
  callbackTimeoutMs: number;
  /** Tries per callback before the provider gives up on it. */
  callbackMaxAttempts: number;
  callbackInitialBackoffMs: number;
  callbackMaxBackoffMs: number;
  behaviour: SandboxBehaviour;
  /** The provider's clock for payout times and statement dates. */
  clock: () => Date;
  logLevel: string;
}

export const DEFAULT_BEHAVIOUR: Readonly<SandboxBehaviour> = Object.freeze({
  settleDelayMs: 50,
  failureRate: 0,
  returnRate: 0,
  returnDelayMs: 100,
  duplicateRate: 0,
  lateRate: 0,
  lateDeliveryMs: 1_000,
  outOfOrderRate: 0,
  forgedRate: 0,
  staleTimestampRate: 0,
  timeoutRate: 0,
  hangMs: 30_000,
  unavailable: false,
});

const RATE_KNOBS = [
  'failureRate',
  'returnRate',
  'duplicateRate',
  'lateRate',
  'outOfOrderRate',
  'forgedRate',
  'staleTimestampRate',
  'timeoutRate',
] as const;
const DURATION_KNOBS = ['settleDelayMs', 'returnDelayMs', 'lateDeliveryMs', 'hangMs'] as const;
/** Other names accepted for a knob. */
const ALIASES: Readonly<Record<string, keyof SandboxBehaviour>> = { returnAfterSettleRate: 'returnRate' };

/** What a caller gives: the key and the secrets, and any other setting to override its default. */
export type SandboxProviderOptions = Partial<Omit<SandboxProviderConfig, 'behaviour'>> &
  Pick<SandboxProviderConfig, 'apiKey' | 'webhookSecrets'> & { behaviour?: Partial<SandboxBehaviour> };

/** The configuration with defaults for everything but the secrets and the key. */
export function resolveSandboxConfig(input: SandboxProviderOptions): SandboxProviderConfig {
  let behaviour: SandboxBehaviour;
  try {
    behaviour = applyBehaviourPatch(DEFAULT_BEHAVIOUR, input.behaviour ?? {});
  } catch (error) {
    throw error instanceof BehaviourError ? new ConfigError(`behaviour: ${error.message}`) : error;
  }
  const config: SandboxProviderConfig = {
    seed: input.seed ?? randomInt(0, 2 ** 32 - 1),
    apiKey: input.apiKey,
    webhookSecrets: [...input.webhookSecrets],
    ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
    currencies: input.currencies ?? ['EUR', 'USD', 'GBP', 'JPY'],
    maxAmount: input.maxAmount ?? 100_000_000n,
    callbackTimeoutMs: input.callbackTimeoutMs ?? 5_000,
    callbackMaxAttempts: input.callbackMaxAttempts ?? 8,
    callbackInitialBackoffMs: input.callbackInitialBackoffMs ?? 200,
    callbackMaxBackoffMs: input.callbackMaxBackoffMs ?? 10_000,
    behaviour,
    clock: input.clock ?? (() => new Date()),
    logLevel: input.logLevel ?? 'warn',
  };
  if (!Number.isSafeInteger(config.seed) || config.seed < 0 || config.seed > 0xffffffff) {
    throw new ConfigError(`seed must be a whole number from 0 to ${0xffffffff}`);
  }
  if (typeof config.apiKey !== 'string' || !/^[A-Za-z0-9\-._~+/]{8,256}=*$/.test(config.apiKey)) {
    throw new ConfigError('apiKey must be a bearer token of 8-256 characters (letters, digits, -._~+/)');
  }
  if (config.webhookSecrets.length === 0) throw new ConfigError('webhookSecrets must list at least one whsec_ secret');
  config.webhookSecrets.forEach((secret, index) => decodeWebhookSecret(secret, `webhookSecrets[${index}]`));
  if (config.callbackUrl !== undefined) checkHttpUrl(config.callbackUrl, 'callbackUrl');
  if (config.currencies.length === 0 || !config.currencies.every(isCurrencyCode)) {
    throw new ConfigError('currencies must list supported ISO-4217 codes');
  }
  if (config.maxAmount < 1n || config.maxAmount > AMOUNT_MAX) throw new ConfigError('maxAmount must be a positive amount of minor units');
  wholeNumber(config.callbackTimeoutMs, 'callbackTimeoutMs', 1, 600_000);
  wholeNumber(config.callbackMaxAttempts, 'callbackMaxAttempts', 1, 100);
  wholeNumber(config.callbackInitialBackoffMs, 'callbackInitialBackoffMs', 0, 3_600_000);
  wholeNumber(config.callbackMaxBackoffMs, 'callbackMaxBackoffMs', 0, 3_600_000);
  return config;
}

/**
 * A behaviour with some knobs changed, validated strictly: a typo in a knob's name must fail
 * the test that made it, not silently leave the knob at its old value.
 */
export function applyBehaviourPatch(current: Readonly<SandboxBehaviour>, patch: unknown): SandboxBehaviour {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new BehaviourError('the behaviour must be a JSON object');
  const next: SandboxBehaviour = { ...current };
  for (const [rawName, value] of Object.entries(patch)) {
    const name = ALIASES[rawName] ?? rawName;
    if ((RATE_KNOBS as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new BehaviourError(`${rawName} must be a number from 0 to 1`);
      next[name as (typeof RATE_KNOBS)[number]] = value;
    } else if ((DURATION_KNOBS as readonly string[]).includes(name)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 86_400_000) {
        throw new BehaviourError(`${rawName} must be a whole number of milliseconds from 0 to 86400000`);
      }
      next[name as (typeof DURATION_KNOBS)[number]] = value;
    } else if (name === 'unavailable') {
      if (typeof value !== 'boolean') throw new BehaviourError('unavailable must be true or false');
      next.unavailable = value;
    } else {
      throw new BehaviourError(`unknown behaviour knob "${rawName}"`);
    }
  }
  return next;
}

export class BehaviourError extends Error {}

/**
 * The configuration of `main.ts`, from the environment (docs/payments.md):
 * SANDBOX_SEED, SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRETS (comma-separated, current first),
 * SANDBOX_CALLBACK_URL, SANDBOX_CURRENCIES (comma-separated), SANDBOX_MAX_AMOUNT (digits),
 * SANDBOX_BEHAVIOUR (a JSON object of knobs), LOG_LEVEL.
 */
export function sandboxConfigFromEnv(env: NodeJS.ProcessEnv): SandboxProviderConfig {
  const apiKey = env.SANDBOX_API_KEY;
  const secrets = env.SANDBOX_WEBHOOK_SECRETS;
  if (!apiKey) throw new ConfigError('SANDBOX_API_KEY is required (the bearer token the ledger sends)');
  if (!secrets) throw new ConfigError('SANDBOX_WEBHOOK_SECRETS is required (whsec_ secrets, comma-separated, the signing one first)');
  let behaviour: unknown = {};
  if (env.SANDBOX_BEHAVIOUR) {
    try {
      behaviour = JSON.parse(env.SANDBOX_BEHAVIOUR);
    } catch {
      throw new ConfigError('SANDBOX_BEHAVIOUR must be a JSON object of behaviour knobs');
    }
  }
  let maxAmount: bigint | undefined;
  if (env.SANDBOX_MAX_AMOUNT) {
    const parsed = parseAmount(env.SANDBOX_MAX_AMOUNT);
    if (!parsed.ok) throw new ConfigError(`SANDBOX_MAX_AMOUNT: ${parsed.error.message}`);
    maxAmount = parsed.value;
  }
  if (env.SANDBOX_SEED !== undefined && env.SANDBOX_SEED !== '' && !/^[0-9]{1,10}$/.test(env.SANDBOX_SEED)) {
    throw new ConfigError('SANDBOX_SEED must be a whole number');
  }
  let knobs: Partial<SandboxBehaviour>;
  try {
    knobs = applyBehaviourPatch(DEFAULT_BEHAVIOUR, behaviour);
  } catch (error) {
    throw error instanceof BehaviourError ? new ConfigError(`SANDBOX_BEHAVIOUR: ${error.message}`) : error;
  }
  return resolveSandboxConfig({
    apiKey,
    webhookSecrets: secrets.split(',').map((secret) => secret.trim()),
    ...(env.SANDBOX_SEED ? { seed: Number(env.SANDBOX_SEED) } : {}),
    ...(env.SANDBOX_CALLBACK_URL ? { callbackUrl: env.SANDBOX_CALLBACK_URL } : {}),
    ...(env.SANDBOX_CURRENCIES ? { currencies: env.SANDBOX_CURRENCIES.split(',').map((code) => code.trim()) as CurrencyCode[] } : {}),
    ...(maxAmount === undefined ? {} : { maxAmount }),
    behaviour: knobs,
    logLevel: env.LOG_LEVEL || 'info',
  });
}

function wholeNumber(value: number, name: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
}

function checkHttpUrl(value: string, name: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http:// or https:// URL`);
}
