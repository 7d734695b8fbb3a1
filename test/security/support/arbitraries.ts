import fc from 'fast-check';

/**
 * Bad input, as fast-check arbitraries. Each produces plain data (strings, byte arrays,
 * records) rather than ready requests, so a counterexample prints as something a person can
 * read and replay; the spec turns them into requests at send time (fresh idempotency keys,
 * signatures over the current time).
 */

export const BODY_LIMIT_BYTES = 64 * 1024;

/** Percent-encodes the UTF-8 bytes of `text` (lone surrogates become U+FFFD, as on the wire). */
export function percentEncode(text: string, keep = /[A-Za-z0-9_.~-]/): string {
  let out = '';
  for (const char of text) {
    if (keep.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/** Strings that have broken parsers, validators and log pipelines before. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '00',
  '1e3',
  '1.5',
  '0x10',
  '１２３',
  '\u202Eevil',
  'a\u200Bb',
  '\uFEFF',
  'e\u0301\u0301\u0301',
  '😀',
  '\uD800',
  '\uDC00x',
  "'; drop table events; --",
  '%s%s%s%n',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '\r\nX-Injected: 1',
  '__proto__',
  'constructor',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.integer({ min: 1_000, max: 60_000 })).map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n)),
);

/** Any JSON value of any type: what a field with the right name and the wrong type gets. */
export const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1.5, 1e21, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_VALUE, true, false, null),
  fc.constant([]),
  fc.constant({}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Amounts in every form the contract refuses: numbers, signs, decimals, exponents, too many digits. */
export const badAmount: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map((n) => n.toString()),
  fc.constantFrom('-1', '+1', '-0', '0', '1.5', '1,5', '1e3', ' 1', '1 ', '01', '0x10', '１', '', '1234567890123456789', '9'.repeat(19), '9'.repeat(400), '9223372036854775808', 'Infinity'),
  fc.nat().map((n) => `${n}.${n}`),
);

// ---------------------------------------------------------------------------------------
// Bodies (the exact text or bytes sent)
// ---------------------------------------------------------------------------------------

export type Body = string | Uint8Array;

/** Random JSON of any shape, objects, arrays and bare values alike. */
export const randomJson: fc.Arbitrary<Body> = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null');

/** Objects with the operation's field names (nested ones too) and values of every wrong type. */
export function wrongTypes(fields: readonly string[], nested: Record<string, string[]>): fc.Arbitrary<Body> {
  if (fields.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), nastyValue, { maxKeys: 4 }).map((v) => JSON.stringify(v));
  const value = (field: string): fc.Arbitrary<unknown> => {
    const inner = nested[field];
    if (!inner) return nastyValue;
    return fc.oneof(nastyValue, fc.record(Object.fromEntries(inner.map((f) => [f, nastyValue])), { requiredKeys: [] }));
  };
  return fc.record(Object.fromEntries(fields.map((f) => [f, value(f)])), { requiredKeys: [] }).map((v) => JSON.stringify(v));
}

/** The valid body with one field replaced by a bad amount (for operations that take amounts). */
export function badAmounts(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    badAmount.map((amount) => JSON.stringify({ ...valid, amount })),
    // Numeric literals JSON.stringify cannot write: overflow to Infinity, precision loss, -0.
    fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '-0', '0.0000001', '1E+2').map((literal) =>
      JSON.stringify({ ...valid, amount: '__AMOUNT__' }).replace('"__AMOUNT__"', literal),
    ),
  );
}

/** The valid body plus fields the DTO does not declare, at the root or inside a nested object. */
export function unknownFields(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  const nestedName = Object.keys(valid).find((k) => typeof valid[k] === 'object' && valid[k] !== null);
  return fc
    .tuple(fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), nastyValue, { minKeys: 1, maxKeys: 3 }), fc.boolean())
    .map(([extra, nested]) => {
      if (nested && nestedName) return JSON.stringify({ ...valid, [nestedName]: { ...(valid[nestedName] as object), ...extra } });
      return JSON.stringify({ ...extra, ...valid });
    });
}

