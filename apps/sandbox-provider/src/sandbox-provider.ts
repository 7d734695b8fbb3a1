import { createHash } from 'node:crypto';
import type { BankAccountDestination, CurrencyCode, ProviderCallbackType } from '@ledger/domain';
import { WEBHOOK_SECRET_PREFIX, webhookHeaders } from '@ledger/payments';
import { ApiError } from '@ledger/platform';
import { SeededRolls } from './prng';
import { applyBehaviourPatch, type SandboxBehaviour, type SandboxProviderConfig } from './sandbox-config';
import { Scheduler, type FlushReport } from './scheduler';
import { statementCsv } from './statement';

export type SandboxPayoutStatus = 'pending' | 'settled' | 'failed' | 'returned';

/** A payout request as the provider's API validated it. */
export interface PayoutInput {
  readonly withdrawalId: string;
  readonly attempt: number;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly destination: BankAccountDestination;
  readonly callbackUrl?: string;
}

/** One payout in the provider's books. */
export interface SandboxPayout extends PayoutInput {
  readonly idempotencyKey: string;
  readonly providerReference: string;
  /** What a replay must match: the request's fields in a fixed order. */
  readonly fingerprint: string;
  status: SandboxPayoutStatus;
  reason: string | undefined;
  readonly createdAt: Date;
  settledAt: Date | undefined;
  failedAt: Date | undefined;
  returnedAt: Date | undefined;
  /** How many `POST /payouts` carried this key, the first included. */
  submissions: number;
  /** How many times money left for this payout: 0 or 1, by construction of the idempotency check. */
  timesPaid: number;
}

/** One try to deliver a callback. */
export interface DeliveryAttempt {
  readonly at: string;
  /** The `webhook-timestamp` sent, unix seconds. */
  readonly timestamp: number;
  /** The timestamp was deliberately 10 minutes old. */
  readonly stale: boolean;
  readonly status?: number;
  readonly error?: string;
}

/** One callback message (one webhook-id), or a deliberate duplicate or forgery of one. */
export interface CallbackRecord {
  readonly webhookId: string;
  readonly type: ProviderCallbackType;
  readonly idempotencyKey: string;
  readonly providerReference: string;
  readonly url: string | undefined;
  readonly body: string;
  /** Signed with a key the receiver does not have. Never retried. */
  readonly forged: boolean;
  /** A second delivery of a message that was already delivered. */
  readonly duplicate: boolean;
  /** The first try was held back by `lateDeliveryMs`. */
  readonly late: boolean;
  /** A `payout.processing` held back until after the payout's final callback. */
  readonly outOfOrder: boolean;
  /** The first try carries a stale timestamp. */
  readonly staleFirstTry: boolean;
  readonly attempts: DeliveryAttempt[];
  /** The receiver answered 2xx to some try. */
  delivered: boolean;
  /** No try is left: delivered, given up, forged, or there was nowhere to send it. */
  finished: boolean;
}

/** The provider's own record, served at `GET /admin/ledger` for tests to compare with the ledger. */
export interface SandboxLedger {
  seed: number;
  behaviour: SandboxBehaviour;
  /** Requests seen per API route, the ones answered 503 included. */
  requests: Record<string, number>;
  payouts: Array<{
    idempotencyKey: string;
    providerReference: string;
    withdrawalId: string;
    attempt: number;
    amount: string;
    currency: string;
    status: SandboxPayoutStatus;
    reason: string | null;
    timesPaid: number;
    submissions: number;
    createdAt: string;
    settledAt: string | null;
    failedAt: string | null;
    returnedAt: string | null;
  }>;
  callbacks: Array<{
    webhookId: string;
    type: ProviderCallbackType;
    idempotencyKey: string;
    providerReference: string;
    forged: boolean;
    duplicate: boolean;
    late: boolean;
    outOfOrder: boolean;
    /** Some try carried a stale timestamp. */
    stale: boolean;
    delivered: boolean;
    finished: boolean;
    attempts: DeliveryAttempt[];
  }>;
  /** Settlements, returns and deliveries still scheduled or running. */
  pendingTasks: number;
}

