import { timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../config';
import {
  ApiKeyAuthenticator,
  bearerToken,
  createApiKeyRecord,
  generateApiKey,
  hashApiKey,
  parseApiKeys,
  principalName,
} from './api-keys';

// The real function, wrapped so the test can see that authentication goes through it.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

const KEY = 'lk_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
const record = (overrides: Record<string, unknown> = {}) => ({
  id: 'client-1',
  hash: hashApiKey(KEY),
  scopes: ['ledger:write'],
  ...overrides,
});

describe('API keys', () => {
  it('generates 256-bit base64url keys with the lk_ prefix, never the same twice', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^lk_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(3), 'base64url')).toHaveLength(32);
    expect(generateApiKey()).not.toBe(key);
  });

  it('hashes keys as sha256:<64 hex>', () => {
    expect(hashApiKey('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(() => hashApiKey('')).toThrow('empty');
  });

  it('names principals api-key:<id>', () => {
    expect(principalName({ keyId: 'client-1', scopes: [] })).toBe('api-key:client-1');
  });

  it('creates a key with its record, the record holding the hash only', () => {
    const { key, record: created } = createApiKeyRecord('ops-1', ['ops']);
    expect(created).toEqual({ id: 'ops-1', hash: hashApiKey(key), scopes: ['ops'] });
    expect(JSON.stringify(created)).not.toContain(key);
  });

  describe('parseApiKeys', () => {
    it('accepts a valid array', () => {
      const json = JSON.stringify([record(), record({ id: 'reader', hash: hashApiKey('other'), scopes: ['ledger:read', 'ops'] })]);
      expect(parseApiKeys(json)).toEqual([
        { id: 'client-1', hash: hashApiKey(KEY), scopes: ['ledger:write'] },
        { id: 'reader', hash: hashApiKey('other'), scopes: ['ledger:read', 'ops'] },
      ]);
    });

    it.each([
      ['not JSON', '[{', 'not valid JSON'],
      ['not an array', JSON.stringify(record()), 'must be a JSON array'],
      ['an empty array', '[]', 'holds no keys'],
      ['a non-object entry', '["key"]', 'API_KEYS[0] must be an object'],
      ['an unknown field', JSON.stringify([record({ key: KEY })]), 'unknown field "key"'],
      ['a missing id', JSON.stringify([record({ id: undefined })]), 'API_KEYS[0].id must be'],
      ['an id with spaces', JSON.stringify([record({ id: 'client one' })]), '.id must be'],
      ['an upper-case hash', JSON.stringify([record({ hash: hashApiKey(KEY).toUpperCase() })]), '64 lowercase hex'],
      ['a short hash', JSON.stringify([record({ hash: 'sha256:abcd' })]), '64 lowercase hex'],
      ['another algorithm', JSON.stringify([record({ hash: `md5:${'a'.repeat(64)}` })]), '64 lowercase hex'],
      ['a plaintext key as hash', JSON.stringify([record({ hash: KEY })]), 'looks like a plaintext key'],
      ['no scopes', JSON.stringify([record({ scopes: [] })]), 'non-empty array'],
      ['scopes not an array', JSON.stringify([record({ scopes: 'ops' })]), 'non-empty array'],
      ['an unknown scope', JSON.stringify([record({ scopes: ['ledger:admin'] })]), 'unknown scope "ledger:admin"'],
      ['a duplicate scope', JSON.stringify([record({ scopes: ['ops', 'ops'] })]), 'lists "ops" twice'],
      ['a duplicate id', JSON.stringify([record(), record({ hash: hashApiKey('other') })]), 'used by another key'],
      ['a duplicate hash', JSON.stringify([record(), record({ id: 'client-2' })]), 'hash of another key'],
    ])('rejects %s', (_name, json, message) => {
      expect(() => parseApiKeys(json)).toThrow(ConfigError);
      expect(() => parseApiKeys(json)).toThrow(message);
    });

    it('never echoes a value that could be a secret', () => {
      let message = '';
      try {
        parseApiKeys(JSON.stringify([record({ hash: KEY })]));
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toContain(KEY);
    });

    it('names its source in errors', () => {
      expect(() => parseApiKeys('[]', 'API_KEYS_FILE (/etc/keys.json)')).toThrow('API_KEYS_FILE (/etc/keys.json) holds no keys');
    });
  });

  describe('bearerToken', () => {
    it.each([
      [`Bearer ${KEY}`, KEY],
      [`bearer ${KEY}`, KEY],
      [`BEARER   ${KEY}  `, KEY],
      ['Bearer abc+/=', 'abc+/='],
    ])('reads %p', (header, key) => expect(bearerToken(header)).toBe(key));

    it.each([undefined, '', 'Bearer', 'Bearer ', `Basic ${KEY}`, `Bearer ${KEY} more`, `Bearer ${'a'.repeat(300)}`, 'Bearer a=b', ['Bearer x']])(
      'refuses %p',
      (header) => expect(bearerToken(header as string | undefined)).toBeUndefined(),
    );
  });

  describe('ApiKeyAuthenticator', () => {
    const authenticator = new ApiKeyAuthenticator(parseApiKeys(JSON.stringify([record()])));

    it('returns the principal of a known key', () => {
      expect(authenticator.authenticate(`Bearer ${KEY}`)).toEqual({ keyId: 'client-1', scopes: ['ledger:write'] });
    });

    it('returns nothing for unknown, malformed and missing keys', () => {
      expect(authenticator.authenticate(`Bearer ${KEY}x`)).toBeUndefined();
      expect(authenticator.authenticate('Bearer')).toBeUndefined();
      expect(authenticator.authenticate(undefined)).toBeUndefined();
    });

    it('confirms every match, and runs the same comparison on a miss, with timingSafeEqual', () => {
      const spy = jest.mocked(timingSafeEqual);
      spy.mockClear();
      authenticator.authenticate(`Bearer ${KEY}`);
      authenticator.authenticate('Bearer lk_unknown');
      authenticator.authenticate(undefined);
      expect(spy).toHaveBeenCalledTimes(3);
      for (const [a, b] of spy.mock.calls) {
        expect((a as Buffer).length).toBe(32);
        expect((b as Buffer).length).toBe(32);
      }
      expect(spy.mock.results.map((result) => result.value)).toEqual([true, false, false]);
    });

    it('refuses to be built from unchecked records', () => {
      expect(() => new ApiKeyAuthenticator([{ id: 'x', hash: 'plain', scopes: ['ops'] }])).toThrow(ConfigError);
    });

    it('hands out frozen principals, so a handler cannot grant itself a scope', () => {
      const principal = authenticator.authenticate(`Bearer ${KEY}`)!;
      expect(Object.isFrozen(principal)).toBe(true);
      expect(Object.isFrozen(principal.scopes)).toBe(true);
    });
  });
});
