import { MalformedEventData } from './errors';
import { failure, success, type ParseFailure, type Result } from './result';

/**
 * Money is an integer count of a currency's minor units (ADR 0003): `1050` USD is 10.50
 * dollars, `1050` JPY is 1,050 yen, `1050` BHD is 1.050 dinars. Amounts are `bigint` in
 * code and strings of decimal digits in JSON; no `number` ever holds money, because a double
 * silently rounds above 2^53 and invites fractional arithmetic.
 */
export interface Money {
  readonly amount: bigint;
  readonly currency: CurrencyCode;
}

/**
 * The supported ISO-4217 currencies with their minor-unit exponent (digits after the decimal
 * point), as published in ISO-4217. The table is an allow-list: a currency whose exponent we
 * have not reviewed would misstate every amount in it, so it is `unsupported_currency`.
 * HUF and ISK follow the standard (2 and 0) even where banks round differently.
 */
export const CURRENCY_MINOR_UNIT_EXPONENTS = {
  AUD: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PLN: 2,
  SEK: 2,
  SGD: 2,
  TND: 3,
  USD: 2,
  VND: 0,
  ZAR: 2,
} as const satisfies Readonly<Record<string, 0 | 2 | 3>>;

export type CurrencyCode = keyof typeof CURRENCY_MINOR_UNIT_EXPONENTS;

export const CURRENCY_CODES: readonly CurrencyCode[] = Object.freeze(
  Object.keys(CURRENCY_MINOR_UNIT_EXPONENTS) as CurrencyCode[],
);

/**
 * The largest amount the ledger accepts, in minor units: 10^18 - 1, the largest 18-digit
 * number. It fits a PostgreSQL `bigint` (max about 9.22 * 10^18) with room to spare, and it is
 * far above any real payment (10^16 dollars at exponent 2). The same bound caps a user
 * account's total balance (available + pending) when money comes in by deposit.
 */
export const AMOUNT_MAX = 999_999_999_999_999_999n;

/** Digits in `AMOUNT_MAX`: a canonical digit string longer than this is above the maximum. */
export const AMOUNT_DIGITS_MAX = 18;

/** The wire form of an amount: `/^(0|[1-9][0-9]*)$/`, at most `AMOUNT_DIGITS_MAX` digits. */
export const AMOUNT_PATTERN = /^(0|[1-9][0-9]*)$/;

export type AmountParseErrorCode =
  | 'amount_not_a_string'
  | 'amount_empty'
  | 'amount_not_digits'
  | 'amount_leading_zero'
  | 'amount_exceeds_max';

export type CurrencyParseErrorCode = 'currency_not_a_string' | 'currency_malformed' | 'unsupported_currency';

export function isCurrencyCode(value: unknown): value is CurrencyCode {
  return typeof value === 'string' && Object.hasOwn(CURRENCY_MINOR_UNIT_EXPONENTS, value);
}

export function minorUnitExponent(currency: CurrencyCode): number {
  return CURRENCY_MINOR_UNIT_EXPONENTS[currency];
}

/**
 * Parses an amount of minor units from untrusted JSON. Only a string of ASCII digits in
 * canonical form is an amount: a JSON number is refused even when integral (it may already
 * have been rounded by the JSON parser), and so are a decimal point, a sign, an exponent,
 * white space, an empty string and leading zeros. Zero parses; whether zero is allowed is a
 * business rule (`amount_must_be_positive`), not a syntax rule.
 */
export function parseAmount(input: unknown): Result<bigint, ParseFailure<AmountParseErrorCode>> {
  if (typeof input !== 'string') {
    return failure({
      code: 'amount_not_a_string',
      message: `an amount is a string of digits in minor units, got ${describeType(input)}`,
    });
  }
  if (input.length === 0) {
    return failure({ code: 'amount_empty', message: 'an amount must not be empty' });
  }
  if (!/^[0-9]+$/.test(input)) {
    return failure({
      code: 'amount_not_digits',
      message: 'an amount may contain only the digits 0-9 (no sign, decimal point, exponent or space)',
    });
  }
  if (input.length > 1 && input.startsWith('0')) {
    return failure({ code: 'amount_leading_zero', message: 'an amount must not have leading zeros' });
  }
  // The length check runs before BigInt so a megabyte of digits costs nothing to refuse.
  if (input.length > AMOUNT_DIGITS_MAX || BigInt(input) > AMOUNT_MAX) {
    return failure({
      code: 'amount_exceeds_max',
      message: `an amount must not exceed ${AMOUNT_MAX.toString()} minor units`,
    });
  }
  return success(BigInt(input));
}

/**
 * Parses an ISO-4217 code from untrusted JSON: exactly three upper-case ASCII letters, and
 * listed in `CURRENCY_MINOR_UNIT_EXPONENTS`. Lower case is refused rather than normalised so
 * the same currency has exactly one spelling in events.
 */
export function parseCurrency(input: unknown): Result<CurrencyCode, ParseFailure<CurrencyParseErrorCode>> {
  if (typeof input !== 'string') {
    return failure({
      code: 'currency_not_a_string',
      message: `a currency is an ISO-4217 code string, got ${describeType(input)}`,
    });
  }
  if (!/^[A-Z]{3}$/.test(input)) {
    return failure({ code: 'currency_malformed', message: 'a currency is three upper-case letters (ISO-4217)' });
  }
  if (!isCurrencyCode(input)) {
    return failure({ code: 'unsupported_currency', message: `currency ${input} is not supported` });
  }
  return success(input);
}

/**
 * The digit string that represents an amount in event data and JSON answers. Negative
 * amounts have no wire form: every amount in an event is a quantity moved, never a balance.
 */
export function encodeAmount(amount: bigint): string {
  if (amount < 0n) {
    throw new RangeError(`an amount in event data cannot be negative: ${amount.toString()}`);
  }
  return amount.toString();
}

/**
 * Reads an amount back from event data. Event data is trusted to have been written by this
 * domain, so a malformed amount means a corrupt or foreign event, and it throws.
 */
export function decodeAmount(digits: string): bigint {
  const parsed = parseAmount(digits);
  if (!parsed.ok) {
    throw new MalformedEventData(`malformed amount in event data (${parsed.error.code})`);
  }
  return parsed.value;
}

/**
 * Formats money in major units for people and logs: `{ 1050n, 'USD' }` is `10.50 USD`,
 * `{ 1050n, 'JPY' }` is `1050 JPY`. Pure string work, so it is exact at any size.
 */
export function formatMoney(money: Money): string {
  const exponent = minorUnitExponent(money.currency);
  const negative = money.amount < 0n;
  const digits = (negative ? -money.amount : money.amount).toString().padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : digits.slice(0, digits.length - exponent);
  const minor = exponent === 0 ? '' : `.${digits.slice(digits.length - exponent)}`;
  return `${negative ? '-' : ''}${major}${minor} ${money.currency}`;
}

/** Names the JSON type of a refused value without echoing the value itself. */
function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
