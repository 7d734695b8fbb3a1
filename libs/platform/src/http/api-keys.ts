import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config';

/** What an API key may do. `ops` is for manual review and freezing, never given to clients by default. */
export type Scope = 'ledger:write' | 'ledger:read' | 'ops';
export const SCOPES: readonly Scope[] = Object.freeze(['ledger:write', 'ledger:read', 'ops'] as const);

/** An API key as configured: its id, the hash of its secret and what it may do. */
export interface ApiKeyRecord {
  /** Public name of the key; appears in logs and event metadata (`api-key:<id>`). */
  id: string;
  /** `sha256:<64 lowercase hex>` of the key; the key itself is never stored. */
  hash: string;
  scopes: Scope[];
}

/** The verified caller of a request. */
export interface Principal {
  readonly keyId: string;
  readonly scopes: readonly Scope[];
}

/** The principal as event metadata and logs name it. */
export function principalName(principal: Principal): string {
  return `api-key:${principal.keyId}`;
}

/** The prefix makes our keys recognisable to secret scanners and to people reading a config. */
export const API_KEY_PREFIX = 'lk_';

/** A new key: 32 bytes from the CSPRNG (256 bits), base64url, prefixed. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * The stored form of a key. A single unsalted SHA-256 is the right tool here and a slow
 * password hash (bcrypt, scrypt) is not: slow hashes defend low-entropy secrets that a
 * leaked hash could be brute-forced back to, but our keys are 256 random bits, which no
 * amount of hashing speed makes guessable. A fast, deterministic hash also lets us find a
 * key by its hash in a map, instead of trying every stored key per request.
 */
export function hashApiKey(key: string): string {
  if (key.length === 0) throw new Error('cannot hash an empty API key');
  return `sha256:${sha256(key).toString('hex')}`;
}

/** A new key and the record to configure for it; the key is shown once and kept by its owner. */
export function createApiKeyRecord(id: string, scopes: readonly Scope[]): { key: string; record: ApiKeyRecord } {
  const key = generateApiKey();
  const [record] = parseApiKeys(JSON.stringify([{ id, hash: hashApiKey(key), scopes }]), 'new API key');
  return { key, record: record! };
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const HASH = /^sha256:[0-9a-f]{64}$/;
const RECORD_FIELDS = new Set(['id', 'hash', 'scopes']);

/**
 * Parses a JSON array of API key records, strictly: a mistake in who may move money must
 * stop the process at start, not surface as a 401 in production. Error messages name the
 * entry and the field but never echo a value, because a value in the wrong field may be a
 * plaintext key that must not reach the logs.
 */
export function parseApiKeys(json: string, source = 'API_KEYS'): ApiKeyRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError(`${source} is not valid JSON; expected an array of {"id","hash","scopes"}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`${source} must be a JSON array of {"id","hash","scopes"}`);
  if (parsed.length === 0) throw new ConfigError(`${source} holds no keys; nobody could call the API`);

  const ids = new Set<string>();
  const hashes = new Set<string>();
  return parsed.map((entry: unknown, index) => {
    const at = `${source}[${index}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(`${at} must be an object with "id", "hash" and "scopes"`);
    }
    const fields = entry as Record<string, unknown>;
    for (const name of Object.keys(fields)) {
      if (!RECORD_FIELDS.has(name)) throw new ConfigError(`${at} has an unknown field "${name}"; allowed: id, hash, scopes`);
    }

    const { id, hash, scopes } = fields;
    if (typeof id !== 'string' || !KEY_ID.test(id)) {
      throw new ConfigError(`${at}.id must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    if (ids.has(id)) throw new ConfigError(`${at}.id "${id}" is used by another key`);
    ids.add(id);

    if (typeof hash !== 'string' || !HASH.test(hash)) {
      const hint = typeof hash === 'string' && hash.startsWith(API_KEY_PREFIX) ? ' (it looks like a plaintext key: store hashApiKey(key), never the key)' : '';
      throw new ConfigError(`${at}.hash (key "${id}") must be "sha256:" followed by 64 lowercase hex digits${hint}`);
    }
    if (hashes.has(hash)) throw new ConfigError(`${at}.hash (key "${id}") is the hash of another key`);
    hashes.add(hash);

    return { id, hash, scopes: parseScopes(scopes, `${at}.scopes (key "${id}")`) };
  });
}

export function parseScopes(value: unknown, at: string): Scope[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${at} must be a non-empty array of ${SCOPES.map((s) => `"${s}"`).join(', ')}`);
  }
  const seen = new Set<Scope>();
  for (const scope of value) {
    if (!SCOPES.includes(scope as Scope)) {
      // Scope names are not secrets, so a short one is echoed to make the typo obvious.
      const shown = typeof scope === 'string' && scope.length <= 32 && !scope.startsWith(API_KEY_PREFIX) ? ` "${scope}"` : '';
      throw new ConfigError(`${at} holds an unknown scope${shown}; allowed: ${SCOPES.join(', ')}`);
    }
    if (seen.has(scope as Scope)) throw new ConfigError(`${at} lists "${scope as string}" twice`);
    seen.add(scope as Scope);
  }
  return [...seen];
}

// Bearer credentials are a token68 (RFC 7235 §2.1). The length cap keeps us from hashing
// megabytes sent by someone probing; our keys are 46 characters.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,256}=*) *$/i;

/** The key in an `Authorization: Bearer <key>` header, or undefined when absent or malformed. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  return BEARER.exec(header)?.[1];
}

interface KnownKey {
  digest: Buffer;
  principal: Principal;
}

/**
 * Verifies presented keys against the configured records.
 *
 * The lookup is by the SHA-256 of the presented key, so its timing depends only on a hash
 * an attacker cannot steer towards a real key's. The match is then confirmed with
 * `timingSafeEqual`, and a miss still runs one comparison against a decoy, so a valid and
 * an invalid key cost the same work: defence in depth should the lookup ever change.
 */
export class ApiKeyAuthenticator {
  private readonly byDigest = new Map<string, KnownKey>();
  private readonly decoy = randomBytes(32);

  constructor(records: readonly ApiKeyRecord[]) {
    for (const record of records) {
      const hex = record.hash.slice('sha256:'.length);
      if (!HASH.test(record.hash) || this.byDigest.has(hex)) {
        throw new ConfigError(`API key "${record.id}" has an invalid or duplicate hash; load keys with parseApiKeys`);
      }
      this.byDigest.set(hex, {
        digest: Buffer.from(hex, 'hex'),
        principal: Object.freeze({ keyId: record.id, scopes: Object.freeze([...record.scopes]) }),
      });
    }
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The principal of a valid `Authorization` header; undefined for missing, malformed or unknown keys alike. */
  authenticate(authorization: string | string[] | undefined): Principal | undefined {
    const key = bearerToken(authorization);
    const presented = sha256(key ?? '');
    const known = key === undefined ? undefined : this.byDigest.get(presented.toString('hex'));
    const equal = timingSafeEqual(presented, known?.digest ?? this.decoy);
    return known && equal ? known.principal : undefined;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
