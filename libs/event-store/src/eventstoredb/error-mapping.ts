import { ErrorType } from '@eventstore/db-client';
import {
  EventStoreError,
  EventStoreTimeout,
  EventStoreUnavailable,
  InvalidAppend,
  WrongExpectedVersion,
} from '../errors';
import type { ExpectedRevision } from '../port';

/** Used when the caller of `mapEventStoreDbError` does not say which deadline was missed. */
export const DEFAULT_EVENTSTOREDB_TIMEOUT_MS = 5_000;

/** gRPC status codes, for errors that reach us without the client's conversion. */
const GRPC_STATUS = { CANCELLED: 1, DEADLINE_EXCEEDED: 4, ABORTED: 10, UNAVAILABLE: 14 } as const;

/**
 * Error types after which trying again may succeed: the server was unreachable, busy,
 * restarting, or handed leadership to another node. The rest (access denied, invalid
 * argument, deleted stream, unsupported server) will fail the same way every time.
 */
const TRANSIENT_TYPES: ReadonlySet<string> = new Set<string>([
  ErrorType.TIMEOUT,
  ErrorType.DEADLINE_EXCEEDED,
  ErrorType.UNAVAILABLE,
  ErrorType.CANCELLED,
  ErrorType.NOT_LEADER,
  ErrorType.UNKNOWN,
]);

/**
 * Translates an error of `@eventstore/db-client` into the port's error, so callers
 * never depend on the client (its successor renames much of it).
 *
 * The client's errors are recognised by their `type` field rather than by class: the
 * classes are not guaranteed to be the same objects when two copies of the client are
 * installed, and the field is what the client itself switches on.
 *
 * - wrong expected version → `WrongExpectedVersion`, the actual revision a bigint
 *   (-1n when the stream does not exist);
 * - deadline exceeded or a server-side timeout → `EventStoreTimeout`: the outcome of a
 *   write is then unknown;
 * - an append over the server's maximum append size → `InvalidAppend('event_too_large')`,
 *   because nothing was written and resending the same append cannot succeed;
 * - anything else → `EventStoreUnavailable` with the original error as its cause.
 *
 * Errors of the port pass through unchanged, and so do programming errors (TypeError,
 * RangeError, ReferenceError, SyntaxError): dressed up as an unavailable store they
 * would be retried as if the server might heal them.
 */
export function mapEventStoreDbError(
  error: unknown,
  operation: string,
  timeoutMs: number = DEFAULT_EVENTSTOREDB_TIMEOUT_MS,
): Error {
  if (error instanceof EventStoreError || isProgrammingError(error)) return error;
  const type = errorType(error);
  switch (type) {
    case ErrorType.WRONG_EXPECTED_VERSION: {
      const details = error as { streamName?: unknown; expectedVersion?: unknown; actualVersion?: unknown };
      return new WrongExpectedVersion(
        typeof details.streamName === 'string' ? details.streamName : '',
        toPortExpectedRevision(details.expectedVersion),
        toActualRevision(details.actualVersion),
      );
    }
    case ErrorType.DEADLINE_EXCEEDED:
    case ErrorType.TIMEOUT:
      return new EventStoreTimeout(operation, timeoutMs);
    case ErrorType.MAXIMUM_APPEND_SIZE_EXCEEDED: {
      const limit = (error as { maxAppendSize?: unknown }).maxAppendSize;
      return new InvalidAppend(
        'event_too_large',
        `the append exceeds EventStoreDB's maximum append size${
          typeof limit === 'number' ? ` of ${limit} bytes` : ''
        } (server option MaxAppendSize); nothing was written`,
      );
    }
    case undefined:
      break;
    default:
      return new EventStoreUnavailable(`event store ${operation} failed (${type}): ${messageOf(error)}`, {
        cause: error,
      });
  }
  // A gRPC ServiceError the client did not convert still carries a numeric status code.
  const code = (error as { code?: unknown } | null)?.code;
  if (code === GRPC_STATUS.DEADLINE_EXCEEDED || code === GRPC_STATUS.ABORTED) {
    return new EventStoreTimeout(operation, timeoutMs);
  }
  return new EventStoreUnavailable(`event store ${operation} failed: ${messageOf(error)}`, { cause: error });
}

/**
 * True when the same call may succeed later: a subscription resubscribes after these,
 * and gives up (surfacing the mapped error) after any other.
 */
export function isTransientEventStoreDbError(error: unknown): boolean {
  if (error instanceof EventStoreTimeout || error instanceof EventStoreUnavailable) return true;
  if (error instanceof EventStoreError || isProgrammingError(error)) return false;
  const type = errorType(error);
  if (type !== undefined) return TRANSIENT_TYPES.has(type);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number') {
    return (
      code === GRPC_STATUS.CANCELLED ||
      code === GRPC_STATUS.DEADLINE_EXCEEDED ||
      code === GRPC_STATUS.ABORTED ||
      code === GRPC_STATUS.UNAVAILABLE
    );
  }
  // Socket and stream failures (ECONNRESET, a prematurely closed stream) and a failed
  // cluster discovery carry no gRPC status; they are what a restarting server looks
  // like from here.
  return error instanceof Error;
}

/** Errors that only a code change fixes. The client's own errors are never of these classes. */
function isProgrammingError(error: unknown): error is Error {
  return (
    error instanceof TypeError ||
    error instanceof RangeError ||
    error instanceof ReferenceError ||
    error instanceof SyntaxError
  );
}

/** A read of a stream that does not exist (or was soft-deleted): the port reads it as empty. */
export function isStreamNotFound(error: unknown): boolean {
  return errorType(error) === ErrorType.STREAM_NOT_FOUND;
}

export function isWrongExpectedVersionError(error: unknown): boolean {
  return errorType(error) === ErrorType.WRONG_EXPECTED_VERSION;
}

function errorType(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * The client reports expected versions as the port does ('any', 'no_stream',
 * 'stream_exists' or a bigint), except when it decodes them from gRPC trailers, where
 * they arrive as the server's negative sentinels.
 */
function toPortExpectedRevision(value: unknown): ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'bigint') {
    if (value >= 0n) return value;
    if (value === -1n) return 'no_stream';
    if (value === -4n) return 'stream_exists';
  }
  return 'any';
}

function toActualRevision(value: unknown): bigint {
  if (typeof value === 'bigint' && value >= 0n) return value;
  return -1n;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}
