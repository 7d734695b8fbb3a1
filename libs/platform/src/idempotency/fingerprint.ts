import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted (recursively) and no whitespace, so two bodies that parse to
 * the same value serialise to the same string whatever their key order or formatting.
 * Arrays keep their order: in JSON it carries meaning. Properties whose value is undefined
 * are left out, as JSON.stringify leaves them out.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return value.toString();
    // JSON.stringify returns undefined for undefined, functions and symbols; they have no
    // JSON form, so they canonicalise to null as they would inside an array.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((name) => record[name] !== undefined)
    .sort()
    .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
  return `{${members.join(',')}}`;
}

/**
 * The fingerprint of a request: sha256 (hex) over the method, the concrete URL path and the
 * canonical JSON of the parsed body. A retry of the same request has the same fingerprint;
 * the same key sent with anything else has another, and is refused as key reuse.
 *
 * The query string is not part of it: our commands carry their input in the path and body.
 * A raw (Buffer) body is hashed as its bytes; an absent body differs from an empty object.
 */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  const hash = createHash('sha256');
  hash.update(method.toUpperCase());
  hash.update('\n');
  hash.update(path);
  hash.update('\n');
  if (Buffer.isBuffer(body)) {
    hash.update('raw:');
    hash.update(body);
  } else if (body === undefined) {
    hash.update('none');
  } else {
    hash.update('json:');
    hash.update(canonicalJson(body));
  }
  return hash.digest('hex');
}