/** Nesting as deep as the body limit allows: arrays 1 byte a level each way, objects 6. */
export function deeplyNested(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  return fc
    .tuple(fc.constantFrom<'array' | 'object'>('array', 'object'), fc.integer({ min: 10, max: 30_000 }), fc.constantFrom<'root' | 'field'>('root', 'field'))
    .map(([shape, wanted, where]) => {
      const depth = shape === 'array' ? Math.min(wanted, 30_000) : Math.min(wanted, 10_000);
      const nest = shape === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      const field = Object.keys(valid)[0];
      if (where === 'root' || field === undefined) return nest;
      return JSON.stringify({ ...valid, [field]: '__NEST__' }).replace('"__NEST__"', nest);
    });
}

/** Long strings and every kind of unicode in every field, the valid body otherwise. */
export function strangeStrings(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  const fields = Object.keys(valid);
  if (fields.length === 0) return nastyString.map((s) => JSON.stringify({ [s]: s }));
  return fc
    .tuple(fc.constantFrom(...fields), nastyString)
    .map(([field, text]) => JSON.stringify({ ...valid, [field]: text }))
    .filter((text) => Buffer.byteLength(text) <= BODY_LIMIT_BYTES);
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', 'toJSON', 'then', '__defineGetter__', 'isPrototypeOf'];
const PROTO_VALUES = ['{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', '"yes"', '1', 'null', '[]', '{"__proto__":{"polluted":"yes"}}'];

/**
 * Prototype-pollution keys as own members of the JSON text (an object literal cannot hold
 * `__proto__` as an own key, so the text is spliced), at the root or in a nested object.
 */
export function prototypeKeys(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  const nestedName = Object.keys(valid).find((k) => typeof valid[k] === 'object' && valid[k] !== null);
  return fc
    .tuple(fc.constantFrom(...PROTO_KEYS), fc.constantFrom(...PROTO_VALUES), fc.boolean(), fc.boolean())
    .map(([key, value, nested, replace]) => {
      const member = `${JSON.stringify(key)}:${value}`;
      const host = replace ? {} : valid;
      if (nested && nestedName) {
        const inner = JSON.stringify(replace ? {} : valid[nestedName]);
        const innerText = inner === '{}' ? `{${member}}` : `{${member},${inner.slice(1)}`;
        return JSON.stringify({ ...valid, [nestedName]: '__INNER__' }).replace('"__INNER__"', innerText);
      }
      const text = JSON.stringify(host);
      return text === '{}' ? `{${member}}` : `{${member},${text.slice(1)}`;
    });
}

/** Text that is not JSON, or JSON the strict parser refuses (bare values), or bytes that are not UTF-8. */
export function malformedJson(valid: Record<string, unknown>): fc.Arbitrary<Body> {
  const text = JSON.stringify(valid);
  return fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      '{',
      text.slice(0, Math.max(1, text.length - 1)),
      `${text}x`,
      `${text}${text}`,
      text.replace(/"/g, "'"),
      `{"a":1,}`,
      '{"a":NaN}',
      '{"a":undefined}',
      '/* c */{}',
      `\uFEFF${text}`,
      'null',
      'true',
      '"a string"',
      '123',
      '[]',
      '{"a":1,"a":2}',
      '{"\\ud800":"\\udfff"}',
    ),
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes) => Buffer.concat([Buffer.from('{"reason":"'), Buffer.from(bytes.map((b) => b | 0x80)), Buffer.from('"}')])),
  );
}

/** Every body generator for an operation with a JSON body, weighted towards the near-valid. */
export function badBody(valid: Record<string, unknown>, fields: readonly string[], nested: Record<string, string[]>): fc.Arbitrary<{ kind: string; body: Body }> {
  const tagged = (kind: string, arb: fc.Arbitrary<Body>) => arb.map((body) => ({ kind, body }));
  const generators = [
    tagged('random json', randomJson),
    tagged('wrong types', wrongTypes(fields, nested)),
    tagged('unknown fields', unknownFields(valid)),
    tagged('deep nesting', deeplyNested(valid)),
    tagged('strange strings', strangeStrings(valid)),
    tagged('prototype keys', prototypeKeys(valid)),
    tagged('malformed json', malformedJson(valid)),
  ];
  if (fields.includes('amount')) generators.push(tagged('bad amount', badAmounts(valid)));
  return fc.oneof(...generators);
}

