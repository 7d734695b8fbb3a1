import {
  AccessDeniedError,
  CancelledError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxAppendSizeExceededError,
  StreamDeletedError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  UnsupportedError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  EventIdConflict,
  EventStoreTimeout,
  EventStoreUnavailable,
  InvalidAppend,
  WrongExpectedVersion,
} from '../errors';
import {
  DEFAULT_EVENTSTOREDB_TIMEOUT_MS,
  isStreamNotFound,
  isTransientEventStoreDbError,
  isWrongExpectedVersionError,
  mapEventStoreDbError,
} from './error-mapping';

describe('mapEventStoreDbError', () => {
  describe('wrong expected version', () => {
    it('carries the actual revision as a bigint', () => {
      const error = new WrongExpectedVersionError(undefined, {
        streamName: 'account-1',
        expected: 3n,
        current: 5n,
      });
      const mapped = mapEventStoreDbError(error, 'append');
      expect(mapped).toBeInstanceOf(WrongExpectedVersion);
      expect(mapped).toMatchObject({
        code: 'wrong_expected_version',
        streamName: 'account-1',
        expectedRevision: 3n,
        actualRevision: 5n,
      });
    });

    it('reports a stream that does not exist as actual revision -1n', () => {
      const error = new WrongExpectedVersionError(undefined, {
        streamName: 'account-1',
        expected: 'stream_exists',
        current: 'no_stream',
      });
      expect(mapEventStoreDbError(error, 'append')).toMatchObject({
        expectedRevision: 'stream_exists',
        actualRevision: -1n,
      });
    });

    it("decodes the server's negative sentinels when the client passes them through", () => {
      // The shape the client builds from gRPC trailers: versions as bigints, -1 = no stream.
      const fromTrailers = {
        type: 'wrong-expected-version',
        streamName: 'account-1',
        expectedVersion: -1n,
        actualVersion: 0n,
      };
      expect(mapEventStoreDbError(fromTrailers, 'append')).toMatchObject({
        expectedRevision: 'no_stream',
        actualRevision: 0n,
      });
      expect(mapEventStoreDbError({ ...fromTrailers, expectedVersion: -4n }, 'append')).toMatchObject({
        expectedRevision: 'stream_exists',
      });
    });
  });

  describe('deadlines', () => {
    it.each([
      ['a client-side deadline', new DeadlineExceededError()],
      ['a server-side operation timeout', new TimeoutError()],
      ['an unconverted gRPC DEADLINE_EXCEEDED', Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 })],
    ])('maps %s to EventStoreTimeout naming the operation and deadline', (_name, error) => {
      const mapped = mapEventStoreDbError(error, 'append', 1_234);
      expect(mapped).toBeInstanceOf(EventStoreTimeout);
      expect(mapped).toMatchObject({ code: 'event_store_timeout', operation: 'append', timeoutMs: 1_234 });
    });

    it('reports the default deadline when none is given', () => {
      expect(mapEventStoreDbError(new DeadlineExceededError(), 'readAll')).toMatchObject({
        timeoutMs: DEFAULT_EVENTSTOREDB_TIMEOUT_MS,
      });
    });
  });

  describe('unavailability', () => {
    it.each([
      ['the server is unreachable', new UnavailableError()],
      ['the server cancelled the call', new CancelledError()],
      ['an unknown server error', new UnknownError()],
      ['the node is no longer the leader', { type: 'not-leader', message: 'not leader', leader: {} }],
      ['access was denied', new AccessDeniedError()],
      ['the stream was deleted', StreamDeletedError.fromStreamName('account-1')],
      ['the server is too old', new UnsupportedError('batchAppend', '21.10')],
      ['an unconverted gRPC UNAVAILABLE', Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })],
      ['a socket error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['something that is not an Error', 'boom'],
    ])('maps "%s" to EventStoreUnavailable keeping the cause', (_name, error) => {
      const mapped = mapEventStoreDbError(error, 'readStream');
      expect(mapped).toBeInstanceOf(EventStoreUnavailable);
      expect(mapped).toMatchObject({ code: 'event_store_unavailable' });
      expect(mapped.message).toContain('readStream');
      expect(mapped.cause).toBe(error);
    });
  });

  it('maps an append over the server maximum to InvalidAppend, since resending cannot succeed', () => {
    const mapped = mapEventStoreDbError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576), 'append');
    expect(mapped).toBeInstanceOf(InvalidAppend);
    expect(mapped).toMatchObject({ code: 'invalid_append', reason: 'event_too_large' });
    expect(mapped.message).toContain('1048576');
  });

  it('passes programming errors through unchanged, so a bug is not retried as an outage', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'revision')");
    expect(mapEventStoreDbError(bug, 'append')).toBe(bug);
    const range = new RangeError('Invalid array length');
    expect(mapEventStoreDbError(range, 'readAll')).toBe(range);
  });

  it('passes errors of the port through unchanged', () => {
    const conflict = new EventIdConflict('account-1', 'id', 'exists');
    expect(mapEventStoreDbError(conflict, 'append')).toBe(conflict);
    const timeout = new EventStoreTimeout('append', 5);
    expect(mapEventStoreDbError(timeout, 'readAll')).toBe(timeout);
  });
});

describe('isTransientEventStoreDbError', () => {
  it.each([
    new UnavailableError(),
    new DeadlineExceededError(),
    new TimeoutError(),
    new CancelledError(),
    new UnknownError(),
    { type: 'not-leader' },
    new EventStoreUnavailable('gone'),
    new EventStoreTimeout('subscribeToAll', 5),
    Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }),
    new Error('Premature close'),
  ])('retries after %p', (error) => {
    expect(isTransientEventStoreDbError(error)).toBe(true);
  });

  it.each([
    new AccessDeniedError(),
    new InvalidArgumentError('bad filter'),
    new UnsupportedError('filter', '21.10'),
    StreamDeletedError.fromStreamName('account-1'),
    new InvalidAppend('event_too_large', 'too large'),
    new TypeError('x is not a function'),
    new RangeError('Invalid array length'),
    'not an error',
  ])('gives up after %p', (error) => {
    expect(isTransientEventStoreDbError(error)).toBe(false);
  });
});

describe('error predicates', () => {
  it('recognises a stream that was not found, which reads as empty', () => {
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 'account-1'))).toBe(true);
    expect(isStreamNotFound(new UnavailableError())).toBe(false);
    expect(isStreamNotFound(undefined)).toBe(false);
  });

  it('recognises the client wrong-expected-version error by its type', () => {
    expect(
      isWrongExpectedVersionError(
        new WrongExpectedVersionError(undefined, { streamName: 's', expected: 0n, current: 1n }),
      ),
    ).toBe(true);
    expect(isWrongExpectedVersionError({ type: 'wrong-expected-version' })).toBe(true);
    expect(isWrongExpectedVersionError(new Error('wrong-expected-version'))).toBe(false);
  });
});
