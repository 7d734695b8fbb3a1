import { createApiKeyRecord } from '@ledger/platform';
import { createReadModelsDataSource, migrateReadModels } from '@ledger/read-models';
import { startCompiledApp, warmThenMeasure, type AutocannonResult, type RunningApp } from '../lib/http-app';
import type { BenchRecord } from '../lib/report';
import type { Scenario, ScenarioContext } from '../lib/scenario';
import { withClient } from '../lib/server';

const ACCOUNTS = 1_000;
// Little's law: 16 requests in flight at 5,000/s is 3.2 ms each on average, which leaves
// room under the 10 ms p99 on two cores shared by client, API and PostgreSQL.
const CONNECTIONS = 16;
const TARGET = { accounts: ACCOUNTS, connections: CONNECTIONS, min_reads_per_second: 5_000, max_latency_ms_p99: 10 };
const { key, record } = createApiKeyRecord('bench', ['ledger:read']);

/**
 * Balance reads over real HTTP from the compiled read API, run as its own process (as in
 * production) on the scenario's database: auth, rate limiting, query validation, the
 * request-duration histogram and one indexed lookup per read, on 1,000 seeded balances.
 * Rows are seeded with SQL, as the balances projection would have written them, so the
 * figure measures the read path alone. Request logs are at `warn`.
 */
export const httpBalanceReads: Scenario = {
  name: 'http-balance-reads',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const accounts = await seedBalances(context, ACCOUNTS);
    const pick = () => accounts[Math.floor(Math.random() * accounts.length)]!;
    // The roofline first: a bare node:http server doing the same lookup, same connections.
    const bare = await startCompiledApp('balance-roofline', context, { POOL_SIZE: String(CONNECTIONS) });
    let roofline: AutocannonResult & { appCpuMsPerRequest: number };
    try {
      roofline = await load(context, bare, pick);
    } finally {
      await bare.stop();
    }
    const rooflinePerSecond = Math.round(roofline['2xx'] / (roofline.duration || context.timing.measureMs / 1_000));
    context.log(`http-balance-reads: roofline (bare node:http + pg) ${rooflinePerSecond}/s, p99 ${roofline.latency.p99} ms, ${roofline.appCpuMsPerRequest} ms CPU per read`);
    // The framework floor: bare NestJS on Express doing the same lookup.
    const nest = await startCompiledApp('nest-balance-floor', context, { POOL_SIZE: String(CONNECTIONS) });
    let floor: AutocannonResult & { appCpuMsPerRequest: number };
    try {
      floor = await load(context, nest, pick);
    } finally {
      await nest.stop();
    }
    const floorPerSecond = Math.round(floor['2xx'] / (floor.duration || context.timing.measureMs / 1_000));
    context.log(`http-balance-reads: framework floor (bare NestJS + Express + pg) ${floorPerSecond}/s, p99 ${floor.latency.p99} ms, ${floor.appCpuMsPerRequest} ms CPU per read`);
    const api = await startReadApi(context);
    try {
      const result = await load(context, api, pick);
      const perSecond = Math.round(result['2xx'] / (result.duration || context.timing.measureMs / 1_000));
      context.log(`http-balance-reads: ${perSecond}/s, p99 ${result.latency.p99} ms (${(perSecond / rooflinePerSecond).toFixed(2)} x roofline), ${result.appCpuMsPerRequest} ms CPU per read vs ${roofline.appCpuMsPerRequest}`);
      return [
        {
          scenario: 'http-balance-reads',
          parameters: { accounts: ACCOUNTS, connections: CONNECTIONS, duration_s: context.timing.measureMs / 1_000, log_level: 'warn' },
          reads_per_second: perSecond,
          latency_ms_p50: result.latency.p50,
          latency_ms_p99: result.latency.p99,
          latency_ms_max: result.latency.max,
          answered: result['2xx'],
          non_2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          app_cpu_ms_per_request: result.appCpuMsPerRequest,
          framework_floor_reads_per_second: floorPerSecond,
          framework_floor_cpu_ms_per_request: floor.appCpuMsPerRequest,
          roofline_reads_per_second: rooflinePerSecond,
          roofline_cpu_ms_per_request: roofline.appCpuMsPerRequest,
          roofline_latency_ms_p99: roofline.latency.p99,
          ratio_to_roofline: Number((perSecond / rooflinePerSecond).toFixed(3)),
          target: TARGET,
          pass:
            result.non2xx === 0 &&
            result.errors === 0 &&
            result.timeouts === 0 &&
            perSecond >= TARGET.min_reads_per_second &&
            result.latency.p99 <= TARGET.max_latency_ms_p99,
        } satisfies BenchRecord,
      ];
    } finally {
      await api.stop();
    }
  },
};

/** Migrates the read models and writes `count` balances and the checkpoints in one statement each. */
async function seedBalances(context: ScenarioContext, count: number): Promise<string[]> {
  const dataSource = createReadModelsDataSource(context.database.url, { poolSize: 1, applicationName: 'ledger-bench' });
  try {
    await migrateReadModels(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
  const ids = Array.from({ length: count }, (_unused, i) => `bench-${String(i).padStart(5, '0')}`);
  await withClient(context.database.url, async (client) => {
    await client.query(
      `insert into read_models.account_balances (account_id, owner_id, currency, available, pending, frozen, opened_at, position, updated_at)
       select id, 'bench', 'EUR', 100000000000, 0, false, now(), ordinality, now()
         from unnest($1::text[]) with ordinality as seeded(id, ordinality)`,
      [ids],
    );
    await client.query(
      `insert into read_models.projection_checkpoints (projection, position, updated_at)
       select projection, $1, now() from unnest(array['balances', 'journal', 'withdrawals', 'review_queue']) as projection`,
      [count],
    );
    await client.query('analyze read_models.account_balances');
  });
  return ids;
}

function startReadApi(context: ScenarioContext): Promise<RunningApp> {
  return startCompiledApp('read-api', context, { API_KEYS: JSON.stringify([record]), READ_API_POOL_SIZE: String(CONNECTIONS) });
}

function load(context: ScenarioContext, app: RunningApp, pickAccount: () => string): Promise<AutocannonResult & { appCpuMsPerRequest: number }> {
  const headers = { authorization: `Bearer ${key}` };
  return warmThenMeasure(context, app, CONNECTIONS, () => ({ method: 'GET', headers, path: `/v1/accounts/${pickAccount()}/balance` }));
}
