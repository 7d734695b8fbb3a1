import {
  AMOUNT_MAX,
  CURRENCY_CODES,
  CURRENCY_MINOR_UNIT_EXPONENTS,
  decodeAmount,
  encodeAmount,
  formatMoney,
  isCurrencyCode,
  parseAmount,
  parseCurrency,
} from './money';
import { MalformedEventData } from './errors';

describe('parseAmount', () => {
  it.each([
    ['0', 0n],
    ['1', 1n],
    ['1050', 1050n],
    ['999999999999999999', AMOUNT_MAX],
  ])('accepts the canonical digit string %p', (input, expected) => {
    expect(parseAmount(input)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, unknown, string]>([
    ['a JSON number', 1050, 'amount_not_a_string'],
    ['an integral float', 10.0, 'amount_not_a_string'],
    ['a bigint', 1050n, 'amount_not_a_string'],
    ['null', null, 'amount_not_a_string'],
    ['undefined', undefined, 'amount_not_a_string'],
    ['an object', { amount: '1' }, 'amount_not_a_string'],
    ['an array', ['1'], 'amount_not_a_string'],
    ['a boolean', true, 'amount_not_a_string'],
    ['an empty string', '', 'amount_empty'],
    ['a decimal point', '10.50', 'amount_not_digits'],
    ['a trailing decimal point', '10.', 'amount_not_digits'],
    ['a decimal comma', '10,50', 'amount_not_digits'],
    ['a minus sign', '-1', 'amount_not_digits'],
    ['a plus sign', '+1', 'amount_not_digits'],
    ['an exponent', '1e3', 'amount_not_digits'],
    ['a hex literal', '0x10', 'amount_not_digits'],
    ['a leading space', ' 1', 'amount_not_digits'],
    ['a trailing space', '1 ', 'amount_not_digits'],
    ['a trailing newline', '1\n', 'amount_not_digits'],
    ['a thousands separator', '1_000', 'amount_not_digits'],
    ['non-ASCII digits', '١٢٣', 'amount_not_digits'],
    ['full-width digits', '１２', 'amount_not_digits'],
    ['Infinity', 'Infinity', 'amount_not_digits'],
    ['NaN', 'NaN', 'amount_not_digits'],
    ['a leading zero', '01', 'amount_leading_zero'],
    ['several zeros', '00', 'amount_leading_zero'],
    ['10^18', '1000000000000000000', 'amount_exceeds_max'],
    ['a very long number', '9'.repeat(10_000), 'amount_exceeds_max'],
  ])('rejects %s', (_label, input, code) => {
    const result = parseAmount(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe(code);
  });

  it('never echoes the refused input in its message', () => {
    const result = parseAmount('secret-1234');
    expect(!result.ok && result.error.message).not.toContain('secret');
  });
});

describe('parseCurrency', () => {
  it('accepts every listed code', () => {
    for (const code of CURRENCY_CODES) expect(parseCurrency(code)).toEqual({ ok: true, value: code });
  });

  it.each<[unknown, string]>([
    [840, 'currency_not_a_string'],
    [null, 'currency_not_a_string'],
    ['usd', 'currency_malformed'],
    ['US', 'currency_malformed'],
    ['USDX', 'currency_malformed'],
    [' USD', 'currency_malformed'],
    ['', 'currency_malformed'],
    ['XXX', 'unsupported_currency'],
    ['BTC', 'unsupported_currency'],
  ])('rejects %p with %s', (input, code) => {
    const result = parseCurrency(input);
    expect(!result.ok && result.error.code).toBe(code);
  });

  it('does not mistake inherited object keys for currencies', () => {
    expect(isCurrencyCode('constructor')).toBe(false);
    expect(isCurrencyCode('__proto__')).toBe(false);
    expect(isCurrencyCode('toString')).toBe(false);
  });
});

describe('the currency table', () => {
  it('has the ISO-4217 minor-unit exponents', () => {
    expect(CURRENCY_MINOR_UNIT_EXPONENTS).toMatchObject({
      USD: 2, EUR: 2, GBP: 2, JPY: 0, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, HUF: 2,
      BHD: 3, KWD: 3, CAD: 2, AUD: 2, SGD: 2, HKD: 2, INR: 2, BRL: 2, MXN: 2, ZAR: 2,
      VND: 0, KRW: 0, CLP: 0, ISK: 0,
    });
  });
});

describe('amount codec for event data', () => {
  it('round-trips', () => {
    for (const amount of [0n, 1n, 1050n, AMOUNT_MAX]) expect(decodeAmount(encodeAmount(amount))).toBe(amount);
  });

  it('refuses to encode a negative amount', () => {
    expect(() => encodeAmount(-1n)).toThrow(RangeError);
  });

  it('treats a malformed stored amount as corrupt data', () => {
    expect(() => decodeAmount('10.5')).toThrow(MalformedEventData);
    expect(() => decodeAmount('007')).toThrow(MalformedEventData);
  });
});

describe('formatMoney', () => {
  it.each([
    [1050n, 'USD', '10.50 USD'],
    [5n, 'USD', '0.05 USD'],
    [0n, 'EUR', '0.00 EUR'],
    [1050n, 'JPY', '1050 JPY'],
    [1050n, 'BHD', '1.050 BHD'],
    [-1050n, 'USD', '-10.50 USD'],
    [AMOUNT_MAX, 'USD', '9999999999999999.99 USD'],
  ] as const)('formats %p %s as %s', (amount, currency, expected) => {
    expect(formatMoney({ amount, currency })).toBe(expected);
  });
});
