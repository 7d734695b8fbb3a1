import { parseAmount, parseCurrency, type BankAccountDestination } from '@ledger/domain';
import { ApiError, validationFailed, type FieldViolation } from '@ledger/platform';
import type { PayoutInput, SandboxPayout } from './sandbox-provider';

const FIELDS = new Set(['withdrawalId', 'attempt', 'amount', 'currency', 'destination', 'callbackUrl']);
const DESTINATION_FIELDS = new Set(['type', 'accountNumber', 'bankCode', 'holderName']);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header, required on every payout: it is what makes a retry safe. */
export function parseIdempotencyKey(header: string | string[] | undefined): string {
  if (header === undefined || header === '') {
    throw new ApiError(400, 'idempotency_key_missing', 'POST /payouts needs an Idempotency-Key header.');
  }
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
    throw new ApiError(400, 'idempotency_key_invalid', 'The Idempotency-Key must be 1-255 visible ASCII characters, sent once.');
  }
  return header;
}

/**
 * Validates a payout request body: `{ withdrawalId, attempt, amount: "digits", currency,
 * destination: { type: "bank_account", accountNumber, bankCode, holderName }, callbackUrl? }`.
 * Shape errors are 400 `validation_failed`; a well-formed currency the provider does not
 * know is 422 `unsupported_currency`, as a business refusal.
 */
export function parsePayoutRequest(body: unknown): PayoutInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationFailed([{ field: '', rule: 'isObject', message: 'the body must be a JSON object' }]);
  }
  const fields = body as Record<string, unknown>;
  const violations: FieldViolation[] = [];
  const violate = (field: string, rule: string, message: string) => violations.push({ field, rule, message });
  for (const name of Object.keys(fields)) if (!FIELDS.has(name)) violate(name, 'unknown_field', `${name} is not a field of a payout`);

  const { withdrawalId, attempt, amount, currency, destination, callbackUrl } = fields;
  if (!isText(withdrawalId)) violate('withdrawalId', 'isString', 'withdrawalId must be 1-255 characters');
  if (typeof attempt !== 'number' || !Number.isSafeInteger(attempt) || attempt < 1) violate('attempt', 'isPositive', 'attempt must be a positive whole number');
  const parsedAmount = parseAmount(amount);
  if (!parsedAmount.ok) violate('amount', parsedAmount.error.code, parsedAmount.error.message);
  else if (parsedAmount.value === 0n) violate('amount', 'amount_must_be_positive', 'amount must be positive');
  const parsedCurrency = parseCurrency(currency);
  if (!parsedCurrency.ok && parsedCurrency.error.code !== 'unsupported_currency') violate('currency', parsedCurrency.error.code, parsedCurrency.error.message);
  const parsedDestination = parseDestination(destination, violate);
  if (callbackUrl !== undefined && !isHttpUrl(callbackUrl)) violate('callbackUrl', 'isUrl', 'callbackUrl must be an http:// or https:// URL');

  if (violations.length > 0) throw validationFailed(violations);
  if (!parsedCurrency.ok) {
    throw new ApiError(422, 'unsupported_currency', `This provider does not pay out ${String(currency)}.`);
  }
  return {
    withdrawalId: withdrawalId as string,
    attempt: attempt as number,
    amount: (parsedAmount as { value: bigint }).value,
    currency: parsedCurrency.value,
    destination: parsedDestination!,
    ...(typeof callbackUrl === 'string' ? { callbackUrl } : {}),
  };
}

/** The payout resource of `POST /payouts` and `GET /payouts/{key}`. */
export function payoutView(payout: SandboxPayout): Record<string, unknown> {
  return {
    providerReference: payout.providerReference,
    idempotencyKey: payout.idempotencyKey,
    withdrawalId: payout.withdrawalId,
    attempt: payout.attempt,
    amount: payout.amount.toString(),
    currency: payout.currency,
    status: payout.status,
    reason: payout.reason ?? null,
    createdAt: payout.createdAt.toISOString(),
    settledAt: payout.settledAt?.toISOString() ?? null,
    failedAt: payout.failedAt?.toISOString() ?? null,
    returnedAt: payout.returnedAt?.toISOString() ?? null,
  };
}

function parseDestination(
  value: unknown,
  violate: (field: string, rule: string, message: string) => void,
): BankAccountDestination | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    violate('destination', 'isObject', 'destination must be an object');
    return undefined;
  }
  const fields = value as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!DESTINATION_FIELDS.has(name)) violate(`destination.${name}`, 'unknown_field', `${name} is not a field of a destination`);
  }
  if (fields.type !== 'bank_account') violate('destination.type', 'isIn', 'destination.type must be "bank_account"');
  for (const name of ['accountNumber', 'bankCode', 'holderName']) {
    const text = fields[name];
    if (!isText(text)) violate(`destination.${name}`, 'isString', `destination.${name} must be 1-255 characters`);
  }
  return {
    type: 'bank_account',
    accountNumber: fields.accountNumber as string,
    bankCode: fields.bankCode as string,
    holderName: fields.holderName as string,
  };
}

/** 1-255 characters without control characters (they have no place in names and ids, and break logs). */
function isText(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) return false;
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