interface PayoutState {
  readonly payout: SandboxPayout;
  /** Callbacks waiting to be delivered, in order; the head is being delivered. */
  readonly outbox: CallbackRecord[];
  delivering: boolean;
  /** An out-of-order `payout.processing`, released after the final callback. */
  deferred: CallbackRecord | undefined;
  /** The payout's fate, drawn when it is accepted: knobs apply to the payouts accepted while they are set. */
  readonly fails: boolean;
  readonly returns: boolean;
}

const FAILURE_REASONS = ['beneficiary_account_closed', 'beneficiary_bank_rejected', 'invalid_account_number'] as const;
const RETURN_REASONS = ['beneficiary_account_closed', 'returned_by_beneficiary_bank'] as const;
const STALE_BY_SECONDS = 600;
const FORGED_OUTCOME: Partial<Record<ProviderCallbackType, ProviderCallbackType>> = {
  'payout.settled': 'payout.failed',
  'payout.failed': 'payout.settled',
  'payout.returned': 'payout.settled',
};

/**
 * A simulated bank/payment provider, in memory: idempotent payouts that settle or fail
 * after a delay, signed callbacks with retries, and chaos knobs for the ways real providers
 * misbehave. This class is the provider's logic; `sandbox-provider.app.ts` puts HTTP on it.
 */
export class SandboxProvider {
  private readonly payouts = new Map<string, PayoutState>();
  private readonly callbacks: CallbackRecord[] = [];
  private readonly requests: Record<string, number> = {};
  private readonly rolls: SeededRolls;
  private readonly scheduler: Scheduler;
  private readonly hangs = new Set<() => void>();
  private readonly closing = new AbortController();
  private current: SandboxBehaviour;

  constructor(
    readonly config: SandboxProviderConfig,
    onError: (error: unknown) => void = (error) => process.stderr.write(`sandbox provider: ${(error as Error)?.stack ?? String(error)}\n`),
  ) {
    this.rolls = new SeededRolls(config.seed);
    this.current = { ...config.behaviour };
    this.scheduler = new Scheduler(onError);
  }

  get seed(): number {
    return this.config.seed;
  }

  get behaviour(): SandboxBehaviour {
    return { ...this.current };
  }

  /** Changes some knobs; throws BehaviourError naming a bad one, changing nothing. */
  setBehaviour(patch: unknown): SandboxBehaviour {
    this.current = applyBehaviourPatch(this.current, patch);
    return this.behaviour;
  }

  countRequest(route: string): void {
    this.requests[route] = (this.requests[route] ?? 0) + 1;
  }

