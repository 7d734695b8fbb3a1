import { createHash } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { CurrencyCode } from '@ledger/domain';
import { PostgresEventStore } from '@ledger/event-store';
import { createPaymentChannels, paymentMetrics, sandboxChannelConfig, WEBHOOK_SECRET_PREFIX, type PaymentChannelConfig } from '@ledger/payments';
import { createApiKeyRecord } from '@ledger/platform';
import { createReadModelsDataSource, migrateReadModels, PROJECTION_NAMES, qualified, type ProjectorLog } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { createLedgerApiApp } from '../../apps/ledger-api/src';
import {
  createPayoutProcessManager,
  createProjector,
  PAYOUT_PROCESS_MANAGER_NAME,
  type PayoutProcessManager,
  type PayoutTimerSettings,
  type ProjectorApp,
} from '../../apps/projector/src';
import { startSandboxProvider, type RunningSandboxProvider, type SandboxBehaviour } from '../../apps/sandbox-provider/src';

/** A payment channel of the simulation: one in-process sandbox provider behind it. */
export interface SimulationChannel {
  readonly name: string;
  readonly currencies: readonly CurrencyCode[];
  readonly sandbox: RunningSandboxProvider;
  /** The secret the provider signs callbacks with and the ledger verifies them with. */
  readonly secret: string;
  readonly config: PaymentChannelConfig;
}

/** The timings of one simulation: short, so thousands of payouts fit in CI's budget. */
export interface SimulationTimings {
  /** The channels' deadline for one submit or status call, retries included. */
  channelTimeoutMs: number;
  /** How long the sandbox holds an answer under the `timeoutRate` knob (beyond the deadline). */
  hangMs: number;
  settleDelayMs: number;
  returnDelayMs: number;
  lateDeliveryMs: number;
  payoutTimers: PayoutTimerSettings;
}

export const DEFAULT_TIMINGS: SimulationTimings = {
  channelTimeoutMs: 300,
  hangMs: 1_000,
  settleDelayMs: 5,
  returnDelayMs: 20,
  lateDeliveryMs: 150,
  payoutTimers: {
    unknownFirstCheckMs: 100,
    // Callbacks normally come within milliseconds; the timer is for the ones that never do.
    pendingFirstCheckMs: 1_500,
    checkIntervalMaxMs: 800,
    // Long enough that a provider outage of a few hundred milliseconds resolves by itself,
    // short enough that a long one asks a person within the run.
    unknownGiveUpMs: 1_500,
    submitDeadlineMarginMs: 50,
  },
};

export type ComponentKind = 'payouts' | 'projector';

/**
 * One instance of a restartable component, with the connections it owns, as a separate
 * process would have them: its own event-store pool and LISTEN connection and its own
 * read-model DataSource, every connection tagged with `application_name = <id>` so a crash
 * can cut exactly this instance's sessions.
 */
export interface ComponentInstance<App> {
  readonly id: string;
  readonly kind: ComponentKind;
  readonly app: App;
  readonly store: PostgresEventStore;
  readonly dataSource: DataSource;
  ended: boolean;
}

type AppOf<Kind extends ComponentKind> = Kind extends 'payouts' ? PayoutProcessManager : ProjectorApp;

export interface WorldLog {
  (message: string): void;
}

/**
 * The whole system in one process: real PostgreSQL (a database of its own), the command API
 * over real HTTP, two sandbox providers behind two channels (`sandbox`, `backup`), and the
 * projector and payout process manager as restartable instances. Nothing is mocked: every
 * payout goes over HTTP to a provider, every callback over HTTP to the callback endpoint.
 */
export class SimulationWorld {
  readonly registry = new Registry();
  readonly instances: { payouts: Array<ComponentInstance<PayoutProcessManager>>; projector: Array<ComponentInstance<ProjectorApp>> } = {
    payouts: [],
    projector: [],
  };
  readonly lifecycle = { started: { payouts: 0, projector: 0 }, crashed: { payouts: 0, projector: 0 }, stopped: { payouts: 0, projector: 0 } };
  private sequence = 0;
  private readonly background = new Set<Promise<unknown>>();
  /** Crashed instances whose `stop()` has not returned yet, with their status. */
  private readonly stopping = new Map<string, () => unknown>();

