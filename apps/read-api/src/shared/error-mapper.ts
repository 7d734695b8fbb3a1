import { ApiError } from '@ledger/platform';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
// SQLSTATEs that say the server cannot serve now, not that the query is wrong: shutdowns,
// too many connections, a cancelled (timed out) statement, a missing database.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '40001', '40P01', '3D000']);
// Whole classes: connection exceptions (08) and refused authentication (28).
const UNAVAILABLE_CLASSES = ['08', '28'];
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
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && NOT_MIGRATED_STATES.has(code)) {
    return new ApiError(503, 'read_models_unavailable', 'The read models are not available yet; retry later.', {}, { 'Retry-After': '5' });
  }
  const unavailable =
    (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) || NETWORK_CODES.has(code))) ||
    (typeof message === 'string' && /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(message));
  if (unavailable) {
    return new ApiError(503, 'database_unavailable', 'The read-model database does not answer; retry later.', {}, { 'Retry-After': '1' });
  }
  return undefined;
}