  /**
   * Takes a payout under an idempotency key. The same key with the same request returns the
   * payout it created (`created: false`); with another request it is refused, so a key
   * never stands for two payouts and never pays twice. `hangMs` > 0 asks the HTTP layer to
   * hold its answer (the `timeoutRate` knob): the payout exists either way.
   */
  submit(idempotencyKey: string, input: PayoutInput): { payout: SandboxPayout; created: boolean; hangMs: number } {
    const fingerprint = JSON.stringify([
      input.withdrawalId,
      input.attempt,
      input.amount.toString(),
      input.currency,
      input.destination.type,
      input.destination.accountNumber,
      input.destination.bankCode,
      input.destination.holderName,
      input.callbackUrl ?? null,
    ]);
    const existing = this.payouts.get(idempotencyKey);
    if (existing) {
      if (existing.payout.fingerprint !== fingerprint) {
        throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used for a different payout request.');
      }
      existing.payout.submissions += 1;
      return { payout: existing.payout, created: false, hangMs: this.hangFor(existing.payout) };
    }
    if (!this.config.currencies.includes(input.currency)) {
      throw new ApiError(422, 'unsupported_currency', `This provider does not pay out ${input.currency}.`, {
        currencies: this.config.currencies,
      });
    }
    if (input.amount > this.config.maxAmount) {
      throw new ApiError(422, 'amount_exceeds_limit', `The amount exceeds this provider's limit of ${this.config.maxAmount} minor units.`, {
        maxAmount: this.config.maxAmount.toString(),
      });
    }
    const payout: SandboxPayout = {
      ...input,
      idempotencyKey,
      providerReference: `psp_${digest(`${this.config.seed}|reference|${idempotencyKey}`).toString('hex').slice(0, 24)}`,
      fingerprint,
      status: 'pending',
      reason: undefined,
      createdAt: this.config.clock(),
      settledAt: undefined,
      failedAt: undefined,
      returnedAt: undefined,
      submissions: 1,
      timesPaid: 0,
    };
    const state: PayoutState = {
      payout,
      outbox: [],
      delivering: false,
      deferred: undefined,
      fails: this.rolls.chance(this.current.failureRate, idempotencyKey, 'fail'),
      returns: this.rolls.chance(this.current.returnRate, idempotencyKey, 'return'),
    };
    this.payouts.set(idempotencyKey, state);
    this.emit(state, 'payout.processing', payout.createdAt);
    this.scheduler.schedule(this.current.settleDelayMs, async () => this.settle(state));
    return { payout, created: true, hangMs: this.hangFor(payout) };
  }

  payout(idempotencyKey: string): SandboxPayout | undefined {
    return this.payouts.get(idempotencyKey)?.payout;
  }

