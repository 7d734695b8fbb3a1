import { HttpException } from '@nestjs/common';
import { isStorableStatus } from './idempotency.interceptor';
import { defaultIdempotencyErrorFactory, defaultScopeOf, describeHttpException, resolveIdempotencyOptions } from './options';

describe('resolveIdempotencyOptions', () => {
  it('keeps keys 8 days and leases them for 30 seconds by default', () => {
    const options = resolveIdempotencyOptions();
    expect(options.ttlMs).toBe(8 * 24 * 3_600_000);
    expect(options.leaseMs).toBe(30_000);
    expect(options.purgeIntervalMs).toBe(3_600_000);
    expect(options.allowAnonymous).toBe(false);
    expect(options.replayHeaders).toEqual(['location', 'content-location']);
  });

  it('refuses to keep keys for less than 7 days', () => {
    expect(() => resolveIdempotencyOptions({ ttlHours: 167 })).toThrow(RangeError);
    expect(resolveIdempotencyOptions({ ttlHours: 168 }).ttlMs).toBe(7 * 24 * 3_600_000);
  });

  it('refuses a lease that is not a positive whole number of milliseconds', () => {
    expect(() => resolveIdempotencyOptions({ leaseMs: 0 })).toThrow(RangeError);
    expect(() => resolveIdempotencyOptions({ leaseMs: 1.5 })).toThrow(RangeError);
  });
});

describe('defaults', () => {
  it('reads the scope from the principal, then from the user', () => {
    const request = { method: 'POST', url: '/', headers: {} };
    expect(defaultScopeOf({ ...request, principal: { keyId: 'k1', scopes: [] }, user: { keyId: 'k2' } })).toBe('k1');
    expect(defaultScopeOf({ ...request, user: { keyId: 'k2' } })).toBe('k2');
    expect(defaultScopeOf({ ...request, principal: { keyId: '' } })).toBeUndefined();
    expect(defaultScopeOf(request)).toBeUndefined();
  });

  it('throws HttpExceptions whose body is already the error format', () => {
    const error = defaultIdempotencyErrorFactory(409, 'idempotency_key_in_use', 'busy');
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(409);
    expect((error as HttpException).getResponse()).toEqual({
      error: { code: 'idempotency_key_in_use', message: 'busy', details: {} },
    });
  });

  it('describes HttpExceptions and nothing else', () => {
    expect(describeHttpException(new HttpException({ a: 1 }, 422))).toEqual({ status: 422, body: { a: 1 } });
    expect(describeHttpException(new Error('x'))).toBeUndefined();
  });

  it('stores answers, not invitations to retry', () => {
    for (const status of [200, 201, 202, 204, 400, 404, 409, 422]) expect(isStorableStatus(status)).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504]) expect(isStorableStatus(status)).toBe(false);
  });
});
