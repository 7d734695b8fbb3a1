import { ApiError } from './api-error';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
// SQLSTATEs that say the server cannot serve now, not that the query is wrong: shutdowns,
// too many connections, a cancelled (timed out) statement, a missing database, a
// serialisation failure or deadlock a retry resolves.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '40001', '40P01', '3D000']);
// Whole classes: connection exceptions (08) and refused authentication (28).
const UNAVAILABLE_CLASSES = ['08', '28'];
// What node-pg itself says when the connection goes away or cannot be made in time.
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/** True when a PostgreSQL or driver error means the database cannot serve now (not that the request is wrong). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)) || NETWORK_CODES.has(code))) ||
    (typeof message === 'string' && DRIVER_MESSAGES.test(message))
  );
}

/**
 * The answer for a database that does not answer: 503 `database_unavailable` with
 * Retry-After, never a 500. It is the server's state, not the client's fault, and a client
 * may retry (commands with the same Idempotency-Key). The message is ours: a driver's can
 * hold SQL or connection details.
 */
export function databaseUnavailableError(error: unknown, message = 'The database does not answer; retry later.'): ApiError | undefined {
  return isDatabaseUnavailable(error) ? new ApiError(503, 'database_unavailable', message, {}, { 'Retry-After': '1' }) : undefined;
}
