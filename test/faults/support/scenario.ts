import { CHANNEL_TIMEOUT_MS, sleep, type Component, type FaultSystem } from './system';
import { errorCode, readJson, type LedgerClient } from './ledger-client';
import { Database, flushProvider, providerLedger, setProviderBehaviour, type Progress } from './observe';
import type { SeededRandom } from './load-generator';

/** One fault as injected: what, when, and when the system served again. */
export interface FaultRecord {
  name: string;
  target: Component;
  action: string;
  injectedAt: string;
  /** When the fault was lifted: the process or server started again, the provider healed. */
  liftedAt: string;
  /** From injection to lifting. */
  durationMs: number;
  /** Requests the load generator started while the fault was on. */
  requestsDuring: number;
  /** What clients saw: the tries that had to be retried, by reason, from injection to 2 s after lifting. */
  clientsSaw?: Record<string, number>;
  detail?: string;
}

const HEALTHY_PROVIDER = { settleDelayMs: 100, failureRate: 0, timeoutRate: 0, unavailable: false } as const;

/**
 * The faults, one at a time, each under the load that keeps running around them, each
 * followed by a spell of normal load so the system is seen to recover before the next.
 */
export class FaultScript {
  readonly faults: FaultRecord[] = [];

  constructor(
    private readonly system: FaultSystem,
    private readonly client: LedgerClient,
    private readonly random: SeededRandom,
    private readonly log: (message: string) => void,
  ) {}

  async run(): Promise<void> {
    await this.calm(3_000);
    await this.killAndRestart('command-api', 'SIGKILL the command API under load, restart it on the same port');
    await this.calm(3_000);
    await this.killAndRestart('projector', 'SIGKILL the projector (read-model projections) mid-batch, restart it');
    await this.calm(3_000);
    await this.killAndRestart('payouts', 'SIGKILL the payout process manager with payouts in flight, restart it');
    await this.calm(3_000);
    await this.restartPostgres();
    await this.calm(4_000);
    await this.provider(
      'provider slow',
      { settleDelayMs: 1_500, timeoutRate: 0.3, hangMs: CHANNEL_TIMEOUT_MS + 1_000 },
      6_000,
      `settles after 1.5 s; 30% of submits answer only after ${CHANNEL_TIMEOUT_MS + 1_000} ms, past the channel's ${CHANNEL_TIMEOUT_MS} ms timeout (outcome unknown)`,
    );
    await this.calm(3_000);
    await this.provider('provider failing', { failureRate: 0.4 }, 4_000, '40% of accepted payouts fail at the bank (payout.failed)');
    await this.calm(2_000);
    await this.provider('provider unavailable', { unavailable: true }, 4_000, 'every API request answers 503: submits unknown, then the circuit opens');
    await this.calm(3_000);
  }

  private async calm(ms: number): Promise<void> {
    await sleep(ms + this.random.integer(0, 500));
  }

  private async during(run: () => Promise<{ detail?: string } | void>, record: Omit<FaultRecord, 'injectedAt' | 'liftedAt' | 'durationMs' | 'requestsDuring'>): Promise<void> {
    const before = this.client.records.length;
    const injected = Date.now();
    this.log(`fault: ${record.name}`);
    const outcome = await run();
    const lifted = Date.now();
    this.faults.push({
      ...record,
      ...(outcome && outcome.detail ? { detail: outcome.detail } : {}),
      injectedAt: new Date(injected).toISOString(),
      liftedAt: new Date(lifted).toISOString(),
      durationMs: lifted - injected,
      requestsDuring: this.client.records.length - before,
    });
  }

  private async killAndRestart(target: Exclude<Component, 'postgres'>, action: string): Promise<void> {
    await this.during(
      async () => {
        const how = await this.system.kill(target);
        const downMs = 500 + this.random.integer(0, 1_000);
        await sleep(downMs);
        const starting = Date.now();
        await this.system.start(target);
        return { detail: `exited by ${String(how)}, down ${downMs} ms, ready ${Date.now() - starting} ms after its restart` };
      },
      { name: `kill ${target}`, target, action },
    );
  }

  private async restartPostgres(): Promise<void> {
    await this.during(
      async () => {
        await this.system.crashPostgres();
        await sleep(3_000);
        await this.system.startPostgres();
        // Lifted when the apps serve again on their own (they reconnect; none is restarted here).
        const commandApi = await waitFor(() => ready(`${this.system.commandApiUrl}/health/ready`), 60_000);
        const readApi = await waitFor(() => ready(`${this.system.readApiUrl}/health/live`), 60_000);
        return { detail: `server down 3 s, then crash recovery; command API ready again: ${commandApi}, read API: ${readApi}` };
      },
      { name: 'crash PostgreSQL', target: 'postgres', action: 'immediate shutdown of PostgreSQL (SIGQUIT to the postmaster: no checkpoint, crash recovery on start), down 3 s, started again on the same data' },
    );
  }

