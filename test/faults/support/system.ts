import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApiKeyRecord } from '@ledger/platform';
import { CompiledBuild, ENTRIES } from './build';
import { freePort, ManagedProcess, type ExitHow } from './managed-process';

export type Component = 'postgres' | 'sandbox' | 'command-api' | 'projector' | 'payouts' | 'read-api';

/** A process that died without the suite asking, and was started again as a supervisor would. */
export interface UnplannedExit {
  component: Component;
  at: string;
  how: string;
  stderrTail: string;
  restarted: boolean;
}

/** Timers of the payout process manager and the channel, short enough to drain in seconds. */
export const PAYOUT_TUNING = {
  PAYOUTS_UNKNOWN_FIRST_CHECK_MS: '200',
  PAYOUTS_PENDING_FIRST_CHECK_MS: '500',
  PAYOUTS_CHECK_INTERVAL_MAX_MS: '2000',
  // An outcome unknown for this long goes to manual review (and is still asked about).
  PAYOUTS_UNKNOWN_GIVE_UP_MS: '8000',
  PAYOUTS_SUBMIT_DEADLINE_MARGIN_MS: '500',
} as const;
export const CHANNEL_TIMEOUT_MS = 1_500;
export const CURRENCIES = ['EUR', 'USD', 'JPY'] as const;

/**
 * The whole system as separate processes on one PostgreSQL server of its own:
 *
 * - `postgres`: an embedded PostgreSQL 17 (`postgres-server.ts`), its data folder and port
 *   fixed for the run, so it can be crashed and started again on the same files;
 * - `sandbox`: the sandbox payment provider, channel `sandbox`, calling back the command API;
 * - `command-api`: ledger-api, with the channel's webhook secret for the callbacks;
 * - `projector`: the read-model projections only (PAYOUTS=off);
 * - `payouts`: the projector app running the payout process manager alone (PROJECTIONS=none);
 * - `read-api`: the reporting API.
 *
 * Every app keeps its port across restarts (the provider's callback URL names the command
 * API's). A process that dies on its own is recorded and started again after a pause, as a
 * supervisor (systemd, Kubernetes) would: the report lists those exits.
 */
export class FaultSystem {
  readonly apiKey: string;
  readonly sandboxApiKey = `sandbox-key-${randomBytes(8).toString('hex')}`;
  readonly webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  readonly unplannedExits: UnplannedExit[] = [];
  private readonly processes = new Map<Component, ManagedProcess>();
  private readonly restarting = new Set<Component>();
  private postgresPid: number | undefined;
  private stopping = false;

  private constructor(
    readonly build: CompiledBuild,
    readonly seed: number,
    readonly workDir: string,
    readonly ports: Record<'postgres' | 'sandbox' | 'commandApi' | 'readApi', number>,
    private readonly apiKeyRecord: unknown,
    apiKey: string,
    private readonly log: (message: string) => void,
  ) {
    this.apiKey = apiKey;
  }

  static async create(options: { build: CompiledBuild; seed: number; log: (message: string) => void }): Promise<FaultSystem> {
    const workDir = mkdtempSync(join(tmpdir(), 'ledger-faults-'));
    const ports = { postgres: await freePort(), sandbox: await freePort(), commandApi: await freePort(), readApi: await freePort() };
    const { key, record } = createApiKeyRecord('faults', ['ledger:write', 'ledger:read', 'ops']);
    const system = new FaultSystem(options.build, options.seed, workDir, ports, record, key, options.log);
    system.define();
    return system;
  }

