import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createApiKeyRecord } from '@ledger/platform';
import type { BenchRecord } from '../lib/report';
import type { Scenario, ScenarioContext } from '../lib/scenario';

// autocannon ships no types; this is the part of its API the scenario uses.
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

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
      const result = await load(context, api.baseUrl, CONNECTIONS, () => accounts[Math.floor(Math.random() * accounts.length)]!);
      const perSecond = Math.round(result['2xx'] / (result.duration || context.timing.measureMs / 1_000));
      context.log(`http-withdrawals: ${perSecond}/s, p99 ${result.latency.p99} ms`);
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
      const result = await load(context, api.baseUrl, HOT_CONNECTIONS, () => account!);
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

interface RunningApi {
  baseUrl: string;
  stop(): Promise<void>;
}

async function startApi(context: ScenarioContext): Promise<RunningApi> {
  const main = join(__dirname, '..', '..', 'apps', 'ledger-api', 'src', 'main.js');
  const child: ChildProcess = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      DATABASE_URL: context.database.url,
      API_KEYS: JSON.stringify([record]),
      PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /\{"listening":(\d+)\}/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`ledger-api exited with ${code}: ${stderr}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

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

async function load(
  context: ScenarioContext,
  baseUrl: string,
  connections: number,
  pickAccount: () => string,
): Promise<AutocannonResult> {
  const request = (): AutocannonRequest => ({
    method: 'POST',
    path: '/v1/withdrawals',
    headers: { authorization: `Bearer ${key}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
    body: JSON.stringify({ accountId: pickAccount(), amount: '100', currency: 'EUR', destination }),
  });
  const options = (seconds: number) => ({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (raw: AutocannonRequest) => ({ ...raw, ...request() }) }],
  });
  await autocannon(options(Math.max(1, Math.round(context.timing.warmupMs / 1_000))));
  return autocannon(options(Math.max(1, Math.round(context.timing.measureMs / 1_000))));
}
