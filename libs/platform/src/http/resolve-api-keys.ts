import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config';
import { bearerToken, generateApiKey, hashApiKey, parseApiKeys, parseScopes, SCOPES, type ApiKeyRecord, type Scope } from './api-keys';

/** The development key, for `main` to print: in full when just created, by location otherwise. */
export interface DevApiKey {
  key: string;
  /** Absolute path of the file that holds it. */
  file: string;
  /** True on the run that created it. */
  created: boolean;
}

export interface ResolvedApiKeys {
  records: ApiKeyRecord[];
  source: 'API_KEYS' | 'API_KEYS_FILE' | 'dev-key-file';
  /** Set only outside production, when neither API_KEYS nor API_KEYS_FILE is given. */
  devKey?: DevApiKey;
}

export interface ResolveApiKeysOptions {
  env?: NodeJS.ProcessEnv;
  production: boolean;
  /** Where the development key lives, e.g. `.data/dev-api-key.json`. */
  devKeyFile: string;
}

const DEV_KEY_ID = 'dev';

/**
 * The API keys this process accepts: `API_KEYS` (a JSON array of records) or `API_KEYS_FILE`
 * (a path to one). Production refuses to start with neither, so a deployment cannot come up
 * open or locked by accident. Elsewhere a development key with every scope is loaded from,
 * or created in, `devKeyFile`: a developer needs the plaintext to call the API, so that file
 * holds it, readable by its owner only.
 */
export function resolveApiKeys(options: ResolveApiKeysOptions): ResolvedApiKeys {
  const env = options.env ?? process.env;
  const inline = env.API_KEYS?.trim() || undefined;
  const file = env.API_KEYS_FILE?.trim() || undefined;
  if (inline && file) throw new ConfigError('set API_KEYS or API_KEYS_FILE, not both');
  if (inline) return { records: parseApiKeys(inline, 'API_KEYS'), source: 'API_KEYS' };
  if (file) return { records: parseApiKeys(readConfigFile(file), `API_KEYS_FILE (${file})`), source: 'API_KEYS_FILE' };
  if (options.production) {
    throw new ConfigError('production refuses to start without API keys: set API_KEYS or API_KEYS_FILE');
  }
  const devKey = loadOrCreateDevKey(resolve(options.devKeyFile));
  return { records: [devKey.record], source: 'dev-key-file', devKey: devKey.dev };
}

/** One line for `main` to log about the development key. */
export function devKeyNotice(devKey: DevApiKey): string {
  return devKey.created
    ? `created a development API key with every scope (saved in ${devKey.file}): ${devKey.key}`
    : `using the development API key in ${devKey.file}`;
}

function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`API_KEYS_FILE ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

interface DevKeyFile {
  id: string;
  key: string;
  scopes: Scope[];
}

function loadOrCreateDevKey(path: string): { record: ApiKeyRecord; dev: DevApiKey } {
  let created = false;
  let content = readIfExists(path);
  if (content === undefined) {
    created = createExclusively(path, {
      id: DEV_KEY_ID,
      key: generateApiKey(),
      scopes: [...SCOPES],
    });
    // Another process may have won the race to create it; either way the file now decides.
    content = readIfExists(path);
    if (content === undefined) throw new ConfigError(`development API key file ${path} vanished after it was created`);
  }
  const stored = parseDevKeyFile(content, path);
  tightenMode(path);
  return {
    record: { id: stored.id, hash: hashApiKey(stored.key), scopes: stored.scopes },
    dev: { key: stored.key, file: path, created },
  };
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`development API key file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/**
 * Writes the file whole or not at all: to a temporary name first, then hard-linked into
 * place, which fails if the name exists. A crash never leaves half a key behind, and two
 * processes starting at once end up sharing one key instead of overwriting each other's.
 */
function createExclusively(path: string, content: DevKeyFile): boolean {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ ...content, note: 'Development API key. Never use it in production.' }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  try {
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}

function parseDevKeyFile(content: string, path: string): DevKeyFile {
  const problem = `development API key file ${path} is damaged; delete it to create a new key`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new ConfigError(problem);
  }
  const { id, key, scopes } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (id !== DEV_KEY_ID || typeof key !== 'string' || bearerToken(`Bearer ${key}`) !== key) throw new ConfigError(problem);
  return { id, key, scopes: parseScopes(scopes, `${path} scopes`) };
}

/** The file holds a plaintext key: keep it private to its owner even if someone loosened it. */
function tightenMode(path: string): void {
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
}
