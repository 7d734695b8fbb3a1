import { createHash } from 'node:crypto';

/**
 * The simulation's one source of randomness: mulberry32 (the generator the sandbox provider
 * and the crash tests use), seeded from `SIMULATION_SEED` or at random and printed. Each
 * concern draws from a stream of its own (`fork`), so adding a draw to one concern (say, one
 * more chaos knob) does not shift every withdrawal amount after it.
 */
export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** An independent stream for `label`, fixed by the seed and the label alone. */
  fork(label: string): SeededRandom {
    return new SeededRandom(createHash('sha256').update(`${this.seed}|${label}`).digest().readUInt32BE(0));
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A bigint from `min` to `max`, both included (the spans here fit a double exactly). */
  amount(min: bigint, max: bigint): bigint {
    return min + BigInt(Math.floor(this.next() * Number(max - min + 1n)));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `weighted`'s keys, with probability proportional to its weight. */
  weighted<K extends string>(weighted: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weighted) as Array<[K, number]>;
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let draw = this.next() * total;
    for (const [key, weight] of entries) {
      draw -= weight;
      if (draw < 0) return key;
    }
    return entries[entries.length - 1]![0];
  }

  /** A seeded hex token, for idempotency keys and webhook ids that repeat with the seed. */
  token(bytes = 8): string {
    let text = '';
    for (let index = 0; index < bytes; index += 1) text += this.int(0, 255).toString(16).padStart(2, '0');
    return text;
  }
}

/** `SIMULATION_SEED` when set (a whole number up to 2^32 - 1), else a fresh random seed. */
export function simulationSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.SIMULATION_SEED;
  if (given !== undefined && given !== '') {
    if (!/^[0-9]{1,10}$/.test(given) || Number(given) > 0xffffffff) {
      throw new Error(`SIMULATION_SEED must be a whole number from 0 to ${0xffffffff}, got "${given}"`);
    }
    return Number(given);
  }
  return Math.floor(Math.random() * 0xffffffff);
}
