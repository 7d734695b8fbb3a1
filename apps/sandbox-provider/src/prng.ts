/**
 * mulberry32: a 32-bit seeded PRNG, small and fast, good enough to decide a simulated
 * provider's fate rolls (not for anything secret). Returns numbers in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a over the UTF-16 code units of a string: spreads similar keys across 32 bits. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * Draws that depend only on the seed, a payout's idempotency key and what is being decided.
 * A payout's fate is then the same on every run with the same seed, whatever order requests
 * arrive in: two concurrent runs of a simulation cannot differ by scheduling alone.
 */
export class SeededRolls {
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`the seed must be a whole number from 0 to ${0xffffffff}, got ${seed}`);
    }
  }

  /** A number in [0, 1) for this key and purpose. */
  draw(key: string, purpose: string): number {
    return mulberry32(fnv1a32(`${this.seed}|${key}|${purpose}`))();
  }

  /** True with probability `rate` (0 never, 1 always). */
  chance(rate: number, key: string, purpose: string): boolean {
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    return this.draw(key, purpose) < rate;
  }

  /** One of `options`, chosen by the draw. */
  pick<T>(options: readonly T[], key: string, purpose: string): T {
    return options[Math.floor(this.draw(key, purpose) * options.length)]!;
  }
}