  /** Waits `ms`, or less if the provider closes first (a hung answer must not hold up shutdown). */
  hang(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.hangs.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.hangs.add(release);
    });
  }

  /** Runs what is due (or, with `all`, everything scheduled) and waits for it; see Scheduler.flush. */
  flush(options: { all?: boolean } = {}): Promise<FlushReport> {
    return this.scheduler.flush(options.all ? Number.POSITIVE_INFINITY : Date.now());
  }

  ledger(): SandboxLedger {
    return {
      seed: this.config.seed,
      behaviour: this.behaviour,
      requests: { ...this.requests },
      payouts: [...this.payouts.values()].map(({ payout }) => ({
        idempotencyKey: payout.idempotencyKey,
        providerReference: payout.providerReference,
        withdrawalId: payout.withdrawalId,
        attempt: payout.attempt,
        amount: payout.amount.toString(),
        currency: payout.currency,
        status: payout.status,
        reason: payout.reason ?? null,
        timesPaid: payout.timesPaid,
        submissions: payout.submissions,
        createdAt: payout.createdAt.toISOString(),
        settledAt: payout.settledAt?.toISOString() ?? null,
        failedAt: payout.failedAt?.toISOString() ?? null,
        returnedAt: payout.returnedAt?.toISOString() ?? null,
      })),
      callbacks: this.callbacks.map((record) => ({
        webhookId: record.webhookId,
        type: record.type,
        idempotencyKey: record.idempotencyKey,
        providerReference: record.providerReference,
        forged: record.forged,
        duplicate: record.duplicate,
        late: record.late,
        outOfOrder: record.outOfOrder,
        stale: record.attempts.some((attempt) => attempt.stale),
        delivered: record.delivered,
        finished: record.finished,
        attempts: [...record.attempts],
      })),
      pendingTasks: this.scheduler.pending,
    };
  }

  /** The settlement statement of one UTC day as CSV (docs/payments.md, "Statement CSV"). */
  statement(date: string): string {
    return statementCsv(
      [...this.payouts.values()].map(({ payout }) => payout),
      date,
    );
  }

  /** Stops deliveries and settlements, and answers hung requests, so the HTTP server can close. */
  async close(): Promise<void> {
    this.closing.abort();
    for (const release of [...this.hangs]) release();
    await this.scheduler.close();
  }

  private hangFor(payout: SandboxPayout): number {
    return this.rolls.chance(this.current.timeoutRate, payout.idempotencyKey, `timeout:${payout.submissions}`) ? this.current.hangMs : 0;
  }

  private settle(state: PayoutState): void {
    const { payout } = state;
    if (payout.status !== 'pending') return;
    const now = this.config.clock();
    if (state.fails) {
      payout.status = 'failed';
      payout.failedAt = now;
      payout.reason = this.rolls.pick(FAILURE_REASONS, payout.idempotencyKey, 'fail_reason');
      this.emit(state, 'payout.failed', now);
      return;
    }
    payout.status = 'settled';
    payout.settledAt = now;
    payout.timesPaid += 1;
    this.emit(state, 'payout.settled', now);
    if (state.returns) {
      this.scheduler.schedule(this.current.returnDelayMs, async () => this.returnPayout(state));
    }
  }

  private returnPayout(state: PayoutState): void {
    const { payout } = state;
    if (payout.status !== 'settled') return;
    const now = this.config.clock();
    payout.status = 'returned';
    payout.returnedAt = now;
    payout.reason = this.rolls.pick(RETURN_REASONS, payout.idempotencyKey, 'return_reason');
    this.emit(state, 'payout.returned', now);
  }

  /** Records a callback message and queues it behind the payout's earlier ones, applying the chaos knobs. */
  private emit(state: PayoutState, type: ProviderCallbackType, occurredAt: Date): void {
    const { payout } = state;
    const key = payout.idempotencyKey;
    const outOfOrder = type === 'payout.processing' && this.rolls.chance(this.current.outOfOrderRate, key, 'out_of_order');
    const record = this.newRecord(payout, type, occurredAt, {
      webhookId: `msg_${digest(`${this.config.seed}|webhook|${key}|${type}`).toString('hex').slice(0, 24)}`,
      late: this.rolls.chance(this.current.lateRate, key, `late:${type}`),
      staleFirstTry: this.rolls.chance(this.current.staleTimestampRate, key, `stale:${type}`),
      outOfOrder,
    });
    if (outOfOrder) {
      state.deferred = record;
      return;
    }
    this.enqueue(state, record);
    if ((type === 'payout.settled' || type === 'payout.failed') && state.deferred) {
      this.enqueue(state, state.deferred);
      state.deferred = undefined;
    }
    const forgedType = FORGED_OUTCOME[type];
    if (forgedType && this.rolls.chance(this.current.forgedRate, key, `forged:${type}`)) this.forge(payout, forgedType, occurredAt);
  }

  private newRecord(
    payout: SandboxPayout,
    type: ProviderCallbackType,
    occurredAt: Date,
    flags: Pick<CallbackRecord, 'webhookId' | 'late' | 'staleFirstTry' | 'outOfOrder'> & Partial<Pick<CallbackRecord, 'forged' | 'duplicate'>>,
  ): CallbackRecord {
    // The provider writes its own JSON, field by field, rather than sharing a serialiser
    // with the ledger's parser: the documented shape is the contract between the two.
    const body = JSON.stringify({
      type,
      timestamp: occurredAt.toISOString(),
      data: {
        idempotencyKey: payout.idempotencyKey,
        withdrawalId: payout.withdrawalId,
        attempt: payout.attempt,
        providerReference: payout.providerReference,
        amount: payout.amount.toString(),
        currency: payout.currency,
        reason: type === 'payout.failed' || type === 'payout.returned' ? (payout.reason ?? null) : null,
      },
    });
    const record: CallbackRecord = {
      type,
      idempotencyKey: payout.idempotencyKey,
      providerReference: payout.providerReference,
      url: payout.callbackUrl ?? this.config.callbackUrl,
      body,
      forged: false,
      duplicate: false,
      ...flags,
      attempts: [],
      delivered: false,
      finished: false,
    };
    this.callbacks.push(record);
    return record;
  }

  private enqueue(state: PayoutState, record: CallbackRecord): void {
    state.outbox.push(record);
    this.pump(state);
  }

  /** Starts delivering the head of the payout's outbox unless a delivery is under way: one payout's callbacks go out in order. */
  private pump(state: PayoutState): void {
    const head = state.outbox[0];
    if (state.delivering || head === undefined) return;
    state.delivering = true;
    this.scheduler.schedule(head.late ? this.current.lateDeliveryMs : 0, () => this.tryDeliver(state, head));
  }

  private async tryDeliver(state: PayoutState, record: CallbackRecord): Promise<void> {
    if (record.url !== undefined) {
      const attempt = await this.post(record, record.url, this.config.webhookSecrets[0]!, record.staleFirstTry && record.attempts.length === 0);
      record.attempts.push(attempt);
      if (attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300) {
        record.delivered = true;
      } else if (record.attempts.length < this.config.callbackMaxAttempts && !this.closing.signal.aborted) {
        // The same webhook-id on every try, with a fresh timestamp: what Standard Webhooks
        // senders do, and what makes the receiver's dedupe on the id meaningful.
        this.scheduler.schedule(this.backoffMs(record.attempts.length), () => this.tryDeliver(state, record));
        return;
      }
    }
    record.finished = true;
    state.outbox.shift();
    state.delivering = false;
    const key = record.idempotencyKey;
    if (record.delivered && !record.duplicate && this.rolls.chance(this.current.duplicateRate, key, `duplicate:${record.type}`)) {
      const copy = { ...record, duplicate: true, late: false, staleFirstTry: false, outOfOrder: false, attempts: [], delivered: false, finished: false };
      this.callbacks.push(copy);
      state.outbox.push(copy);
    }
    this.pump(state);
  }

  /** A forged callback: plausible content, an outcome that did not happen, a key the receiver does not hold. */
  private forge(payout: SandboxPayout, type: ProviderCallbackType, occurredAt: Date): void {
    const webhookId = `msg_forged_${digest(`${this.config.seed}|forged|${payout.idempotencyKey}|${type}`).toString('hex').slice(0, 18)}`;
    const record = this.newRecord(payout, type, occurredAt, { webhookId, late: false, staleFirstTry: false, outOfOrder: false, forged: true });
    const forgedSecret = WEBHOOK_SECRET_PREFIX + digest(`${this.config.seed}|forged-key|${payout.idempotencyKey}`).toString('base64');
    this.scheduler.schedule(0, async () => {
      if (record.url !== undefined) record.attempts.push(await this.post(record, record.url, forgedSecret, false));
      record.delivered = record.attempts.some((attempt) => attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300);
      record.finished = true;
    });
  }

  private async post(record: CallbackRecord, url: string, secret: string, stale: boolean): Promise<DeliveryAttempt> {
    // Webhook timestamps are wall-clock time: the receiver checks them against its own clock,
    // whatever `config.clock` says about business dates.
    const timestamp = Math.floor(Date.now() / 1000) - (stale ? STALE_BY_SECONDS : 0);
    const at = new Date().toISOString();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...webhookHeaders(secret, record.webhookId, timestamp, record.body) },
        body: record.body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.config.callbackTimeoutMs)]),
        redirect: 'manual',
      });
      await response.arrayBuffer().catch(() => undefined);
      return { at, timestamp, stale, status: response.status };
    } catch (error) {
      return { at, timestamp, stale, error: describeNetworkError(error) };
    }
  }

  /** 200 ms, 400 ms, 800 ms, … up to the maximum: no jitter, so a seeded run is reproducible. */
  private backoffMs(triesSoFar: number): number {
    return Math.min(this.config.callbackInitialBackoffMs * 2 ** (triesSoFar - 1), this.config.callbackMaxBackoffMs);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : error instanceof Error ? error.message : String(error);
}