  get databaseUrl(): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.ports.postgres}/postgres`;
  }
  get commandApiUrl(): string {
    return `http://127.0.0.1:${this.ports.commandApi}`;
  }
  get readApiUrl(): string {
    return `http://127.0.0.1:${this.ports.readApi}`;
  }
  get sandboxUrl(): string {
    return `http://127.0.0.1:${this.ports.sandbox}`;
  }

  /** The channel as every app that needs it is configured (docs/payments.md). */
  channels(): string {
    return JSON.stringify([
      {
        name: 'sandbox',
        baseUrl: this.sandboxUrl,
        apiKey: this.sandboxApiKey,
        webhookSecrets: [this.webhookSecret],
        currencies: [...CURRENCIES],
        minAmount: '1',
        maxAmount: '100000000',
        timeoutMs: CHANNEL_TIMEOUT_MS,
        retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 300 },
        breaker: { consecutiveFailures: 5, halfOpenAfterMs: 1_000 },
        callbackUrl: `${this.commandApiUrl}/v1/callbacks/sandbox`,
      },
    ]);
  }

  private define(): void {
    const app = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
      DATABASE_URL: this.databaseUrl,
      // The PostgreSQL event store always: this suite crashes its server.
      EVENTSTORE_URL: '',
      NODE_ENV: 'production',
      API_KEYS: JSON.stringify([this.apiKeyRecord]),
      LEDGER_FAILPOINTS: '',
      LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
      ...extra,
    });
    const listening = (line: Record<string, unknown>) => typeof line.listening === 'number';
    this.add('postgres', {
      file: this.build.file(ENTRIES.postgres),
      args: [join(this.workDir, 'postgres'), String(this.ports.postgres)],
      env: {},
      ready: (line) => line.ready === true,
      readyTimeoutMs: 120_000,
    });
    this.add('sandbox', {
      file: this.build.file(ENTRIES.sandbox),
      env: {
        PORT: String(this.ports.sandbox),
        SANDBOX_SEED: String(this.seed),
        SANDBOX_API_KEY: this.sandboxApiKey,
        SANDBOX_WEBHOOK_SECRETS: this.webhookSecret,
        SANDBOX_CALLBACK_URL: `${this.commandApiUrl}/v1/callbacks/sandbox`,
        SANDBOX_CURRENCIES: CURRENCIES.join(','),
        SANDBOX_BEHAVIOUR: JSON.stringify({ settleDelayMs: 100 }),
        LOG_LEVEL: 'warn',
      },
      ready: listening,
    });
    this.add('command-api', {
      file: this.build.file(ENTRIES.commandApi),
      env: app({
        PORT: String(this.ports.commandApi),
        PAYMENT_CHANNELS: this.channels(),
        // A request in flight when the API died blocks its key for this long; a client's retry then takes it over.
        IDEMPOTENCY_LEASE_MS: '3000',
      }),
      ready: listening,
    });
    this.add('projector', {
      file: this.build.file(ENTRIES.projector),
      env: app({ PAYMENT_CHANNELS: '', PAYOUTS: 'off' }),
      ready: (line) => line.projecting === true,
    });
    this.add('payouts', {
      file: this.build.file(ENTRIES.projector),
      env: app({ PROJECTIONS: 'none', PAYMENT_CHANNELS: this.channels(), PAYOUTS: 'on', ...PAYOUT_TUNING }),
      ready: (line) => line.payouts === true,
    });
    this.add('read-api', {
      file: this.build.file(ENTRIES.readApi),
      env: app({ PORT: String(this.ports.readApi) }),
      ready: listening,
    });
  }

  private add(component: Component, spec: Omit<ConstructorParameters<typeof ManagedProcess>[0], 'name'>): void {
    const managed = new ManagedProcess({ name: component, ...spec });
    managed.logFile = join(this.workDir, `${component}.log`);
    managed.onUnplannedExit = (how, stderrTail) => this.supervise(component, how, stderrTail);
    this.processes.set(component, managed);
  }

  process(component: Component): ManagedProcess {
    return this.processes.get(component)!;
  }

  /** Starts everything, the database first and the provider before the apps that call it. */
  async startAll(): Promise<void> {
    await this.startPostgres();
    await this.start('sandbox');
    await this.start('command-api');
    await Promise.all([this.start('projector'), this.start('payouts'), this.start('read-api')]);
  }

  async start(component: Component): Promise<void> {
    const ready = await this.process(component).start();
    if (component === 'postgres') this.postgresPid = Number(ready.pid);
  }

  /** SIGKILLs one app process (never the database: `crashPostgres`). */
  async kill(component: Exclude<Component, 'postgres'>): Promise<ExitHow> {
    return this.process(component).kill('SIGKILL');
  }

  async startPostgres(): Promise<void> {
    await this.start('postgres');
  }

  /**
   * Crashes PostgreSQL: SIGQUIT to the postmaster is an immediate shutdown, which ends every
   * session at once and skips the shutdown checkpoint, so the next start runs crash recovery
   * from the write-ahead log. The helper process that held it goes too.
   */
  async crashPostgres(): Promise<void> {
    const pid = this.postgresPid;
    if (pid === undefined) throw new Error('PostgreSQL is not running');
    const helper = this.process('postgres');
    helper.expectExit();
    process.kill(pid, 'SIGQUIT');
    for (let waited = 0; processAlive(pid); waited += 50) {
      if (waited > 15_000) process.kill(pid, 'SIGKILL');
      await sleep(50);
    }
    await helper.kill('SIGKILL');
    this.postgresPid = undefined;
  }

  /** Whether the database answers a query now. */
  async postgresAnswers(): Promise<boolean> {
    const client = new Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private supervise(component: Component, how: ExitHow, stderrTail: string): void {
    if (this.stopping) return;
    const exit: UnplannedExit = { component, at: new Date().toISOString(), how: String(how), stderrTail: stderrTail.slice(-3_000), restarted: false };
    this.unplannedExits.push(exit);
    this.log(`${component} exited on its own (${String(how)}); restarting it`);
    if (component === 'postgres' || this.restarting.has(component)) return;
    this.restarting.add(component);
    void (async () => {
      for (let attempt = 1; !this.stopping; attempt += 1) {
        await sleep(Math.min(500 * attempt, 3_000));
        if (this.stopping || this.process(component).running) break;
        try {
          await this.start(component);
          exit.restarted = true;
          break;
        } catch (error) {
          this.log(`${component} restart ${attempt} failed: ${(error as Error).message.slice(0, 300)}`);
        }
      }
      this.restarting.delete(component);
    })();
  }

  /** Stops every process (apps first, then the provider and the database) and removes the data. */
  async stopAll(keepData = false): Promise<void> {
    this.stopping = true;
    await Promise.all((['read-api', 'payouts', 'projector', 'command-api'] as const).map((component) => this.process(component).stop()));
    await this.process('sandbox').stop();
    await this.process('postgres').stop(15_000);
    if (this.postgresPid !== undefined && processAlive(this.postgresPid)) process.kill(this.postgresPid, 'SIGKILL');
    if (!keepData) rmSync(this.workDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}
