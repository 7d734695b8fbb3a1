import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiError } from './api-error';

/** One broken rule of one field, e.g. `{ field: 'destination.accountNumber', rule: 'isNotEmpty', … }`. */
export interface FieldViolation {
  /** Dotted path from the body's root; array items by index (`items.0.amount`). */
  field: string;
  /** The class-validator constraint name (`isString`, `isNotEmpty`), or `unknown_field`. */
  rule: string;
  message: string;
}

/**
 * The request validation every route gets: DTO classes with class-validator decorators.
 * - `whitelist` + `forbidNonWhitelisted`: a field the DTO does not declare is a 400, not
 *   silently dropped, so a client's misspelt `chanel` is caught instead of ignored;
 * - `transform`: handlers receive DTO instances and typed path/query parameters;
 * - no implicit conversion: `"1050"` stays a string and `1050` fails, as the contract for
 *   amounts requires (ARCHITECTURE.md §2);
 * - errors carry neither the target object nor the rejected values, so nothing a client
 *   sent (a secret in the wrong field) is echoed back or logged from here.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(flattenValidationErrors(errors)),
  });
}

export function validationFailed(fields: FieldViolation[]): ApiError {
  return new ApiError(400, 'validation_failed', 'The request is invalid; see details.fields.', { fields });
}

/** class-validator's error tree as a flat list, nested objects and arrays included. */
export function flattenValidationErrors(errors: readonly ValidationError[], parent = ''): FieldViolation[] {
  const fields: FieldViolation[] = [];
  for (const error of errors) {
    const field = error.property === undefined || error.property === '' ? parent : parent ? `${parent}.${error.property}` : error.property;
    for (const [rule, message] of Object.entries(error.constraints ?? {})) {
      // `whitelistValidation` names a mechanism; clients understand `unknown_field`.
      fields.push({ field, rule: rule === 'whitelistValidation' ? 'unknown_field' : rule, message });
    }
    if (error.children?.length) fields.push(...flattenValidationErrors(error.children, field));
  }
  return fields;
}
