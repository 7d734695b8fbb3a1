import type { CurrencyCode } from '@ledger/domain';
import type { SandboxBehaviour } from '../../apps/sandbox-provider/src';
import type { SeededRandom } from './seeded-random';

/** How big a run is; `SIMULATION_WITHDRAWALS` scales it. */
export interface SimulationConfig {
  seed: number;
  withdrawals: number;
  accounts: number;
  /** HTTP clients sending withdrawals and deposits at once. */
  clients: number;
}

export const DEFAULT_WITHDRAWALS = 2_000;

export function simulationConfig(seed: number, env: NodeJS.ProcessEnv = process.env): SimulationConfig {
  const given = env.SIMULATION_WITHDRAWALS;
  if (given !== undefined && given !== '' && !/^[1-9][0-9]{0,6}$/.test(given)) {
    throw new Error(`SIMULATION_WITHDRAWALS must be a positive whole number, got "${given}"`);
  }
  const withdrawals = given ? Number(given) : DEFAULT_WITHDRAWALS;
  return { seed, withdrawals, accounts: Math.max(12, Math.round(withdrawals / 20)), clients: 16 };
}

export interface PlannedAccount {
  readonly accountId: string;
  readonly ownerId: string;
  readonly currency: CurrencyCode;
  readonly initialDeposit: bigint;
}

/** What the client does with the Idempotency-Key of a withdrawal besides sending it once. */
export type ReplayMode = 'none' | 'sequential' | 'concurrent' | 'other_body';
export type CancelMode = 'none' | 'immediately' | 'later';
export type CrashMode = 'crash' | 'crash_to_standby' | 'double_crash' | 'graceful';

export const FORGERY_KINDS = [
  'wrong_secret',
  'tampered_body',
  'stale_timestamp',
  'replayed_id_other_body',
  'missing_signature',
  'malformed_payload',
] as const;
export type ForgeryKind = (typeof FORGERY_KINDS)[number];

export type PlannedStep =
  | {
      readonly kind: 'withdrawal';
      readonly index: number;
      readonly account: number;
      readonly amount: bigint;
      readonly idempotencyKey: string;
      readonly channel: string | null;
      readonly replay: ReplayMode;
      readonly cancel: CancelMode;
      readonly cancelDelayMs: number;
    }
  | { readonly kind: 'deposit'; readonly account: number; readonly amount: bigint; readonly idempotencyKey: string }
  | { readonly kind: 'chaos'; readonly channel: string; readonly patch: Partial<SandboxBehaviour> }
  | { readonly kind: 'outage'; readonly channel: string; readonly durationMs: number }
  | { readonly kind: 'crash'; readonly component: 'payouts' | 'projector'; readonly mode: CrashMode; readonly pauseMs: number }
  | { readonly kind: 'forge'; readonly forgery: ForgeryKind; readonly target: number; readonly variant: number }
  | { readonly kind: 'flush' }
  | { readonly kind: 'operator' };

export interface SimulationPlan {
  readonly accounts: readonly PlannedAccount[];
  readonly steps: readonly PlannedStep[];
}

export const CHANNEL_NAMES = ['sandbox', 'backup'] as const;

/** A random mix of the provider's chaos knobs (docs/payments.md, "Chaos knobs"). */
export function chaosPatch(random: SeededRandom): Partial<SandboxBehaviour> {
  return {
    failureRate: random.pick([0, 0.05, 0.1, 0.25]),
    timeoutRate: random.pick([0, 0, 0.02, 0.06]),
    duplicateRate: random.pick([0, 0.1, 0.3]),
    lateRate: random.pick([0, 0.05, 0.2]),
    outOfOrderRate: random.pick([0, 0.1, 0.3]),
    forgedRate: random.pick([0, 0.05, 0.15]),
    staleTimestampRate: random.pick([0, 0.05, 0.1]),
    returnRate: random.pick([0, 0.03, 0.1]),
  };
}

/**
 * The run, decided up front from the seed: accounts, then one ordered list of steps that
 * the clients and the chaos lane work through. The seed fixes what is sent and when in the
 * sequence it is sent; it cannot fix how concurrent requests interleave, so a rerun repeats
 * the scenario rather than every microsecond of it.
 */
