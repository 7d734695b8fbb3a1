import { registerDecorator, type ValidationOptions } from 'class-validator';
import { CURRENCY_CODES, ENTITY_ID_PATTERN, parseAmount } from '@ledger/domain';

/**
 * An amount is a JSON string of digits in minor units: "1050". The rule is the domain's
 * own parser, so the HTTP layer and the decider can never disagree: a JSON number, a
 * decimal point, a sign, an exponent, white space or a leading zero is refused.
 */
export function IsAmount(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAmount',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: '$property must be a string of digits in minor units, e.g. "1050", without sign, decimal point or leading zeros',
        ...options,
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && parseAmount(value).ok },
    });
}

export function IsCurrencyCode(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isCurrencyCode',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be a supported ISO-4217 code such as "EUR"', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && (CURRENCY_CODES as readonly string[]).includes(value) },
    });
}

export function IsEntityId(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isEntityId',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: '$property must be 1 to 100 characters of letters, digits and _.:- starting with a letter or digit', ...options },
      validator: { validate: (value: unknown) => typeof value === 'string' && ENTITY_ID_PATTERN.test(value) },
    });
}

/**
 * Printable text without control characters, as free-text fields (references, names) must be,
 * and not blank: the domain refuses blank text (`requireText`, `field_required`), which would
 * surface as an undocumented code, stored under the Idempotency-Key as if it were a business
 * answer. Unpaired surrogates (`\ud800` is valid JSON) are refused too: the text is stored in
 * events as jsonb, which rejects them, so they would fail at the append as a 500. The
 * lookahead is anchored and scans once, so the pattern stays linear on long input.
 */
export const PRINTABLE_TEXT = /^(?=[\s\S]*\S)[^\p{Cc}\p{Cf}\p{Cs}]+$/u;

/**
 * Bank destination formats (documented in docs/api.md):
 * - accountNumber: 6 to 34 upper-case letters and digits (IBANs and domestic numbers, no spaces);
 * - bankCode: a BIC (8 or 11 characters) or a domestic bank/routing code of 3 to 11 letters and digits;
 * - holderName: 1 to 140 printable characters.
 */
export const ACCOUNT_NUMBER_PATTERN = /^[A-Z0-9]{6,34}$/;
export const BANK_CODE_PATTERN = /^[A-Z0-9]{3,11}$/;
