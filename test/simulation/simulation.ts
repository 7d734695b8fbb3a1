import type { SandboxBehaviour, SandboxLedger } from '../../apps/sandbox-provider/src';
import type { PayoutProcessManager, ProjectorApp } from '../../apps/projector/src';
import { Findings } from './findings';
import { checkForgeryAnswer, sendForgery, type ForgeryRecord } from './forgeries';
import { postCommand, type Answer } from './http-client';
import { LedgerReplay, type WithdrawalTrack } from './ledger-replay';
import type { PlannedStep, SimulationConfig, SimulationPlan } from './simulation-plan';
import type { SeededRandom } from './seeded-random';
import { sleep, type ComponentInstance, type ComponentKind, type SimulationWorld } from './simulation-world';

export const DESTINATION = {
  type: 'bank_account',
  accountNumber: 'DE89370400440532013000',
  bankCode: 'COBADEFFXXX',
  holderName: 'Simulated Holder',
} as const;

/** What the client sent and was told about one withdrawal request (one idempotency key). */
export interface ClientWithdrawal {
  readonly idempotencyKey: string;
  readonly accountId: string;
  readonly currency: string;
  readonly amount: bigint;
  outcome: 'accepted' | 'refused' | 'unexpected';
  code: string | null;
  withdrawalId: string | null;
  cancel: { status: number; code: string | null } | null;
}

export type ProviderPayout = SandboxLedger['payouts'][number] & { channel: string };

/** Every knob off: the state the quiescence phase drives the providers to. */
const CALM: Partial<SandboxBehaviour> = {
  failureRate: 0,
  timeoutRate: 0,
  duplicateRate: 0,
  lateRate: 0,
  outOfOrderRate: 0,
  forgedRate: 0,
  staleTimestampRate: 0,
  returnRate: 0,
  unavailable: false,
};

/** How far the process manager may fall behind the log before the clients wait (`keepPace`). */
const PACE_LAG_EVENTS = 400n;
/** How long the process manager's checkpoint may stand still while clients wait before the run fails. */
const STALL_MS = 60_000;

/** The longest a review may be sent back for another try before the operator fails it. */
const RETRIES_PER_WITHDRAWAL_MAX = 2;

/**
 * One run: accounts, then the planned steps through the real HTTP API with chaos and
 * crashes, then quiescence with an operator resolving every manual review. The checks that
 * hold at every event run inside `LedgerReplay`; `checks.ts` runs the ones that need rest.
 */
export class Simulation {
  readonly findings = new Findings();
  readonly replay = new LedgerReplay(this.findings);
  readonly clientWithdrawals: ClientWithdrawal[] = [];
  readonly forgeries: ForgeryRecord[] = [];
  readonly reviews = { settled: 0, fail: 0, retry: 0, raced: 0 };
  readonly timings: Record<string, number> = {};
  readonly counters = { deposits: 0, outages: 0, chaosChanges: 0, flushes: 0, quiescenceRounds: 0, sequentialReplays: 0, concurrentReplays: 0, keyReuses: 0 };
  private readonly retries = new Map<string, number>();
  private readonly decisions = new Map<string, number>();
  private paceCheckpoint = -1n;
  private paceMovedAt = Date.now();
  private readonly reviewRandom: SeededRandom;
  private chaosLane: Promise<void> = Promise.resolve();
  private readonly outages = new Set<Promise<void>>();

  constructor(
    readonly world: SimulationWorld,
    readonly config: SimulationConfig,
    readonly plan: SimulationPlan,
    random: SeededRandom,
    private readonly log: (message: string) => void,
    private readonly verbose = false,
  ) {
    this.reviewRandom = random.fork('reviews');
  }

  async run(): Promise<void> {
    const monitor = setInterval(() => void (this.verbose ? this.progress().catch(() => undefined) : undefined), 2_000);
    try {
      await this.timed('start', async () => {
        await this.world.startInstance('projector');
        await this.world.startInstance('payouts');
      });
      await this.timed('accounts', () => this.openAccounts());
      await this.timed('traffic', () => this.runTraffic());
      await this.timed('quiescence', () => this.quiesce());
    } finally {
      clearInterval(monitor);
    }
  }