  private async provider(name: string, behaviour: Record<string, unknown>, ms: number, action: string): Promise<void> {
    await this.during(
      async () => {
        await setProviderBehaviour(this.system.sandboxUrl, behaviour);
        await sleep(ms);
        await setProviderBehaviour(this.system.sandboxUrl, HEALTHY_PROVIDER);
      },
      { name, target: 'sandbox', action: `${action}; for ${ms / 1_000} s via PUT /admin/behaviour ${JSON.stringify(behaviour)}, then healed` },
    );
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(100);
  }
  return false;
}

export interface DrainResult {
  drained: boolean;
  durationMs: number;
  reviews: Array<{ withdrawalId: string; reason: string; decision: 'settled' | 'fail'; answer: string }>;
  final: Progress | undefined;
  openReviews: number;
}

const AT_REST = new Set(['settled', 'reversed']);
const CHECKPOINTS = ['balances', 'journal', 'withdrawals', 'reconciliation', 'payout_process_manager'];

/**
 * After the load: heal everything, let the provider run what it has scheduled, wait until
 * every checkpoint (the projections' and the process manager's) is at the head with no
 * payout attempt waiting, and resolve each manual review as an operator would, from the
 * provider's own books: paid → `settled`, not paid → `fail`. Then wait for quiet again.
 */
export async function drain(system: FaultSystem, client: LedgerClient, log: (message: string) => void, timeoutMs = 150_000): Promise<DrainResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  await setProviderBehaviour(system.sandboxUrl, HEALTHY_PROVIDER);
  const database = await Database.open(system.databaseUrl);
  const reviews: DrainResult['reviews'] = [];
  let last: Progress | undefined;
  let quietPolls = 0;
  let openReviews = 0;
  try {
    while (Date.now() < deadline) {
      const flushed = await flushProvider(system.sandboxUrl);
      const progress = await database.progress();
      const atHead = CHECKPOINTS.every((name) => progress.checkpoints[name] === progress.head);
      const unsettled = Object.entries(progress.statuses).filter(([status]) => !AT_REST.has(status) && status !== 'manual_review');
      const still = last !== undefined && last.head === progress.head;
      last = progress;
      if (!(atHead && still && progress.openAttempts === 0 && flushed.remaining === 0 && unsettled.length === 0)) {
        quietPolls = 0;
        await sleep(300);
        continue;
      }
      quietPolls += 1;
      if (quietPolls < 3) {
        await sleep(300);
        continue;
      }
      const open = await openReviewItems(system);
      openReviews = open.length;
      if (open.length === 0) return { drained: true, durationMs: Date.now() - started, reviews, final: progress, openReviews: 0 };
      log(`drain: resolving ${open.length} manual review(s) from the provider's books`);
      const books = await providerLedger(system.sandboxUrl);
      for (const item of open) {
        const paid = books.payouts.some((payout) => payout.withdrawalId === item.withdrawalId && payout.timesPaid > 0);
        const decision = paid ? 'settled' : 'fail';
        const record = await client.post('review', `/v1/withdrawals/${item.withdrawalId}/review`, `review-${item.withdrawalId}-${item.position}`, {
          decision,
          reason: paid ? 'fault suite: the provider ledger shows this payout paid' : 'fault suite: the provider ledger shows no paid payout',
        });
        reviews.push({ withdrawalId: item.withdrawalId, reason: item.reason, decision, answer: `${record.status ?? 'none'} ${errorCode(record.response) ?? ''}`.trim() });
      }
      quietPolls = 0;
    }
    return { drained: false, durationMs: Date.now() - started, reviews, final: last, openReviews };
  } finally {
    await database.close();
  }
}

async function openReviewItems(system: FaultSystem): Promise<Array<{ withdrawalId: string; reason: string; position: string }>> {
  const items: Array<{ withdrawalId: string; reason: string; position: string }> = [];
  let cursor: string | undefined;
  do {
    const { status, body } = await readJson<{ items: Array<{ withdrawalId: string; reason: string; position: string }>; nextCursor: string | null }>(
      system.readApiUrl,
      system.apiKey,
      `/v1/review-queue?state=open&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (status !== 200) throw new Error(`GET /v1/review-queue: ${status} ${JSON.stringify(body)}`);
    items.push(...body.items);
    cursor = body.nextCursor ?? undefined;
  } while (cursor);
  return items;
}
