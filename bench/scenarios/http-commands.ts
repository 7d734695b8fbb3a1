import { randomUUID } from 'node:crypto';
import { createApiKeyRecord } from '@ledger/platform';
import type { BenchRecord } from '../lib/report';
import { startCompiledApp, warmThenMeasure, type AutocannonRequest, type RunningApp } from '../lib/http-app';
import type { Scenario, ScenarioContext } from '../lib/scenario';

const ACCOUNTS = 1_000;
const CONNECTIONS = 32;
const HOT_CONNECTIONS = 8;
const WITHDRAWALS_TARGET = { accounts: ACCOUNTS, connections: CONNECTIONS, min_withdrawals_per_second: 1_500, max_latency_ms_p99: 50 };
const destination = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Bench Holder' };
const { key, record } = createApiKeyRecord('bench', ['ledger:write', 'ledger:read', 'ops']);

/**
 * Withdrawals over real HTTP into the compiled command API, run as its own process (as in
 * production) on the scenario's database: auth, validation, the idempotency-key store,
 * the withdrawal index, the per-stream queue and the event store all on the path.
 * autocannon keeps a fixed number of connections busy; every request carries a fresh
 * Idempotency-Key. Request logs are at `warn` so the figures measure the ledger, not
 * the terminal.
 */
export const httpWithdrawals: Scenario = {
  name: 'http-withdrawals',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const api = await startApi(context);
    try {
      const accounts = await openAccounts(api.baseUrl, ACCOUNTS);
      const result = await warmThenMeasure(context, api, CONNECTIONS, withdrawals(() => accounts[Math.floor(Math.random() * accounts.length)]!));
      const perSecond = Math.round(result['2xx'] / (result.duration || context.timing.measureMs / 1_000));
      context.log(`http-withdrawals: ${perSecond}/s, p99 ${result.latency.p99} ms, ${result.appCpuMsPerRequest} ms API CPU per withdrawal`);
      return [
        {
          scenario: 'http-withdrawals',
          parameters: { accounts: ACCOUNTS, connections: CONNECTIONS, duration_s: context.timing.measureMs / 1_000, log_level: 'warn' },
          withdrawals_per_second: perSecond,
          latency_ms_p50: result.latency.p50,
          latency_ms_p99: result.latency.p99,
          latency_ms_max: result.latency.max,
          accepted: result['2xx'],
          non_2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          app_cpu_ms_per_request: result.appCpuMsPerRequest,
          target: WITHDRAWALS_TARGET,
          pass:
            result.non2xx === 0 &&
            result.errors === 0 &&
            perSecond >= WITHDRAWALS_TARGET.min_withdrawals_per_second &&
            result.latency.p99 <= WITHDRAWALS_TARGET.max_latency_ms_p99,
        } satisfies BenchRecord,
      ];
    } finally {
      await api.stop();
    }
  },
};

/**
 * One account, eight clients: the HTTP face of append-hot-stream. The per-stream queue
 * decides the queued withdrawals against one state and writes them in one append.
 */
export const httpHotAccount: Scenario = {
  name: 'http-hot-account',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const api = await startApi(context);
    try {
      const [account] = await openAccounts(api.baseUrl, 1);
      const result = await warmThenMeasure(context, api, HOT_CONNECTIONS, withdrawals(() => account!));
      const perSecond = Math.round(result['2xx'] / (result.duration || context.timing.measureMs / 1_000));
      context.log(`http-hot-account: ${perSecond}/s, p99 ${result.latency.p99} ms`);
      return [
        {
          scenario: 'http-hot-account',
          parameters: { accounts: 1, connections: HOT_CONNECTIONS, duration_s: context.timing.measureMs / 1_000, log_level: 'warn' },
          withdrawals_per_second: perSecond,
          latency_ms_p50: result.latency.p50,
          latency_ms_p99: result.latency.p99,
          latency_ms_max: result.latency.max,
          accepted: result['2xx'],
          non_2xx: result.non2xx,
          errors: result.errors + result.timeouts,
          // Compared in docs/benchmarks.md with append-hot-stream (stream-queue) of the same run.
          target: null,
          pass: result.non2xx === 0 && result.errors === 0,
        } satisfies BenchRecord,
      ];
    } finally {
      await api.stop();
    }
  },
};

/** Opens and funds accounts through the API, 32 at a time. */
async function openAccounts(baseUrl: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => `bench-${randomUUID()}`);
  for (let start = 0; start < ids.length; start += 32) {
    await Promise.all(
      ids.slice(start, start + 32).map(async (accountId) => {
        await call(baseUrl, '/v1/accounts', { accountId, ownerId: 'bench', currency: 'EUR' }, 201);
        await call(baseUrl, `/v1/accounts/${accountId}/deposits`, { amount: '100000000000', currency: 'EUR', reference: 'bench funding' }, 201);
      }),
    );
  }
  return ids;
}

async function call(baseUrl: string, path: string, body: unknown, expected: number): Promise<void> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== expected) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

function withdrawals(pickAccount: () => string): () => AutocannonRequest {
  return () => ({
    method: 'POST',
    path: '/v1/withdrawals',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: JSON.stringify({ accountId: pickAccount(), amount: '100', currency: 'EUR', destination }),
  });
}

function startApi(context: ScenarioContext): Promise<RunningApp> {
  return startCompiledApp('ledger-api', context, { API_KEYS: JSON.stringify([record]) });
}