  private constructor(
    readonly seed: number,
    readonly timings: SimulationTimings,
    readonly database: TestDatabase,
    /** The command API's store; the checks read the log through it too. */
    readonly store: PostgresEventStore,
    /** The command API's pool (idempotency keys, withdrawal index); the checks query through it too. */
    readonly pool: Pool,
    readonly api: INestApplication,
    readonly apiUrl: string,
    readonly keys: { writer: string; ops: string },
    readonly channels: readonly SimulationChannel[],
    private readonly log: WorldLog,
  ) {}

  static async start(options: { seed: number; timings?: SimulationTimings; log?: WorldLog }): Promise<SimulationWorld> {
    const timings = options.timings ?? DEFAULT_TIMINGS;
    const log = options.log ?? (() => undefined);
    const database = await createTestDatabase('simulation');
    const store = await PostgresEventStore.create({ connectionString: tagged(database.url, 'sim-api'), poolSize: 12 });
    const pool = new Pool({ connectionString: tagged(database.url, 'sim-api'), max: 12 });
    // An idle client cut by the server must not crash the run; the next query reconnects.
    pool.on('error', () => undefined);

    // Secrets derived from the seed, so a rerun signs exactly the same bytes.
    const secretOf = (name: string) => WEBHOOK_SECRET_PREFIX + createHash('sha256').update(`${options.seed}|secret|${name}`).digest('base64');
    // `backup` claims GBP in its configuration but its provider refuses it (422
    // unsupported_currency): a GBP payout routed there is refused outright and fails over, and
    // while `sandbox` is down GBP payouts exhaust their attempts and go to manual review.
    const channelSpecs: Array<{ name: string; currencies: CurrencyCode[]; claims: CurrencyCode[]; priority: number }> = [
      { name: 'sandbox', currencies: ['EUR', 'USD', 'GBP'], claims: ['EUR', 'USD', 'GBP'], priority: 1 },
      { name: 'backup', currencies: ['EUR', 'USD'], claims: ['EUR', 'USD', 'GBP'], priority: 2 },
    ];
    const writer = createApiKeyRecord('sim-writer', ['ledger:write', 'ledger:read']);
    const ops = createApiKeyRecord('sim-ops', ['ops']);
    const api = await createLedgerApiApp({
      store,
      pool,
      apiKeys: [writer.record, ops.record],
      rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
      // The simulation is not about rate limits: a 429 would only slow the providers' retries.
      callbackRateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
      logLevel: 'silent',
      // Only verifyCallback of these is used; the command API never calls a provider.
      paymentChannels: createPaymentChannels(
        channelSpecs.map((spec) =>
          sandboxChannelConfig({ name: spec.name, baseUrl: 'http://127.0.0.1:9', apiKey: 'unused-by-the-command-api', webhookSecrets: secretOf(spec.name) }),
        ),
      ).channels,
    });
    await api.listen(0, '127.0.0.1');
    const { port } = api.getHttpServer().address() as { port: number };
    const apiUrl = `http://127.0.0.1:${port}`;

    const channels: SimulationChannel[] = [];
    for (const [index, spec] of channelSpecs.entries()) {
      const apiKey = `sk_sim_${spec.name}_${options.seed}`;
      const secret = secretOf(spec.name);
      const sandbox = await startSandboxProvider({
        apiKey,
        webhookSecrets: [secret],
        callbackUrl: `${apiUrl}/v1/callbacks/${spec.name}`,
        seed: (options.seed + index * 7_919) >>> 0,
        currencies: spec.currencies,
        behaviour: {
          settleDelayMs: timings.settleDelayMs,
          returnDelayMs: timings.returnDelayMs,
          lateDeliveryMs: timings.lateDeliveryMs,
          hangMs: timings.hangMs,
        },
        callbackInitialBackoffMs: 50,
        callbackMaxBackoffMs: 400,
        callbackMaxAttempts: 8,
        logLevel: 'silent',
      });
      channels.push({
        name: spec.name,
        currencies: spec.currencies,
        sandbox,
        secret,
        config: sandboxChannelConfig({
          name: spec.name,
          baseUrl: sandbox.url,
          apiKey,
          webhookSecrets: secret,
          currencies: spec.claims,
          priority: spec.priority,
          timeoutMs: timings.channelTimeoutMs,
          retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 40 },
          // Opens within an outage, so payouts also meet `circuit_open` refusals and fail over.
          breaker: { consecutiveFailures: 3, halfOpenAfterMs: 200 },
        }),
      });
    }
    const world = new SimulationWorld(
      options.seed,
      timings,
      database,
      store,
      pool,
      api,
      apiUrl,
      { writer: writer.key, ops: ops.key },
      channels,
      log,
    );
    // The read models and the payouts tables exist before anything runs, so the checks can
    // read the checkpoints from the first moment.
    const migrator = createReadModelsDataSource(database.url, { poolSize: 1, applicationName: 'sim-migrate' });
    await migrateReadModels(migrator);
    await migrator.destroy();
    return world;
  }

  channel(name: string): SimulationChannel {
    const found = this.channels.find((channel) => channel.name === name);
    if (!found) throw new Error(`no channel ${name}`);
    return found;
  }

  setBehaviour(name: string, patch: Partial<SandboxBehaviour>): void {
    this.channel(name).sandbox.setBehaviour(patch);
  }

  /** Starts one more instance of a component; it leads, or stands by when another leads. */
  async startInstance<Kind extends ComponentKind>(kind: Kind): Promise<ComponentInstance<AppOf<Kind>>> {
    this.sequence += 1;
    const id = `sim-${kind}-${this.sequence}`;
    const url = tagged(this.database.url, id);
    const store = await PostgresEventStore.create({ connectionString: url, poolSize: kind === 'payouts' ? 10 : 4, migrate: false });
    const dataSource = createReadModelsDataSource(url, { poolSize: kind === 'payouts' ? 4 : 3, applicationName: id });
    let app: PayoutProcessManager | ProjectorApp;
    if (kind === 'payouts') {
      // Fresh channels per instance: a restarted process starts with closed circuits.
      const { router } = createPaymentChannels(
        this.channels.map((channel) => channel.config),
        { metrics: paymentMetrics(this.registry) },
      );
      app = createPayoutProcessManager({
        store,
        dataSource,
        routing: router,
        registry: this.registry,
        log: this.componentLog(id),
        options: {
          timers: this.timings.payoutTimers,
          timerScanMs: 100,
          standbyRetryMs: 100,
          concurrency: 24,
          lagRefreshMs: 60_000,
        },
      });
    } else {
      app = createProjector({ store, dataSource, batchSize: 500, standbyRetryMs: 100, log: this.componentLog(id) });
    }
    await app.start();
    const instance: ComponentInstance<AppOf<Kind>> = { id, kind, app: app as AppOf<Kind>, store, dataSource, ended: false };
    (this.instances[kind] as Array<ComponentInstance<AppOf<Kind>>>).push(instance);
    this.lifecycle.started[kind] += 1;
    this.log(`${id} started (${this.describeInstances(kind)})`);
    return instance;
  }

  /** Warnings and errors of an instance, into the simulation's log (SIMULATION_VERBOSE=1). */
  private componentLog(id: string): ProjectorLog {
    return (level, message, fields) => {
      if (level === 'warn' || level === 'error') this.log(`${id} ${level}: ${message} ${JSON.stringify(fields ?? {})}`);
    };
  }

  /** The instance that holds the lead now, if any. */
  leader<Kind extends ComponentKind>(kind: Kind): ComponentInstance<AppOf<Kind>> | undefined {
    const live = this.instances[kind] as Array<ComponentInstance<AppOf<Kind>>>;
    return live.find((instance) => !instance.ended && instance.app.status().state === 'leading');
  }

  live(kind: ComponentKind): number {
    return this.instances[kind].filter((instance) => !instance.ended).length;
  }

  /**
   * Kills an instance as the operating system would kill its process, as far as one
   * process can: its pools stop handing out connections, every PostgreSQL session it has
   * is terminated by the server (an open transaction rolls back, its advisory lock goes),
   * and only then is it told to stop, so nothing it still does can reach the database: a
   * reaction that got a provider's answer cannot record it, a batch in flight is lost, the
   * checkpoint stays where it was. HTTP calls already on the wire complete, as they would
   * after a real SIGKILL. The real SIGKILL tests are `apps/projector/src/projector-crash.e2e.spec.ts`
   * and `apps/projector/src/payouts/payout-crash.e2e.spec.ts`.
   */
  async crash(instance: ComponentInstance<PayoutProcessManager | ProjectorApp>): Promise<void> {
    if (instance.ended) return;
    instance.ended = true;
    this.lifecycle.crashed[instance.kind] += 1;
    const pools = Promise.allSettled([instance.store.close(), instance.dataSource.destroy()]);
    // Cut the sessions until the pools have ended: a pool may still hand a query a fresh
    // connection between the first cut and its `end`.
    const deadline = Date.now() + 10_000;
    let ended = false;
    void pools.then(() => (ended = true));
    do {
      await this.pool.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [instance.id]).catch(() => undefined);
      await sleep(5);
    } while (!ended && Date.now() < deadline);
    const started = Date.now();
    let done = false;
    this.stopping.set(instance.id, () => instance.app.status());
    const stopped = instance.app
      .stop()
      .catch(() => undefined)
      .finally(() => {
        done = true;
        this.stopping.delete(instance.id);
        if (Date.now() - started > 1_000) this.log(`${instance.id} finished stopping after ${Date.now() - started} ms`);
      });
    this.track(stopped);
    await within(stopped, 5_000);
    this.log(`${instance.id} crashed (${this.describeInstances(instance.kind)})${done ? '' : `; still stopping: ${JSON.stringify(instance.app.status())}`}`);
  }

  /** A clean shutdown: the work in flight finishes and the checkpoint is committed. */
  async stopGracefully(instance: ComponentInstance<PayoutProcessManager | ProjectorApp>): Promise<void> {
    if (instance.ended) return;
    instance.ended = true;
    this.lifecycle.stopped[instance.kind] += 1;
    await instance.app.stop();
    await instance.store.close();
    if (instance.dataSource.isInitialized) await instance.dataSource.destroy();
    this.log(`${instance.id} stopped (${this.describeInstances(instance.kind)})`);
  }

  /** Starts an instance when none is running, and waits until one leads. */
  async ensureLeader<Kind extends ComponentKind>(kind: Kind, timeoutMs = 20_000): Promise<ComponentInstance<AppOf<Kind>>> {
    if (this.live(kind) === 0) await this.startInstance(kind);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = this.leader(kind);
      if (leader) return leader;
      if (Date.now() > deadline) throw new Error(`no ${kind} instance took the lead within ${timeoutMs} ms (${this.describeInstances(kind)})`);
      await sleep(20);
    }
  }

  /** The committed checkpoints of the read-model projections and the process manager. */
  async checkpoints(): Promise<Map<string, bigint>> {
    const { rows } = await this.pool.query<{ projection: string; position: string }>(
      `select projection, position::text from ${qualified('projection_checkpoints')}`,
    );
    return new Map(rows.map((row) => [row.projection, BigInt(row.position)]));
  }

  /** Waits until every read-model projection has committed `position` (default: the head now). */
  async projectionsReach(position?: bigint, timeoutMs = 60_000): Promise<void> {
    const target = position ?? (await this.store.headPosition());
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const checkpoints = await this.checkpoints();
      if (PROJECTION_NAMES.every((name) => (checkpoints.get(name) ?? 0n) >= target)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `the projections did not reach ${target.toString()} within ${timeoutMs} ms: ${JSON.stringify(Object.fromEntries([...checkpoints].map(([name, at]) => [name, at.toString()])))} (${this.describeInstances('projector')})`,
        );
      }
      await this.ensureLeader('projector');
      await sleep(25);
    }
  }

  /** Waits until the leading process manager is idle (`waitForIdle`), whoever leads by then. */
  async payoutsIdle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await this.ensureLeader('payouts', Math.max(1, deadline - Date.now()));
      try {
        await leader.app.waitForIdle(Math.max(1, Math.min(10_000, deadline - Date.now())));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`${(error as Error).message}; checkpoint ${String((await this.checkpoints()).get(PAYOUT_PROCESS_MANAGER_NAME))}`);
        }
      }
    }
  }

  describeInstances(kind: ComponentKind): string {
    return this.instances[kind]
      .filter((instance) => !instance.ended)
      .map((instance) => `${instance.id}: ${instance.app.status().state}`)
      .join(', ') || `no ${kind} instance`;
  }

  /** Work started in the background (a crashed instance winding down); `close` waits for it. */
  track(work: Promise<unknown>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /**
   * Waits, bounded, for every crashed instance to finish stopping, and names the ones that
   * did not: a `stop()` that never returns after its connections died would hang a real
   * process's shutdown.
   */
  async windDown(timeoutMs: number): Promise<string[]> {
    await within(Promise.allSettled([...this.background]), timeoutMs);
    return [...this.stopping].map(([id, status]) => `${id}: ${JSON.stringify(status())}`);
  }

  /**
   * Stops every instance still running, waits (bounded) for the crashed ones to finish
   * stopping, and returns what is wrong: a crashed instance whose `stop()` never returned, or
   * an instance still connected to the database after all of them stopped.
   */
  async stopComponents(): Promise<string[]> {
    const problems: string[] = [];
    for (const kind of ['payouts', 'projector'] as const) {
      for (const instance of this.instances[kind]) {
        if (instance.ended) continue;
        const stopping = this.stopGracefully(instance).catch((error: unknown) => {
          problems.push(`${instance.id}: stop() failed: ${String(error)}`);
        });
        this.track(stopping);
        const status = instance.app.status();
        if (!(await within(stopping, 20_000))) problems.push(`${instance.id}: stop() has not returned after 20 s: ${JSON.stringify(status)}`);
      }
    }
    for (const hung of await this.windDown(15_000)) problems.push(`stop() has not returned 15 s after the crash: ${hung}`);
    // A closed connection's backend leaves pg_stat_activity a moment later: ask for a while.
    let rows: Array<{ name: string; sessions: string }> = [];
    for (let attempt = 0; attempt < 40; attempt += 1) {
      ({ rows } = await this.pool.query<{ name: string; sessions: string }>(
        `select application_name as name, count(*)::text as sessions from pg_stat_activity
          where datname = current_database() and application_name like 'sim-%' and application_name <> 'sim-api'
          group by application_name order by 1`,
      ));
      if (rows.length === 0) break;
      await sleep(50);
    }
    for (const row of rows) problems.push(`${row.name} still holds ${row.sessions} session(s) after every instance stopped`);
    return problems;
  }

  async close(): Promise<void> {
    const step = async (what: string, work: () => Promise<unknown>) => {
      const started = Date.now();
      await work().catch(() => undefined);
      if (Date.now() - started > 1_000) this.log(`closing: ${what} took ${Date.now() - started} ms`);
    };
    await step('stopping the components', () => this.stopComponents());
    for (const channel of this.channels) await step(`closing ${channel.name}`, () => channel.sandbox.close());
    await step('closing the command API', () => this.api.close());
    await step('closing the store', () => this.store.close());
    await step('closing the pool', () => this.pool.end());
    if (process.env.SIMULATION_KEEP_DATABASE === '1') {
      process.stderr.write(`[simulation ${this.seed}] kept the database for inspection: ${this.database.url}\n`);
    } else {
      await step('dropping the database', () => this.database.drop());
    }
  }

}

/**
 * The URL with `application_name` set, which every pool and LISTEN connection made from it
 * carries, and `synchronous_commit = off` for its sessions: the simulation kills processes,
 * never the server, and a commit that waits for its WAL flush (milliseconds each on a
 * server with fsync on) only slows the run, as the embedded test server's `fsync=off` does
 * (test/setup/global-setup.ts). What a client sees committed stays committed while the server lives.
 */
function tagged(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  parsed.searchParams.set('options', '-c synchronous_commit=off');
  return parsed.toString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * Waits for `work`, or `ms` at most, and says whether it settled; the timer does not outlive
 * the wait (it would keep Jest from exiting).
 */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((done) => (timer = setTimeout(() => done(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}
