import { readIdempotencyKey } from './idempotency-key';

describe('readIdempotencyKey', () => {
  it('accepts 1 to 255 visible ASCII characters', () => {
    expect(readIdempotencyKey('a')).toEqual({ kind: 'valid', key: 'a' });
    expect(readIdempotencyKey('x'.repeat(255))).toEqual({ kind: 'valid', key: 'x'.repeat(255) });
    expect(readIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toMatchObject({ kind: 'valid' });
    expect(readIdempotencyKey('!~{}"')).toMatchObject({ kind: 'valid' });
  });

  it('says missing when there is no header or it is empty', () => {
    expect(readIdempotencyKey(undefined)).toEqual({ kind: 'missing' });
    expect(readIdempotencyKey('')).toEqual({ kind: 'missing' });
  });

  it('says malformed for spaces, controls, non-ASCII, overlong or repeated keys', () => {
    for (const value of ['a b', 'a\tb', 'clé', 'x'.repeat(256), 'a\u007f']) {
      expect(readIdempotencyKey(value)).toEqual({ kind: 'malformed' });
    }
    expect(readIdempotencyKey(['a', 'b'])).toEqual({ kind: 'malformed' });
  });
});
