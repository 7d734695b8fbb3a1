import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScenarioContext } from './scenario';

// autocannon ships no types; this is the part of its API the HTTP scenarios use.
export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
export interface AutocannonRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

export interface RunningApp {
  baseUrl: string;
  /** CPU seconds (user + system) the app's process has used so far, from /proc. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100;

function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 after the name.
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/**
 * Runs one of our compiled apps (`dist/apps/<app>/src/main.js`) as its own process, as
 * production does, and waits for the `{"listening":port}` line its main prints. Request
 * logs stay at `warn` and rate limits out of the way, so the figures measure the ledger.
 */
export async function startCompiledApp(
  app: 'ledger-api' | 'read-api' | 'balance-roofline' | 'nest-balance-floor',
  context: ScenarioContext,
  env: Record<string, string>,
): Promise<RunningApp> {
  const main =
    app === 'balance-roofline' || app === 'nest-balance-floor' ? join(__dirname, '..', 'apps', `${app}.js`) : join(__dirname, '..', '..', 'apps', app, 'src', 'main.js');
  // BENCH_APP_NODE_ARGS passes flags to the app's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, main], {
    env: {
      ...process.env,
      DATABASE_URL: context.database.url,
      PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      NODE_ENV: 'production',
      ...env,
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
    child.once('exit', (code) => reject(new Error(`${app} exited with ${code}: ${stderr}`)));
  });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/**
 * autocannon with a fixed number of connections: a warm-up of the run's warm-up length,
 * then the measured run. `request` builds each request (fresh keys, random accounts).
 */
export async function warmThenMeasure(
  context: ScenarioContext,
  app: RunningApp,
  connections: number,
  request: () => AutocannonRequest,
): Promise<AutocannonResult & { appCpuMsPerRequest: number }> {
  const options = (seconds: number) => ({
    url: app.baseUrl,
    connections,
    duration: seconds,
    requests: [{ setupRequest: (raw: AutocannonRequest) => ({ ...raw, ...request() }) }],
  });
  await autocannon(options(Math.max(1, Math.round(context.timing.warmupMs / 1_000))));
  const cpuBefore = app.cpuSeconds();
  const result = await autocannon(options(Math.max(1, Math.round(context.timing.measureMs / 1_000))));
  const answered = result['2xx'] + result.non2xx;
  // The app's own CPU per answered request: robust to what else the machine is doing, so
  // it shows where time goes when throughput is perturbed.
  const appCpuMsPerRequest = answered > 0 ? Number((((app.cpuSeconds() - cpuBefore) * 1_000) / answered).toFixed(3)) : Number.NaN;
  return { ...result, appCpuMsPerRequest };
}
