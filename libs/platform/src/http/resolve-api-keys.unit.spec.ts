import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config';
import { ApiKeyAuthenticator, hashApiKey } from './api-keys';
import { devKeyNotice, resolveApiKeys } from './resolve-api-keys';

describe('resolveApiKeys', () => {
  let dir: string;
  let devKeyFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
    devKeyFile = join(dir, '.data', 'dev-api-key.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const records = [{ id: 'client-1', hash: hashApiKey('secret-1'), scopes: ['ledger:write'] }];

  it('reads API_KEYS', () => {
    const resolved = resolveApiKeys({ env: { API_KEYS: JSON.stringify(records) }, production: true, devKeyFile });
    expect(resolved).toEqual({ records, source: 'API_KEYS' });
  });

  it('reads API_KEYS_FILE', () => {
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify(records));
    const resolved = resolveApiKeys({ env: { API_KEYS_FILE: file }, production: true, devKeyFile });
    expect(resolved).toEqual({ records, source: 'API_KEYS_FILE' });
  });

  it('says which file it cannot read', () => {
    const file = join(dir, 'missing.json');
    expect(() => resolveApiKeys({ env: { API_KEYS_FILE: file }, production: true, devKeyFile })).toThrow(`API_KEYS_FILE ${file} cannot be read: ENOENT`);
  });

  it('refuses both sources at once', () => {
    const env = { API_KEYS: JSON.stringify(records), API_KEYS_FILE: join(dir, 'keys.json') };
    expect(() => resolveApiKeys({ env, production: false, devKeyFile })).toThrow('not both');
  });

  it('passes parse errors on, naming the source', () => {
    expect(() => resolveApiKeys({ env: { API_KEYS: '[]' }, production: true, devKeyFile })).toThrow('API_KEYS holds no keys');
  });

  it('refuses to start in production without keys, and never creates a dev key there', () => {
    const attempt = () => resolveApiKeys({ env: { API_KEYS: '  ' }, production: true, devKeyFile });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow('production refuses to start without API keys');
    expect(() => statSync(devKeyFile)).toThrow();
  });

  it('creates a development key with every scope once, private to its owner, and reuses it', () => {
    const first = resolveApiKeys({ env: {}, production: false, devKeyFile });
    expect(first.source).toBe('dev-key-file');
    expect(first.devKey).toEqual({ key: expect.stringMatching(/^lk_[A-Za-z0-9_-]{43}$/), file: devKeyFile, created: true });
    expect(first.records).toEqual([{ id: 'dev', hash: hashApiKey(first.devKey!.key), scopes: ['ledger:write', 'ledger:read', 'ops'] }]);
    expect(statSync(devKeyFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(devKeyFile, 'utf8'))).toMatchObject({ id: 'dev', key: first.devKey!.key });
    expect(devKeyNotice(first.devKey!)).toContain(first.devKey!.key);

    const second = resolveApiKeys({ env: {}, production: false, devKeyFile });
    expect(second.devKey).toEqual({ key: first.devKey!.key, file: devKeyFile, created: false });
    expect(second.records).toEqual(first.records);
    expect(devKeyNotice(second.devKey!)).not.toContain(first.devKey!.key);

    // The resolved records authenticate the key they came with.
    expect(new ApiKeyAuthenticator(second.records).authenticate(`Bearer ${first.devKey!.key}`)?.keyId).toBe('dev');
  });

  it('tightens a development key file someone made readable to others', () => {
    resolveApiKeys({ env: {}, production: false, devKeyFile });
    chmodSync(devKeyFile, 0o644);
    resolveApiKeys({ env: {}, production: false, devKeyFile });
    expect(statSync(devKeyFile).mode & 0o777).toBe(0o600);
  });

  it('honours scopes narrowed by hand in the development key file', () => {
    const created = resolveApiKeys({ env: {}, production: false, devKeyFile }).devKey!;
    writeFileSync(devKeyFile, JSON.stringify({ id: 'dev', key: created.key, scopes: ['ledger:read'] }));
    expect(resolveApiKeys({ env: {}, production: false, devKeyFile }).records[0]!.scopes).toEqual(['ledger:read']);
  });

  it('refuses a damaged development key file instead of silently replacing the key', () => {
    resolveApiKeys({ env: {}, production: false, devKeyFile });
    writeFileSync(devKeyFile, '{"id": "dev", "key": ');
    expect(() => resolveApiKeys({ env: {}, production: false, devKeyFile })).toThrow('is damaged; delete it');
    writeFileSync(devKeyFile, JSON.stringify({ id: 'dev', key: 'has spaces in it', scopes: ['ops'] }));
    expect(() => resolveApiKeys({ env: {}, production: false, devKeyFile })).toThrow('is damaged');
  });

  it('leaves no temporary files behind', () => {
    resolveApiKeys({ env: {}, production: false, devKeyFile });
    expect(readdirSync(join(dir, '.data'))).toEqual(['dev-api-key.json']);
  });
});