// ---------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------

/** Header values Node's client will still send (tab, printable ASCII, latin-1), but no valid key. */
export const badIdempotencyKey: fc.Arbitrary<string | string[] | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom('', ' ', '\t', 'a b', 'x'.repeat(256), 'x'.repeat(4_000), 'caf\u00e9', '\u00ff\u00fe', 'key\t1'),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, ' ')).filter((s) => !/^[\x21-\x7e]{1,255}$/.test(s)),
  fc.tuple(fc.uuid(), fc.uuid()).map(([a, b]) => [a, b]),
);

export const badContentType: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(
    '',
    'text/plain',
    'text/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/jsonp',
    'application/x-json',
    'application/json, text/plain',
    '*/*',
    'json',
    'application/',
    ';',
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '')),
);

/** Content types that are JSON by the rules, in odd spellings: they must parse like application/json. */
export const oddJsonContentType = fc.constantFrom(
  'APPLICATION/JSON',
  'application/json;',
  'application/json; charset=utf-8',
  'application/json; charset="UTF-8"',
  'application/problem+json',
  'application/vnd.api+json',
);

export type Encoding = { name: string; payload: 'gzip' | 'deflate' | 'garbage' | 'bomb' | 'plain' };

export const badEncoding: fc.Arbitrary<Encoding> = fc.oneof(
  fc.constantFrom<Encoding>(
    { name: 'gzip', payload: 'gzip' },
    { name: 'deflate', payload: 'deflate' },
    { name: 'GZIP', payload: 'gzip' },
    { name: 'gzip', payload: 'garbage' },
    { name: 'deflate', payload: 'garbage' },
    { name: 'gzip', payload: 'plain' },
    { name: 'gzip', payload: 'bomb' },
    { name: 'deflate', payload: 'bomb' },
    { name: 'br', payload: 'plain' },
    { name: 'compress', payload: 'plain' },
    { name: 'identity', payload: 'plain' },
    { name: 'gzip, gzip', payload: 'gzip' },
    { name: 'gzip, identity', payload: 'gzip' },
    { name: '', payload: 'plain' },
  ),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((s) => ({ name: s.replace(/[^\x21-\x7e]/g, 'x'), payload: 'plain' as const })),
);

/** How far past 64 KiB an oversized body goes, and whether it is sent chunked (no Content-Length). */
export const oversized = fc.record({ extraBytes: fc.integer({ min: 1, max: 256 * 1024 }), chunked: fc.boolean(), json: fc.boolean() });

export const oddHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  // Not `Expect`: Node's HTTP server answers any expectation but 100-continue itself (see the protocol tests).
  fc.constantFrom('x-request-id', 'x-correlation-id', 'traceparent', 'accept', 'accept-encoding', 'x-http-method-override', 'x-forwarded-for', 'origin', 'range'),
  fc.oneof(
    // At most three headers of 4,000: the request head stays under Node's 16 KiB limit.
    fc.constantFrom('', '*', 'x'.repeat(4_000), '00-00000000000000000000000000000000-0000000000000000-00', 'bytes=0-1', 'DELETE', '999.999.999.999, ::1'),
    fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\t\x20-\x7e]/g, '?')),
  ),
  { minKeys: 1, maxKeys: 3 },
);

// ---------------------------------------------------------------------------------------
// Paths and queries (as sent on the wire)
// ---------------------------------------------------------------------------------------

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-'.split('');