  /** One line of where everything stands (SIMULATION_VERBOSE=1). */
  private async progress(): Promise<void> {
    const head = await this.world.store.headPosition();
    const checkpoints = await this.world.checkpoints();
    const payouts = this.world.channels.map((channel) => `${channel.name} ${channel.sandbox.ledger().payouts.length}`).join(', ');
    this.log(
      `head ${head.toString()}, payouts pm at ${String(checkpoints.get('payout_process_manager'))}, projections at ${String(checkpoints.get('withdrawals'))}; ` +
        `requests ${this.clientWithdrawals.length}; provider payouts ${payouts}`,
    );
  }

  private async timed(phase: string, work: () => Promise<void>): Promise<void> {
    const started = Date.now();
    this.log(`phase ${phase}`);
    await work();
    this.timings[phase] = Date.now() - started;
  }

  // -------------------------------------------------------------------------------------
  // Accounts and traffic
  // -------------------------------------------------------------------------------------

  private async openAccounts(): Promise<void> {
    const { writer } = this.world.keys;
    await Promise.all(
      this.plan.accounts.map(async (account) => {
        const opened = await postCommand(
          this.world.apiUrl,
          '/v1/accounts',
          { accountId: account.accountId, ownerId: account.ownerId, currency: account.currency },
          { apiKey: writer, idempotencyKey: `${account.accountId}-open` },
        );
        this.expectStatus(opened, [201], `open account ${account.accountId}`);
        const deposited = await postCommand(
          this.world.apiUrl,
          `/v1/accounts/${account.accountId}/deposits`,
          { amount: account.initialDeposit.toString(), currency: account.currency, reference: 'simulation opening balance' },
          { apiKey: writer, idempotencyKey: `${account.accountId}-fund` },
        );
        this.expectStatus(deposited, [201], `fund account ${account.accountId}`);
      }),
    );
  }

  private async runTraffic(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    for (const step of this.plan.steps) {
      switch (step.kind) {
        case 'withdrawal':
        case 'deposit':
        case 'forge': {
          while (inFlight.size >= this.config.clients) await Promise.race(inFlight);
          if (step.kind === 'withdrawal' && step.index % 10 === 0) await this.keepPace();
          const work = this.clientStep(step).catch((error: unknown) => {
            this.findings.add('api_contract', `${step.kind} step`, `failed: ${(error as Error).stack ?? String(error)}`);
          });
          inFlight.add(work);
          void work.finally(() => inFlight.delete(work));
          if (step.kind === 'withdrawal' && ++sent % 500 === 0) this.log(`${sent} withdrawals sent`);
          break;
        }
        default:
          // Chaos runs on a lane of its own, in plan order, while the clients keep sending.
          this.chaosLane = this.chaosLane.then(() =>
            this.chaosStep(step).catch((error: unknown) => {
              this.findings.add('quiescence', `${step.kind} step`, `failed: ${(error as Error).stack ?? String(error)}`);
            }),
          );
      }
    }
    await Promise.all(inFlight);
    await this.chaosLane;
    await Promise.all(this.outages);
  }

