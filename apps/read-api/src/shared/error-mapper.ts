import { ApiError, databaseUnavailableError } from '@ledger/platform';

// The read-model tables or their schema are missing: the projector has not migrated yet.
const NOT_MIGRATED_STATES = new Set(['42P01', '3F000']);

/**
 * Maps what the database throws onto the HTTP error format. Reads have no domain
 * rejections; what can fail is PostgreSQL, and those failures are the server's state, not the
 * client's fault, so they are 503s a client may retry, never 500s. Messages are our own:
 * a driver's message can hold SQL or connection details.
 */
export function mapReadError(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' && NOT_MIGRATED_STATES.has(code)) {
    return new ApiError(503, 'read_models_unavailable', 'The read models are not available yet; retry later.', {}, { 'Retry-After': '5' });
  }
  return databaseUnavailableError(error, 'The read-model database does not answer; retry later.');
}
