import { canonicalJson, requestFingerprint } from './fingerprint';

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson(JSON.parse('{ "b": 1, "a": { "d": [3, {"y": 1, "x": 2}], "c": null } }'))).toBe(
      '{"a":{"c":null,"d":[3,{"x":2,"y":1}]},"b":1}',
    );
  });

  it('keeps array order, which carries meaning', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('leaves out undefined properties, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
});

describe('requestFingerprint', () => {
  const body = '{"accountId":"a1","amount":"1050","destination":{"type":"bank_account","bankCode":"001"}}';
  const reordered = `{
    "destination": { "bankCode": "001", "type": "bank_account" },
    "amount": "1050",
    "accountId": "a1"
  }`;

  it('ignores key order and whitespace of the body', () => {
    expect(requestFingerprint('POST', '/v1/withdrawals', JSON.parse(body))).toBe(
      requestFingerprint('post', '/v1/withdrawals', JSON.parse(reordered)),
    );
  });

  it('is a sha256 hex digest', () => {
    expect(requestFingerprint('POST', '/v1/withdrawals', {})).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs with the method, the path or any value of the body', () => {
    const base = requestFingerprint('POST', '/v1/withdrawals', JSON.parse(body));
    expect(requestFingerprint('PUT', '/v1/withdrawals', JSON.parse(body))).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/accounts', JSON.parse(body))).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/withdrawals', { ...JSON.parse(body), amount: '1051' })).not.toBe(base);
    expect(requestFingerprint('POST', '/v1/withdrawals', undefined)).not.toBe(requestFingerprint('POST', '/v1/withdrawals', {}));
  });

  it('hashes a raw body as its bytes', () => {
    expect(requestFingerprint('POST', '/v1/callbacks/x', Buffer.from('{"a":1}'))).not.toBe(
      requestFingerprint('POST', '/v1/callbacks/x', Buffer.from('{ "a": 1 }')),
    );
  });
});