export const badPathParam: fc.Arbitrary<string> = fc.oneof(
  // Over-long ids of allowed characters (the limit is 100).
  fc.integer({ min: 101, max: 3_000 }).map((n) => 'a'.repeat(n)),
  fc.array(fc.constantFrom(...ID_CHARS), { minLength: 101, maxLength: 400 }).map((chars) => `a${chars.join('')}`),
  // Traversal, encoded separators and other odd characters.
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E',
    '..%2F..%2Fhealth%2Flive',
    'a%2Fb',
    '%2F',
    '%5C',
    'a%5C..%5Cb',
    '%00',
    'a%00b',
    '%',
    '%zz',
    '%c3%28',
    '%ff%fe',
    '%e2%80%ae',
    '-leading-dash',
    '.leading-dot',
    ':',
    '~',
    '*',
    '$',
    "'",
    '"',
    '{id}',
    ';a=1',
    '%3F',
    '%23',
    'a%20b',
    '+',
    '%2B',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map((s) => percentEncode(s)),
  fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map((s) => percentEncode(s, /[\x21-\x7e]/).replace(/[/?#]/g, (c) => percentEncode(c, /^$/))),
);

/** Query strings: known and unknown names, repeated names, bracket syntax, pollution keys, bad encodings. */
export function badQuery(known: ReadonlyArray<{ name: string; enum?: string[] }>): fc.Arbitrary<string> {
  const names = known.map((p) => p.name);
  const name = fc.oneof(
    ...(names.length ? [fc.constantFrom(...names)] : []),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', '__proto__[polluted]', 'constructor[prototype][polluted]', 'limit[]', 'a[b]', 'a.b', ''),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  // Bounded, so the request head stays under Node's 16 KiB limit (the protocol tests cover going over it).
  const value = fc.oneof(
    nastyString.map((s) => s.slice(0, 400)),
    badCursor,
    fc.constantFrom('9223372036854775807', '9223372036854775808', '18446744073709551616', '-1', '0', '00', '1.5', '501', '500', '1', 'open', 'all'),
    fc.constantFrom('0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2026-02-29T00:00:00Z', '2026-11-23T24:00:00Z', '2026-11-23', '2026-11-23T10:00:00+01:00'),
    ...known.filter((p) => p.enum).map((p) => fc.constantFrom(...p.enum!)),
  );
  const pair = fc.tuple(name, value).map(([n, v]) => `${percentEncode(n, /[A-Za-z0-9_.~\-[\]]/)}=${percentEncode(v)}`);
  return fc.oneof(
    fc.array(pair, { minLength: 1, maxLength: 4 }).map((pairs) => pairs.join('&')),
    fc.constantFrom('&&&', '=', '==', 'a', 'a=%zz', 'a=%', '%=1', 'limit=1&limit=2', 'limit=%00', 'cursor=%E2%80%AE', `cursor=${'A'.repeat(600)}`),
  );
}

/** Values short enough for a query string (cursors are base64url, a third longer than their JSON). */
const shortValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(true, false, null, [], {}),
);

/** Cursors: random base64url, base64url JSON of random shapes, and near-valid ones with bad fields. */
export const badCursor: fc.Arbitrary<string> = fc.oneof(
  fc.base64String({ maxLength: 60 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url').slice(0, 2_000)),
  fc
    .tuple(
      fc.constantFrom('e', 'w', 'r', 'd', 'x'),
      fc.oneof(
        fc.constantFrom('9223372036854775807', '9223372036854775808', '0', '-1', '0001-01-01T00:00:00.000000Z', '9999-12-31T23:59:59.999999Z', '2026-02-29T00:00:00.000000Z'),
        shortValue,
      ),
      fc.oneof(fc.constantFrom(0, 2_147_483_647, 2_147_483_648, -1, 'a', 'bank_one', '2026-11-23'), shortValue),
      fc.option(fc.constantFrom('2026-11-23', '0001-01-01', 'a')),
      fc.option(fc.constantFrom('id-1', 'x'.repeat(101))),
    )
    .map(([tag, a, b, c, d]) => Buffer.from(JSON.stringify([tag, a, b, ...(c === null ? [] : [c]), ...(d === null ? [] : [d])])).toString('base64url')),
);
