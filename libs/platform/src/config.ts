/**
 * Process configuration, read once from the environment and checked up front so a bad
 * value stops the process at start with a message that names it, not at first use.
 */
export interface LedgerConfig {
  /** PostgreSQL for read models, idempotency keys and (without EVENTSTORE_URL) the event store. Unset: embedded. */
  databaseUrl: string | undefined;
  /** EventStoreDB connection string (`esdb://…`). Unset: the PostgreSQL event store. */
  eventStoreUrl: string | undefined;
  httpPort: number;
  embeddedPostgresPort: number;
  embeddedPostgresDir: string | undefined;
  /** Our own deadline on every EventStoreDB call. */
  eventStoreTimeoutMs: number;
  production: boolean;
  logLevel: string;
  /** Per API key: sustained requests per second and burst. */
  rateLimit: { perSecond: number; burst: number };
  /** Per-currency upper bound of one withdrawal in minor units (`WITHDRAWAL_AMOUNT_LIMITS={"EUR":"100000000"}`). */
  withdrawalAmountLimits: ReadonlyMap<string, bigint>;
  /** How long an in-flight idempotency key blocks a retry before a retry may take it over (crash recovery). */
  idempotencyLeaseMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LedgerConfig {
  return {
    databaseUrl: optionalUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    eventStoreUrl: optionalUrl(env, 'EVENTSTORE_URL', ['esdb:', 'esdb+discover:']),
    httpPort: integer(env, 'PORT', 3000, 0, 65_535),
    embeddedPostgresPort: integer(env, 'EMBEDDED_POSTGRES_PORT', 54_329, 1, 65_535),
    embeddedPostgresDir: env.EMBEDDED_POSTGRES_DIR || undefined,
    eventStoreTimeoutMs: integer(env, 'EVENTSTORE_TIMEOUT_MS', 5_000, 100, 600_000),
    production: env.NODE_ENV === 'production',
    logLevel: env.LOG_LEVEL || 'info',
    rateLimit: {
      perSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 1_000, 1, 1_000_000),
      burst: integer(env, 'RATE_LIMIT_BURST', 2_000, 1, 1_000_000),
    },
    withdrawalAmountLimits: amountLimits(env, 'WITHDRAWAL_AMOUNT_LIMITS'),
    idempotencyLeaseMs: integer(env, 'IDEMPOTENCY_LEASE_MS', 30_000, 100, 3_600_000),
  };
}

function optionalUrl(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const value = env[name];
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function amountLimits(env: NodeJS.ProcessEnv, name: string): ReadonlyMap<string, bigint> {
  const raw = env[name];
  if (!raw) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${name} must be a JSON object such as {"EUR":"100000000"}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`${name} must be a JSON object such as {"EUR":"100000000"}`);
  }
  const limits = new Map<string, bigint>();
  for (const [currency, amount] of Object.entries(parsed)) {
    if (!/^[A-Z]{3}$/.test(currency) || typeof amount !== 'string' || !/^[1-9][0-9]{0,17}$/.test(amount)) {
      throw new ConfigError(`${name}: ${currency} must map to a positive amount of minor units as a digit string`);
    }
    limits.set(currency, BigInt(amount));
  }
  return limits;
}