  /**
   * Back-pressure: clients wait while the process manager is more than `PACE_LAG_EVENTS`
   * behind the log, so payouts happen while the chaos is on (not all after it) and a crash
   * hits a busy process manager. Bounded, so a stuck process manager cannot stall the clients.
   */
  private async keepPace(): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const head = await this.world.store.headPosition();
      const checkpoint = (await this.world.checkpoints()).get('payout_process_manager') ?? 0n;
      if (checkpoint !== this.paceCheckpoint) {
        this.paceCheckpoint = checkpoint;
        this.paceMovedAt = Date.now();
      }
      if (head - checkpoint <= PACE_LAG_EVENTS) return;
      // A process manager that makes no progress at all fails the run now, with what it
      // was doing, rather than at the test's timeout.
      if (Date.now() - this.paceMovedAt > STALL_MS) {
        throw new Error(
          `the payout process manager has not moved its checkpoint from ${checkpoint.toString()} for ${STALL_MS / 1_000} s ` +
            `(head ${head.toString()}; ${this.world.describeInstances('payouts')}; ${JSON.stringify(this.world.leader('payouts')?.app.status() ?? null)})`,
        );
      }
      await sleep(50);
    }
  }

  private async clientStep(step: Extract<PlannedStep, { kind: 'withdrawal' | 'deposit' | 'forge' }>): Promise<void> {
    if (step.kind === 'withdrawal') return this.withdraw(step);
    if (step.kind === 'deposit') {
      const account = this.plan.accounts[step.account]!;
      const answer = await postCommand(
        this.world.apiUrl,
        `/v1/accounts/${account.accountId}/deposits`,
        { amount: step.amount.toString(), currency: account.currency, reference: `simulation top-up ${step.idempotencyKey}` },
        { apiKey: this.world.keys.writer, idempotencyKey: step.idempotencyKey },
      );
      this.expectStatus(answer, [201], `deposit ${step.idempotencyKey}`);
      this.counters.deposits += 1;
      return;
    }
    const record = await sendForgery(this.world, step.forgery, step.target, step.variant);
    if (record === null) return;
    this.forgeries.push(record);
    checkForgeryAnswer(record, this.findings);
  }

  private async withdraw(step: Extract<PlannedStep, { kind: 'withdrawal' }>): Promise<void> {
    const account = this.plan.accounts[step.account]!;
    const body = {
      accountId: account.accountId,
      amount: step.amount.toString(),
      currency: account.currency,
      destination: DESTINATION,
      ...(step.channel === null ? {} : { channel: step.channel }),
    };
    const subject = `withdrawal request ${step.idempotencyKey}`;
    const send = (payload: unknown = body) =>
      postCommand(this.world.apiUrl, '/v1/withdrawals', payload, { apiKey: this.world.keys.writer, idempotencyKey: step.idempotencyKey });
    const record: ClientWithdrawal = {
      idempotencyKey: step.idempotencyKey,
      accountId: account.accountId,
      currency: account.currency,
      amount: step.amount,
      outcome: 'unexpected',
      code: null,
      withdrawalId: null,
      cancel: null,
    };
    this.clientWithdrawals.push(record);

    let first: Answer;
    let replayAfter = step.replay === 'sequential';
    if (step.replay === 'concurrent') {
      this.counters.concurrentReplays += 1;
      const answers = await Promise.all([send(), send()]);
      const decisive = answers.filter((answer) => !(answer.status === 409 && answer.body.error?.code === 'idempotency_key_in_use'));
      if (decisive.length === 0) {
        this.findings.add('api_contract', subject, 'two concurrent sends of one key were both answered 409 idempotency_key_in_use');
        return;
      }
      if (decisive.length === 2 && !sameAnswer(decisive[0]!, decisive[1]!)) {
        this.findings.add('api_contract', subject, `two concurrent sends of one key got different answers: ${decisive[0]!.text} / ${decisive[1]!.text}`);
      }
      first = decisive.find((answer) => !answer.replayed) ?? decisive[0]!;
      // When the twin was told "in use", the client asks again later and must get the stored answer.
      replayAfter = decisive.length === 1;
    } else {
      first = await send();
    }
    if (first.status === 202 && first.body.status === 'requested' && typeof first.body.withdrawalId === 'string') {
      record.outcome = 'accepted';
      record.withdrawalId = first.body.withdrawalId;
    } else if (first.status === 422 && first.body.error?.code === 'insufficient_funds') {
      record.outcome = 'refused';
      record.code = 'insufficient_funds';
    } else {
      this.findings.add('api_contract', subject, `answered ${first.status} ${first.text.slice(0, 300)}`);
      return;
    }

    if (replayAfter) {
      this.counters.sequentialReplays += 1;
      const again = await send();
      if (again.status !== first.status || !sameAnswer(again, first) || !again.replayed) {
        this.findings.add(
          'api_contract',
          subject,
          `a retry with the same key got ${again.status} (replayed: ${again.replayed}) ${again.text.slice(0, 200)} instead of the stored ${first.status} ${first.text.slice(0, 200)}`,
        );
      }
    }
    if (step.replay === 'other_body') {
      this.counters.keyReuses += 1;
      const reused = await send({ ...body, amount: (step.amount + 1n).toString() });
      if (reused.status !== 422 || reused.body.error?.code !== 'idempotency_key_reused') {
        this.findings.add('api_contract', subject, `the key with another body got ${reused.status} ${reused.text.slice(0, 200)}, not 422 idempotency_key_reused`);
      }
    }

    if (record.outcome === 'accepted' && step.cancel !== 'none') {
      if (step.cancel === 'later') await sleep(step.cancelDelayMs);
      const cancelled = await postCommand(
        this.world.apiUrl,
        `/v1/withdrawals/${record.withdrawalId}/cancel`,
        { reason: 'the simulated customer changed their mind' },
        { apiKey: this.world.keys.writer, idempotencyKey: `${step.idempotencyKey}-cancel` },
      );
      record.cancel = { status: cancelled.status, code: cancelled.body.error?.code ?? null };
      const fine =
        (cancelled.status === 202 && cancelled.body.status === 'cancelled') ||
        (cancelled.status === 409 && cancelled.body.error?.code === 'withdrawal_not_cancellable');
      if (!fine) this.findings.add('api_contract', `cancel of ${record.withdrawalId}`, `answered ${cancelled.status} ${cancelled.text.slice(0, 300)}`);
    }
  }

  private expectStatus(answer: Answer, statuses: number[], subject: string): void {
    if (!statuses.includes(answer.status)) this.findings.add('api_contract', subject, `answered ${answer.status} ${answer.text.slice(0, 300)}`);
  }

  // -------------------------------------------------------------------------------------
  // Chaos: knobs, outages, flushes, crashes
  // -------------------------------------------------------------------------------------

  private async chaosStep(step: Exclude<PlannedStep, { kind: 'withdrawal' | 'deposit' | 'forge' }>): Promise<void> {
    switch (step.kind) {
      case 'chaos':
        this.counters.chaosChanges += 1;
        this.world.setBehaviour(step.channel, step.patch);
        this.log(`chaos ${step.channel} ${JSON.stringify(step.patch)}`);
        return;
      case 'outage': {
        this.counters.outages += 1;
        this.world.setBehaviour(step.channel, { unavailable: true });
        this.log(`outage of ${step.channel} for ${step.durationMs} ms`);
        const end = sleep(step.durationMs).then(() => this.world.setBehaviour(step.channel, { unavailable: false }));
        this.outages.add(end);
        return;
      }
      case 'flush':
        this.counters.flushes += 1;
        await Promise.all(this.world.channels.map((channel) => channel.sandbox.flush({ all: true })));
        return;
      case 'crash':
        return this.crashStep(step.component, step.mode, step.pauseMs);
      case 'operator': {
        await this.replay.catchUp(this.world.store);
        const inReview = this.replay.openHolds().filter((track) => track.state.status === 'manual_review');
        this.log(`operator: ${inReview.length} withdrawal(s) in review`);
        return this.resolveReviews(inReview);
      }
    }
  }

  private async crashStep(kind: ComponentKind, mode: Extract<PlannedStep, { kind: 'crash' }>['mode'], pauseMs: number): Promise<void> {
    const current = (): ComponentInstance<PayoutProcessManager | ProjectorApp> | undefined =>
      this.world.leader(kind) ?? this.world.instances[kind].find((instance) => !instance.ended);
    const victim = current();
    this.log(`${mode} of ${kind} (${victim?.id ?? 'none running'})`);
    switch (mode) {
      case 'crash':
        if (victim) await this.world.crash(victim);
        await sleep(pauseMs);
        break;
      case 'crash_to_standby':
        // A standby is waiting when the leader dies: it must take over from the checkpoint.
        if (this.world.live(kind) < 2) await this.world.startInstance(kind);
        await sleep(pauseMs);
        if (victim) await this.world.crash(victim);
        break;
      case 'double_crash': {
        if (victim) await this.world.crash(victim);
        const next = await this.world.startInstance(kind);
        // Killed again while it is still replaying what its predecessor left.
        await sleep(Math.floor(pauseMs / 3));
        await this.world.crash(next);
        break;
      }
      case 'graceful':
        if (victim) await this.world.stopGracefully(victim);
        await sleep(pauseMs);
        break;
    }
    if (this.world.live(kind) === 0) await this.world.startInstance(kind);
  }

  // -------------------------------------------------------------------------------------
  // Quiescence and the operator
  // -------------------------------------------------------------------------------------

  /** Every provider's books, by withdrawal. */
  providerPayouts(): Map<string, ProviderPayout[]> {
    const byWithdrawal = new Map<string, ProviderPayout[]>();
    for (const channel of this.world.channels) {
      for (const payout of channel.sandbox.ledger().payouts) {
        const list = byWithdrawal.get(payout.withdrawalId) ?? [];
        list.push({ ...payout, channel: channel.name });
        byWithdrawal.set(payout.withdrawalId, list);
      }
    }
    return byWithdrawal;
  }

  private async flushProviders(): Promise<void> {
    for (let round = 0; round < 50; round += 1) {
      const reports = await Promise.all(this.world.channels.map((channel) => channel.sandbox.flush({ all: true })));
      if (reports.every((report) => report.remaining === 0) && this.world.channels.every((channel) => channel.sandbox.ledger().pendingTasks === 0)) return;
    }
  }

  /**
   * Drives the system to rest: the providers run everything they have scheduled, the
   * process manager finishes every reaction and timer, and an operator decides every manual
   * review, until no hold is open and nothing is in flight anywhere. Bounded: what is still
   * open at the deadline is a finding, with each withdrawal's history.
   */
  async quiesce(timeoutMs = 120_000): Promise<void> {
    for (const channel of this.world.channels) channel.sandbox.setBehaviour(CALM);
    await this.world.ensureLeader('projector');
    await this.world.ensureLeader('payouts');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.counters.quiescenceRounds += 1;
      await this.flushProviders();
      await this.world.payoutsIdle(Math.max(1_000, deadline - Date.now()));
      await this.replay.catchUp(this.world.store);
      const open = this.replay.openHolds();
      const providersBusy = this.world.channels.some((channel) => channel.sandbox.ledger().pendingTasks > 0);
      if (open.length === 0 && !providersBusy) break;
      if (Date.now() > deadline) {
        for (const track of open.slice(0, 25)) {
          this.findings.add('quiescence', `withdrawal ${track.withdrawalId}`, `still open at the deadline: ${describeTrack(track)}`);
        }
        if (open.length > 25) this.findings.add('quiescence', `${open.length - 25} more withdrawals`, 'still open at the deadline');
        break;
      }
      const inReview = open.filter((track) => track.state.status === 'manual_review');
      if (inReview.length > 0) await this.resolveReviews(inReview);
      // Attempts waiting for their next status query are not "due" yet: give the timers a turn.
      else await sleep(this.world.timings.payoutTimers.checkIntervalMaxMs);
    }
    await this.world.projectionsReach();
  }

  /** A fresh Idempotency-Key per decision the operator sends about one withdrawal. */
  private nextDecision(withdrawalId: string): number {
    const next = (this.decisions.get(withdrawalId) ?? 0) + 1;
    this.decisions.set(withdrawalId, next);
    return next;
  }

  /**
   * The operator, deciding from the provider's own books as a person would from its
   * dashboard: a payout the provider paid is `settled`; with no payout paid (none made, or
   * all failed) a seeded coin sends it back for another try (`retry`, at most twice per
   * withdrawal) or gives up (`fail`); a payout still pending waits for the next round.
   */
  private async resolveReviews(tracks: readonly WithdrawalTrack[]): Promise<void> {
    const payouts = this.providerPayouts();
    for (const track of tracks) {
      const subject = `review of ${track.withdrawalId}`;
      const mine = payouts.get(track.withdrawalId) ?? [];
      if (mine.some((payout) => payout.status === 'pending')) continue;
      const paid = mine.filter((payout) => payout.timesPaid > 0);
      let decision: 'settled' | 'fail' | 'retry';
      let reason: string;
      if (paid.length > 0) {
        decision = 'settled';
        reason = `the provider paid it: ${paid.map((payout) => `${payout.channel} ${payout.idempotencyKey} ${payout.status}`).join(', ')}`;
        if (paid.some((payout) => payout.attempt !== track.state.attempt)) {
          this.findings.add(
            'paid_at_most_once',
            subject,
            `the provider paid attempt ${paid.map((payout) => payout.attempt).join(', ')} but the ledger's latest attempt is ${track.state.attempt}`,
          );
        }
      } else {
        const retried = this.retries.get(track.withdrawalId) ?? 0;
        decision = retried < RETRIES_PER_WITHDRAWAL_MAX && this.reviewRandom.chance(0.5) ? 'retry' : 'fail';
        reason = mine.length === 0 ? 'no payout at any provider' : `every payout failed: ${mine.map((payout) => `${payout.channel} ${payout.idempotencyKey}`).join(', ')}`;
        if (decision === 'retry') this.retries.set(track.withdrawalId, retried + 1);
      }
      const answer = await postCommand(
        this.world.apiUrl,
        `/v1/withdrawals/${track.withdrawalId}/review`,
        { decision, reason: `simulation operator: ${reason}`.slice(0, 500) },
        { apiKey: this.world.keys.ops, idempotencyKey: `${track.withdrawalId}-review-${this.nextDecision(track.withdrawalId)}` },
      );
      if (answer.status === 200) {
        this.reviews[decision] += 1;
      } else if (answer.status === 409 && answer.body.error?.code === 'withdrawal_not_in_review') {
        // A provider's report took it out of review first; nothing to decide.
        this.reviews.raced += 1;
      } else {
        this.findings.add('quiescence', subject, `decision ${decision} answered ${answer.status} ${answer.text.slice(0, 300)} (${describeTrack(track)})`);
      }
    }
  }
}

/**
 * The same stored answer: identical bodies, except `requestId`, which names the request that
 * carried the replay (an error's body has one; the 202 body has none).
 */
function sameAnswer(a: Answer, b: Answer): boolean {
  const { requestId: _a, ...first } = a.body;
  const { requestId: _b, ...second } = b.body;
  return a.status === b.status && JSON.stringify(first) === JSON.stringify(second);
}

/** A withdrawal's story in one line, for findings. */
export function describeTrack(track: WithdrawalTrack): string {
  const stream = track.stream.map((event) => {
    const data = event.data as { attempt?: number; channel?: string; decision?: string; code?: string };
    const detail = [data.channel, data.attempt, data.decision, data.code].filter((part) => part !== undefined).join(' ');
    return detail ? `${event.type}(${detail})` : event.type;
  });
  const holds = [
    track.debited ? `Debited x${track.debited}` : 'no Debited',
    ...track.settled.map((settled) => `DebitSettled(${settled.channel})`),
    ...track.reversed.map((reversed) => `DebitReversed(${reversed.reason})`),
    ...track.returned.map(() => 'DebitReturned'),
  ];
  return `status ${track.state.status}; withdrawal stream [${stream.join(', ')}]; account [${holds.join(', ')}]`;
}