export function planSimulation(config: SimulationConfig, random: SeededRandom): SimulationPlan {
  const accountsRandom = random.fork('accounts');
  const stepsRandom = random.fork('steps');
  const chaosRandom = random.fork('chaos');
  const run = `s${config.seed}`;

  const accounts: PlannedAccount[] = Array.from({ length: config.accounts }, (_, index) => ({
    accountId: `sim-${run}-acc-${index}`,
    ownerId: `sim-owner-${index % 7}`,
    // No channel pays out JPY: its withdrawals go to manual review (`no_channel`) at once,
    // so every run has reviews for the operator to retry and fail.
    currency: accountsRandom.weighted<CurrencyCode>({ EUR: 42, USD: 33, GBP: 20, JPY: 5 } as Record<CurrencyCode, number>),
    initialDeposit: accountsRandom.amount(20_000n, 150_000n),
  }));

  // Chaos, crashes, outages and flushes at seeded points of the withdrawal sequence.
  const n = config.withdrawals;
  const at = new Map<number, PlannedStep[]>();
  const schedule = (index: number, step: PlannedStep) => at.set(index, [...(at.get(index) ?? []), step]);
  for (const channel of CHANNEL_NAMES) schedule(0, { kind: 'chaos', channel, patch: chaosPatch(chaosRandom) });
  const points = (count: number) => Array.from({ length: count }, () => chaosRandom.int(1, Math.max(1, n - 1)));
  for (const index of points(Math.max(4, Math.round(n / 160)))) {
    schedule(index, { kind: 'chaos', channel: chaosRandom.pick(CHANNEL_NAMES), patch: chaosPatch(chaosRandom) });
  }
  for (const index of points(Math.max(3, Math.round(n / 350)))) {
    // Mostly blips; some long enough that an outcome stays unknown past the give-up time.
    const durationMs = chaosRandom.chance(0.3) ? chaosRandom.int(1_500, 3_500) : chaosRandom.int(100, 700);
    schedule(index, { kind: 'outage', channel: chaosRandom.pick(CHANNEL_NAMES), durationMs });
  }
  const crashModes: Record<CrashMode, number> = { crash: 4, crash_to_standby: 3, double_crash: 1, graceful: 2 };
  for (const index of points(Math.max(3, Math.round(n / 400)))) {
    schedule(index, { kind: 'crash', component: 'payouts', mode: chaosRandom.weighted(crashModes), pauseMs: chaosRandom.int(0, 300) });
  }
  for (const index of points(Math.max(2, Math.round(n / 600)))) {
    schedule(index, { kind: 'crash', component: 'projector', mode: chaosRandom.weighted(crashModes), pauseMs: chaosRandom.int(0, 300) });
  }
  for (const index of points(Math.max(2, Math.round(n / 700)))) schedule(index, { kind: 'flush' });
  // The operator also works during the run, between crashes and outages, not only at rest.
  for (const index of points(Math.max(3, Math.round(n / 250)))) schedule(index, { kind: 'operator' });

  const steps: PlannedStep[] = [];
  for (let index = 0; index < n; index += 1) {
    steps.push(...(at.get(index) ?? []));
    const large = stepsRandom.chance(0.05);
    const preferred = stepsRandom.weighted({ none: 88, backup: 8, sandbox: 4 });
    steps.push({
      kind: 'withdrawal',
      index,
      account: stepsRandom.int(0, accounts.length - 1),
      // A few far larger than a balance is likely to be: insufficient_funds must write nothing.
      amount: large ? stepsRandom.amount(40_000n, 300_000n) : stepsRandom.amount(100n, 6_000n),
      idempotencyKey: `sim-${run}-wd-${index}`,
      channel: preferred === 'none' ? null : preferred,
      replay: stepsRandom.weighted<ReplayMode>({ none: 85, sequential: 8, concurrent: 5, other_body: 2 }),
      cancel: stepsRandom.weighted<CancelMode>({ none: 90, immediately: 6, later: 4 }),
      cancelDelayMs: stepsRandom.int(0, 60),
    });
    if (stepsRandom.chance(0.04)) {
      steps.push({
        kind: 'deposit',
        account: stepsRandom.int(0, accounts.length - 1),
        amount: stepsRandom.amount(5_000n, 60_000n),
        idempotencyKey: `sim-${run}-dep-${index}`,
      });
    }
    if (stepsRandom.chance(0.03)) {
      steps.push({ kind: 'forge', forgery: stepsRandom.pick(FORGERY_KINDS), target: stepsRandom.next(), variant: stepsRandom.int(0, 1_000_000) });
    }
  }
  return { accounts, steps };
}
