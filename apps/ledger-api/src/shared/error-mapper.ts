import { isDomainRejection } from '@ledger/domain';
import { EventStoreTimeout, EventStoreUnavailable, InvalidAppend, WrongExpectedVersion } from '@ledger/event-store';
import { ApiError, databaseUnavailableError } from '@ledger/platform';
import { REJECTION_HTTP_STATUS } from './rejection-status';

/** Maps what the command side throws onto the HTTP error format (ADR 0004). */
export function mapCommandError(error: unknown): ApiError | undefined {
  if (isDomainRejection(error)) {
    return new ApiError(REJECTION_HTTP_STATUS[error.code], error.code, error.message, { ...error.details });
  }
  if (error instanceof WrongExpectedVersion) {
    // Only after the queue's bounded reload-and-retry rounds: another writer kept winning.
    return new ApiError(409, 'concurrency_conflict', 'the account changed concurrently too often; retry the request', {
      stream: error.streamName,
    });
  }
  if (error instanceof EventStoreTimeout) {
    return new ApiError(503, 'event_store_timeout', 'the event store did not answer in time; the outcome is unknown, retry with the same Idempotency-Key');
  }
  if (error instanceof EventStoreUnavailable) {
    return new ApiError(503, 'event_store_unavailable', 'the event store is unavailable; retry with the same Idempotency-Key');
  }
  if (error instanceof InvalidAppend) {
    return new ApiError(400, 'invalid_request', error.message, { reason: error.reason });
  }
  // The idempotency keys, the withdrawal index and the PostgreSQL event store's own
  // connection errors: a database restart is a burst of 503s a client retries, not 500s.
  return databaseUnavailableError(error, 'The database does not answer; retry with the same Idempotency-Key.');
}
