import { ApiError } from '@ledger/platform';

/** The two ways a callback is refused, with the HTTP status each one is answered with. */
export type CallbackRejectionCode = 'invalid_signature' | 'malformed_callback';

/**
 * Why a callback was refused, finer than the code: the metric label and `details.reason`.
 * The signature reasons answer 401; the body reasons answer 400.
 */
export type CallbackRejectionReason =
  // invalid_signature (401)
  | 'missing_header'
  | 'repeated_header'
  | 'malformed_webhook_id'
  | 'malformed_timestamp'
  | 'stale_timestamp'
  | 'malformed_signature'
  | 'no_matching_signature'
  // malformed_callback (400)
  | 'body_not_utf8'
  | 'body_not_json'
  | 'body_not_an_object'
  | 'unknown_event_type'
  | 'invalid_field';

const STATUS_BY_CODE: Readonly<Record<CallbackRejectionCode, 401 | 400>> = {
  invalid_signature: 401,
  malformed_callback: 400,
};

/**
 * A provider callback we refuse to act on. It is an `ApiError`, so the callback endpoint may
 * simply let it propagate: the platform's exception filter answers it with its status (401
 * for `invalid_signature`, 400 for `malformed_callback`) in the one error format. Messages
 * and details never quote the body or a signature: an attacker's input does not belong in
 * our answers or logs.
 */
export class CallbackRejectedError extends ApiError {
  constructor(
    override readonly code: CallbackRejectionCode,
    readonly reason: CallbackRejectionReason,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(STATUS_BY_CODE[code], code, message, { reason, ...details });
    this.name = 'CallbackRejectedError';
  }
}

export function isCallbackRejectedError(error: unknown): error is CallbackRejectedError {
  return error instanceof CallbackRejectedError;
}
