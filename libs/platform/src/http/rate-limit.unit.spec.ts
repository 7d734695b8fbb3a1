import { ConfigError } from '../config';
import { TokenBucketRateLimiter } from './rate-limit';

describe('TokenBucketRateLimiter', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000;
  });

  it('allows a burst, then refills at the sustained rate', () => {
    const limiter = new TokenBucketRateLimiter({ perSecond: 2, burst: 3 }, clock);
    expect([1, 2, 3].map(() => limiter.take('key:a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('key:a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 500; // one token back at 2 per second
    expect(limiter.take('key:a').allowed).toBe(true);
    expect(limiter.take('key:a').allowed).toBe(false);
    now += 10_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => limiter.take('key:a').allowed)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per caller', () => {
    const limiter = new TokenBucketRateLimiter({ perSecond: 1, burst: 1 }, clock);
    expect(limiter.take('key:a').allowed).toBe(true);
    expect(limiter.take('key:a').allowed).toBe(false);
    expect(limiter.take('key:b').allowed).toBe(true);
  });

  it('says when to retry in whole seconds, at least one, rounded up', () => {
    const slow = new TokenBucketRateLimiter({ perSecond: 0.25, burst: 1 }, clock);
    slow.take('k');
    expect(slow.take('k')).toEqual({ allowed: false, retryAfterSeconds: 4 });
    now += 1_500;
    // 0.375 tokens: 0.625 missing at 0.25/s is 2.5 s, answered as 3.
    expect(slow.take('k')).toEqual({ allowed: false, retryAfterSeconds: 3 });

    const fast = new TokenBucketRateLimiter({ perSecond: 1_000, burst: 1 }, clock);
    fast.take('k');
    expect(fast.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('forgets the least recently seen callers past its bound', () => {
    const limiter = new TokenBucketRateLimiter({ perSecond: 1, burst: 1 }, clock, 2);
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c'); // evicts b, the least recently seen
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it.each([
    [{ perSecond: 0, burst: 1 }, 'perSecond'],
    [{ perSecond: Number.NaN, burst: 1 }, 'perSecond'],
    [{ perSecond: 1, burst: 0 }, 'burst'],
    [{ perSecond: 1, burst: 1.5 }, 'burst'],
  ])('refuses %p', (options, field) => {
    expect(() => new TokenBucketRateLimiter(options)).toThrow(ConfigError);
    expect(() => new TokenBucketRateLimiter(options)).toThrow(field);
  });
});
