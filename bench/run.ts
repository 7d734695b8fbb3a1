import { CpuMeter } from './lib/cpu';
import type { Timing } from './lib/measure';
import { printEnvironment, printJson, printTable } from './lib/report';
import type { Scenario, StoreTuning } from './lib/scenario';
import { acquireServer, type BenchServer } from './lib/server';
import { appendHotStream } from './scenarios/append-hot-stream';
import { appendManyStreams } from './scenarios/append-many-streams';
import { appendTuning } from './scenarios/append-tuning';
import { rooflineInsert } from './scenarios/roofline-insert';
import { subscribeCatchUp, subscribeUnderWriters } from './scenarios/subscribe';
import { httpHotAccount, httpWithdrawals } from './scenarios/http-commands';
import { httpBalanceReads } from './scenarios/http-balance-reads';
import { projectionRebuild } from './scenarios/projection-rebuild';

/** In run order: the roofline comes right before the scenarios compared with it. */
const SCENARIOS: readonly Scenario[] = [
  rooflineInsert,
  appendManyStreams,
  appendTuning,
  appendHotStream,
  subscribeCatchUp,
  subscribeUnderWriters,
  httpWithdrawals,
  httpHotAccount,
  projectionRebuild,
  httpBalanceReads,
];

const FULL: Timing = { warmupMs: 2_000, measureMs: 8_000 };
const QUICK: Timing = { warmupMs: 300, measureMs: 1_000 };

const USAGE = `usage: node dist/bench/run.js [--json] [--scenario name[,name]] [--quick] [--no-analyze]
                                [--store-options key=value[,key=value]]
  --json           one JSON object per line per result on stdout, logs on stderr
  --scenario       run only these (${SCENARIOS.map((s) => s.name).join(', ')});
                   the roofline is measured first whenever a chosen scenario compares with it
  --quick          about one second per data point: a smoke run, not a measurement
  --no-analyze     do not ANALYZE the event store's tables after each warm-up: measures
                   a fresh database's first minute instead of the steady state
  --store-options  PostgresEventStore settings for every store the run opens:
                   poolSize, maxAppendsPerBatch, maxBatchesInFlight
database: BENCH_DATABASE_URL, else DATABASE_URL, else an embedded PostgreSQL (fsync on)`;

interface Options {
  json: boolean;
  quick: boolean;
  scenarios: Scenario[];
  storeTuning: StoreTuning;
  analyze: boolean;
}

class UsageError extends Error {}

function parseArgs(args: readonly string[]): Options {
  let json = false;
  let quick = false;
  let analyze = true;
  let names: string[] | undefined;
  const storeTuning: StoreTuning = {};
  for (let i = 0; i < args.length; i += 1) {
    const [flag, inlineValue] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const given = inlineValue ?? args[++i];
      if (given === undefined) throw new UsageError(`${flag} needs a value`);
      return given;
    };
    switch (flag) {
      case '--json':
        json = true;
        break;
      case '--quick':
        quick = true;
        break;
      case '--no-analyze':
        analyze = false;
        break;
      case '--scenario':
        names = [...(names ?? []), ...value().split(',').filter(Boolean)];
        break;
      case '--store-options':
        Object.assign(storeTuning, parseTuning(value()));
        break;
      case '--help':
      case '-h':
        process.stderr.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument ${args[i]}`);
    }
  }
  return { json, quick, analyze, scenarios: selectScenarios(names), storeTuning };
}

function parseTuning(text: string): StoreTuning {
  const tuning: StoreTuning = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [key, raw] = pair.split('=');
    const number = Number(raw);
    if (!Number.isInteger(number) || number < 1) throw new UsageError(`--store-options: ${pair} is not a positive integer`);
    if (key !== 'poolSize' && key !== 'maxAppendsPerBatch' && key !== 'maxBatchesInFlight') {
      throw new UsageError(`--store-options: unknown setting ${key}`);
    }
    tuning[key] = number;
  }
  return tuning;
}

function selectScenarios(names: string[] | undefined): Scenario[] {
  if (!names) return SCENARIOS.filter((scenario) => scenario.inDefaultSuite);
  for (const name of names) {
    if (!SCENARIOS.some((scenario) => scenario.name === name)) throw new UsageError(`unknown scenario ${name}`);
  }
  const chosen = SCENARIOS.filter((scenario) => names.includes(scenario.name));
  // A ratio to a roofline from another run (or another machine state) would mean nothing.
  if (chosen.some((scenario) => scenario.needsRoofline) && !chosen.includes(rooflineInsert)) {
    chosen.unshift(rooflineInsert);
  }
  return chosen;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }

  const server: BenchServer = await acquireServer(log);
  const stopOnSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    void server.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  let failures = 0;
  try {
    if (!options.json) printEnvironment(server.environment, ['node dist/bench/run.js', ...process.argv.slice(2)].join(' '));
    const roofline = new Map<number, number>();
    const cpu = new CpuMeter(server.serverPid);
    if (server.serverPid === undefined) log('cpu: the server is not on this machine; its CPU share is not measured');
    for (const scenario of options.scenarios) {
      log(`${scenario.name}: starting`);
      const database = await server.createDatabase(scenario.name);
      try {
        const records = await scenario.run({
          server,
          database,
          timing: options.quick ? QUICK : FULL,
          quick: options.quick,
          roofline,
          storeTuning: options.storeTuning,
          analyzeAfterWarmup: options.analyze,
          cpu,
          log,
        });
        for (const record of records) {
          const withEnvironment = { ...record, quick: options.quick, environment: server.environment };
          if (options.json) printJson(withEnvironment);
          else printTable(record);
          if (!record.pass) log(`${record.scenario}${record.variant ? ` (${record.variant})` : ''}: target missed`);
        }
      } catch (error) {
        failures += 1;
        log(`${scenario.name}: error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      } finally {
        await database.drop().catch((error: unknown) => log(`${database.name}: drop failed: ${String(error)}`));
      }
    }
  } finally {
    await server.stop();
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
