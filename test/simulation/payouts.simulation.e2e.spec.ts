import { runFinalChecks } from './checks';
import { CHECKS, type CheckName } from './findings';
import { Simulation } from './simulation';
import { planSimulation, simulationConfig } from './simulation-plan';
import { SeededRandom, simulationSeed } from './seeded-random';
import { SimulationWorld } from './simulation-world';

/**
 * The seeded whole-system payout simulation (docs/payouts.md, "Simulation";
 * docs/invariants.md, "Simulation"). Thousands of withdrawals over real HTTP through two
 * sandbox providers with random failures, timeouts, outages, duplicated, late,
 * out-of-order, stale and forged callbacks, returns after settlement, and crashes of the
 * projector and the payout process manager; then, at rest, the checks named in `CHECKS`.
 *
 *   SIMULATION_SEED=<n>          repeat a run (printed in every failure)
 *   SIMULATION_WITHDRAWALS=<n>   scale it (default 2,000)
 *   SIMULATION_VERBOSE=1         log the phases, chaos and crashes as they happen
 */
const seed = simulationSeed();
const config = simulationConfig(seed);
const rerun = `SIMULATION_SEED=${seed} SIMULATION_WITHDRAWALS=${config.withdrawals} npx jest test/simulation`;
const header = `Payout simulation failed with seed ${seed} (${config.withdrawals} withdrawals). Rerun: ${rerun}`;
const verbose = process.env.SIMULATION_VERBOSE === '1';
const log = (message: string) => {
  if (verbose) process.stderr.write(`[simulation ${seed}] ${message}\n`);
};

// About 25 s of fixed cost plus ~50 ms per withdrawal on two busy cores; generous, because a
// slow CI machine must fail on a finding, not on the clock.
const BUDGET_MS = 120_000 + config.withdrawals * 100;

// The rerun command is in the title too: Jest reports an error that escapes a component (an
// unhandled rejection) against every test of the file, under this name, not through our checks.
describe(`payout simulation (seed ${seed}, ${config.withdrawals} withdrawals; rerun: ${rerun})`, () => {
  let world: SimulationWorld | undefined;
  let simulation: Simulation | undefined;
  let fatal: Error | undefined;

  beforeAll(async () => {
    const started = Date.now();
    // First thing, so the seed is on record even if the run is killed from outside.
    process.stderr.write(`[simulation] seed ${seed}, ${config.withdrawals} withdrawals; rerun: ${rerun}\n`);
    try {
      const random = new SeededRandom(seed);
      world = await SimulationWorld.start({ seed, log });
      simulation = new Simulation(world, config, planSimulation(config, random), random, log, verbose);
      await simulation.run();
      const checking = Date.now();
      await runFinalChecks(simulation);
      simulation.timings.checks = Date.now() - checking;
      simulation.timings.total = Date.now() - started;
      process.stdout.write(`${summary(simulation, world, await counters(world))}\n`);
      if (verbose) {
        for (const metric of await world.registry.getMetricsAsJSON()) {
          if (/duration|reactions_total|status_queries|manual_reviews|conflicts/.test(metric.name)) {
            const values = metric.values.filter((value) => !String((value as { metricName?: string }).metricName ?? '').endsWith('_bucket'));
            process.stderr.write(`${metric.name} ${JSON.stringify(values)}\n`);
          }
        }
      }
    } catch (error) {
      fatal = error as Error;
    }
  }, BUDGET_MS);

  afterAll(async () => {
    await world?.close();
  }, 90_000);

  it.each(Object.keys(CHECKS) as CheckName[])('%s', (check) => {
    if (fatal) throw new Error(`${header}\nThe run did not complete: ${fatal.stack ?? fatal.message}`);
    if (simulation!.findings.count(check) > 0) throw new Error(simulation!.findings.report(`${header}\n${CHECKS[check]}`));
  });
});

/** What the process managers counted, summed over every instance (they share one registry). */
async function counters(world: SimulationWorld): Promise<Record<string, Record<string, number>>> {
  const read = async (name: string, label: string) => {
    const values = (await world.registry.getSingleMetric(name)?.get())?.values ?? [];
    return Object.fromEntries(values.map((value) => [String(value.labels[label]), value.value]));
  };
  return {
    manualReviewsRequested: await read('ledger_manual_reviews_requested_total', 'reason'),
    conflicts: await read('ledger_payout_conflicts_total', 'kind'),
  };
}

function summary(simulation: Simulation, world: SimulationWorld, payoutCounters: Record<string, Record<string, number>>): string {
  const client = simulation.clientWithdrawals;
  const tracks = [...simulation.replay.withdrawals.values()];
  const byStatus = new Map<string, number>();
  for (const track of tracks) byStatus.set(track.state.status, (byStatus.get(track.state.status) ?? 0) + 1);
  const callbacks = world.channels.flatMap((channel) => channel.sandbox.ledger().callbacks);
  const payouts = world.channels.flatMap((channel) => channel.sandbox.ledger().payouts);
  return JSON.stringify({
    simulation: {
      seed,
      withdrawals: {
        sent: client.length,
        accepted: client.filter((item) => item.outcome === 'accepted').length,
        insufficientFunds: client.filter((item) => item.outcome === 'refused').length,
        cancelled: client.filter((item) => item.cancel?.status === 202).length,
        byStatus: Object.fromEntries([...byStatus].sort()),
      },
      reviews: { decided: simulation.reviews, requested: payoutCounters.manualReviewsRequested },
      conflicts: payoutCounters.conflicts,
      providers: {
        payouts: payouts.length,
        resubmitted: payouts.filter((payout) => payout.submissions > 1).length,
        callbacks: callbacks.length,
        duplicates: callbacks.filter((callback) => callback.duplicate).length,
        late: callbacks.filter((callback) => callback.late).length,
        outOfOrder: callbacks.filter((callback) => callback.outOfOrder).length,
        stale: callbacks.filter((callback) => callback.stale).length,
        forged: callbacks.filter((callback) => callback.forged).length,
      },
      forgedBySimulation: simulation.forgeries.length,
      lifecycle: world.lifecycle,
      counters: simulation.counters,
      events: simulation.replay.events,
      timingsMs: simulation.timings,
      findings: simulation.findings.size,
    },
  });
}
