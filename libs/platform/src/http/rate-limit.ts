import { performance } from 'node:perf_hooks';
import { ConfigError } from '../config';

export interface RateLimitOptions {
  /** Sustained rate: tokens added to a bucket per second. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/**
 * A token bucket per caller (API key id, or client address for unauthenticated attempts).
 * A bucket holds up to `burst` tokens, refills at `perSecond`, and each request takes one.
 *
 * The buckets live in this process, so with N instances behind a balancer a key's effective
 * limit is up to N times the configured one; that is acceptable for abuse protection, which
 * is what this is for, and keeps a request from paying a network round trip to be counted.
 * The map is bounded: the least recently seen buckets are dropped past `maxBuckets` (a
 * dropped bucket is a full one, which only ever errs towards letting a request through).
 */
export class TokenBucketRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;

  constructor(
    readonly options: RateLimitOptions,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxBuckets = 100_000,
  ) {
    if (!(Number.isFinite(options.perSecond) && options.perSecond > 0)) {
      throw new ConfigError(`rate limit perSecond must be a positive number, got ${options.perSecond}`);
    }
    if (!(Number.isInteger(options.burst) && options.burst >= 1)) {
      throw new ConfigError(`rate limit burst must be a whole number of at least 1, got ${options.burst}`);
    }
    this.perMs = options.perSecond / 1000;
  }

  /** Takes a token from `caller`'s bucket, or says how many whole seconds until one is there. */
  take(caller: string): RateLimitDecision {
    const now = this.nowMs();
    const bucket = this.buckets.get(caller) ?? { tokens: this.options.burst, updatedMs: now };
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.updatedMs) * this.perMs);
    bucket.updatedMs = now;
    // Re-inserting keeps the map in least-recently-seen order for eviction.
    this.buckets.delete(caller);
    this.buckets.set(caller, bucket);
    this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Rounded up, and at least 1: a client that waits Retry-After seconds finds a token.
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.perSecond));
    return { allowed: false, retryAfterSeconds };
  }

  private evict(): void {
    for (const caller of this.buckets.keys()) {
      if (this.buckets.size <= this.maxBuckets) return;
      this.buckets.delete(caller);
    }
  }
}
