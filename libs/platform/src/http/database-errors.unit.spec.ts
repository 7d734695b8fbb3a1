import { databaseUnavailableError, isDatabaseUnavailable } from './database-errors';

describe('databaseUnavailableError', () => {
  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a dropped connection (no code)', new Error('Connection terminated unexpectedly')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    ['an administrator shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a server starting up', Object.assign(new Error('the database system is starting up'), { code: '57P03' })],
    ['a connection exception class 08', Object.assign(new Error('connection failure'), { code: '08006' })],
    ['too many connections', Object.assign(new Error('sorry, too many clients already'), { code: '53300' })],
  ])('maps %s to 503 database_unavailable with Retry-After', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
    const mapped = databaseUnavailableError(error)!;
    expect([mapped.status, mapped.code, mapped.headers]).toEqual([503, 'database_unavailable', { 'Retry-After': '1' }]);
    expect(mapped.message).not.toContain('127.0.0.1');
  });

  it.each([
    ['a unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['a syntax error', Object.assign(new Error('syntax error'), { code: '42601' })],
    ['a plain error', new Error('boom')],
    ['not an error', 'Connection terminated'],
  ])('leaves %s to the other mappers', (_name, error) => {
    expect(databaseUnavailableError(error)).toBeUndefined();
  });
});
