import { performance } from 'node:perf_hooks';
import {
  BrokenCircuitError,
  CircuitState as CockatielCircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleType,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { parseAmount } from '@ledger/domain';
import { activeTraceparent } from '@ledger/platform';
import { parseCallbackBody } from './callback-payload';
import { checkPaymentChannelConfig, type PaymentChannelConfig } from './channel-config';
import type {
  CircuitState,
  PaymentChannel,
  PayoutRequest,
  PayoutStatus,
  ProviderPayoutStatus,
  SubmitOutcome,
  VerifiedCallback,
} from './channel.port';
import type { ChannelOperation, PaymentMetrics } from './metrics';
import { WebhookVerifier, type WebhookHeaders } from './webhooks';

export interface HttpChannelOptions {
  /** Where outcomes, request durations and the circuit state are counted; nothing is counted without it. */
  metrics?: PaymentMetrics;
}

/**
 * A try that got no usable answer and may be retried: a 5xx, 408, 409 or 429, a network
 * error or our own deadline. These, and only these, count towards opening the circuit: a 4xx
 * is a healthy provider saying no.
 */
class TransientProviderError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransientProviderError';
  }
}

/** The operation's deadline passed between two tries: the next one is not sent at all. */
class DeadlinePassedError extends Error {}

/** A provider answer that is definitive for this try: 2xx, 3xx or a non-transient 4xx. */
interface ProviderAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Counts, for one operation, the tries that may have reached the provider. */
interface Tries {
  mayHaveReached: number;
}

const PROVIDER_STATUSES: readonly ProviderPayoutStatus[] = ['pending', 'settled', 'failed', 'returned'];
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
// Network errors that prove the request never left: the connection was refused, or the host has no address.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A payment channel over the provider's HTTP API (docs/payments.md, "Provider API"), with a
 * cockatiel policy of its own: timeout ∘ retry(exponential backoff) ∘ circuit breaker.
 *
 * - The timeout is outermost and bounds one `submit` or `status` call, retries included, so
 *   the process manager never waits longer than `timeoutMs` for a channel. When it fires, the
 *   request in flight is aborted through its AbortSignal.
 * - Retries are safe for `submit` on the SAME channel because the provider deduplicates on the
 *   idempotency key: a second try of a payout the first try already created returns that
 *   payout and never creates another. Only transient failures are retried.
 * - The breaker is innermost, so every try counts: `consecutiveFailures` transient failures
 *   in a row open it, and an open circuit ends the retries at once.
 *
 * Outcomes follow the port's rule: "rejected" and "not found" only with proof. A try that
 * may have reached the provider and got no definitive answer makes the call `unknown`.
 */
export class HttpPaymentChannel implements PaymentChannel {
  readonly name: string;
  readonly currencies: readonly string[];
  readonly minAmount: bigint;
  readonly maxAmount: bigint;
  readonly priority: number;
  readonly timeoutMs: number;

  private readonly breaker: CircuitBreakerPolicy;
  private readonly policy: IPolicy;
  private readonly verifier: WebhookVerifier;
  private readonly baseUrl: string;
  private readonly metrics: PaymentMetrics | undefined;
  private openedAtMs = 0;

  constructor(
    private readonly config: PaymentChannelConfig,
    options: HttpChannelOptions = {},
  ) {
    checkPaymentChannelConfig(config);
    this.name = config.name;
    this.currencies = Object.freeze([...config.currencies]);
    this.minAmount = config.minAmount;
    this.maxAmount = config.maxAmount;
    this.priority = config.priority;
    this.timeoutMs = config.timeoutMs;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.verifier = new WebhookVerifier(config.webhookSecrets);
    this.metrics = options.metrics;

    const transient = handleType(TransientProviderError);
    this.breaker = circuitBreaker(transient, {
      halfOpenAfter: config.breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(config.breaker.consecutiveFailures),
    });
    this.breaker.onStateChange((state) => {
      if (state === CockatielCircuitState.Open) this.openedAtMs = Date.now();
    });
    // cockatiel counts retries after the first try; our maxAttempts counts every try.
    const retries = retry(transient, {
      maxAttempts: config.retry.maxAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: config.retry.initialDelayMs, maxDelay: config.retry.maxDelayMs }),
    });
    const deadline = timeout(config.timeoutMs, TimeoutStrategy.Aggressive);
    this.policy = wrap(deadline, retries, this.breaker);
    this.metrics?.watchCircuit(this.name, () => this.circuitState());
  }

  /**
   * The circuit as routing should see it. cockatiel leaves an open circuit `Open` until the
   * next call finds its break over; a circuit whose break is over is reported `half_open`
   * here, because the next call will be let through as the trial.
   */
  circuitState(): CircuitState {
    switch (this.breaker.state) {
      case CockatielCircuitState.Closed:
        return 'closed';
      case CockatielCircuitState.HalfOpen:
        return 'half_open';
      case CockatielCircuitState.Open:
        return Date.now() - this.openedAtMs >= this.config.breaker.halfOpenAfterMs ? 'half_open' : 'open';
      case CockatielCircuitState.Isolated:
        return 'open';
    }
  }

  /** Holds the circuit open (an operator takes the channel out of rotation) until the handle is disposed. */
  isolate(): { dispose(): void } {
    return this.breaker.isolate();
  }

  async submit(request: PayoutRequest): Promise<SubmitOutcome> {
    const outcome = await this.submitOnce(request);
    this.metrics?.recordPayout(this.name, outcome.kind);
    return outcome;
  }

  async status(idempotencyKey: string): Promise<PayoutStatus> {
    if (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      return { kind: 'unknown', reason: 'invalid_idempotency_key' };
    }
    let answer: ProviderAnswer;
    try {
      answer = await this.execute('status', { mayHaveReached: 0 }, 'GET', `/payouts/${encodeURIComponent(idempotencyKey)}`);
    } catch (error) {
      return { kind: 'unknown', reason: failureReason(error) };
    }
    if (answer.status === 404) {
      // Only the provider's own "no such payout" proves absence. A 404 for a route (a wrong
      // baseUrl, a proxy) says nothing about the payout, and reading it as "not paid" would
      // let the process manager pay twice.
      return errorCode(answer.body) === 'payout_not_found' ? { kind: 'not_found' } : { kind: 'unknown', reason: 'http_404' };
    }
    if (answer.status !== 200) return { kind: 'unknown', reason: `http_${answer.status}` };
    return parseStatusBody(answer.body) ?? { kind: 'unknown', reason: 'malformed_response' };
  }

  verifyCallback(headers: WebhookHeaders, rawBody: Buffer, now: Date): VerifiedCallback {
    const { webhookId, timestamp } = this.verifier.verify(headers, rawBody, now);
    // The body is parsed only after the signature held: unsigned bytes are not worth reading.
    return { webhookId, timestamp, event: parseCallbackBody(rawBody) };
  }

  private async submitOnce(request: PayoutRequest): Promise<SubmitOutcome> {
    const invalid = invalidRequest(request);
    if (invalid) return { kind: 'rejected', code: 'invalid_request', reason: invalid };
    // Routing should never send these here; refusing without a request keeps a misrouted
    // payout a definitive "not taken" instead of whatever the provider would make of it.
    if (!this.currencies.includes(request.currency)) {
      return { kind: 'rejected', code: 'currency_not_supported', reason: `channel ${this.name} does not pay out ${request.currency}` };
    }
    if (request.amount < this.minAmount || request.amount > this.maxAmount) {
      return { kind: 'rejected', code: 'amount_out_of_range', reason: `channel ${this.name} pays out ${this.minAmount}-${this.maxAmount} minor units` };
    }
    const body = JSON.stringify({
      withdrawalId: request.withdrawalId,
      attempt: request.attempt,
      amount: request.amount.toString(),
      currency: request.currency,
      destination: request.destination,
      ...(this.config.callbackUrl === undefined ? {} : { callbackUrl: this.config.callbackUrl }),
    });
    const tries: Tries = { mayHaveReached: 0 };
    let answer: ProviderAnswer;
    try {
      answer = await this.execute('submit', tries, 'POST', '/payouts', { body, idempotencyKey: request.idempotencyKey });
    } catch (error) {
      if (tries.mayHaveReached > 0) return { kind: 'unknown', reason: failureReason(error) };
      // No try can have reached the provider: the circuit was open before the first one, or
      // every try was refused before a byte was sent (connection refused, no such host).
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        return { kind: 'rejected', code: 'circuit_open', reason: `the circuit of channel ${this.name} is open; no request was sent` };
      }
      const detail = error instanceof TransientProviderError ? error.message : failureReason(error);
      return { kind: 'rejected', code: 'provider_unreachable', reason: `no request reached channel ${this.name}: ${detail}` };
    }
    return interpretSubmitAnswer(answer);
  }

  private execute(
    operation: ChannelOperation,
    tries: Tries,
    method: 'GET' | 'POST',
    path: string,
    extra: { body?: string; idempotencyKey?: string } = {},
  ): Promise<ProviderAnswer> {
    return this.policy.execute(({ signal }) => this.send(operation, tries, method, path, extra, signal));
  }

  /** One HTTP try. Throws TransientProviderError for anything worth retrying. */
  private async send(
    operation: ChannelOperation,
    tries: Tries,
    method: 'GET' | 'POST',
    path: string,
    extra: { body?: string; idempotencyKey?: string },
    policySignal: AbortSignal,
  ): Promise<ProviderAnswer> {
    if (policySignal.aborted) throw new DeadlinePassedError('the deadline passed before this try');
    // The policy's signal carries the operation's deadline; the second bound covers the one
    // path where cockatiel hands a try a signal that never aborts (a call that waited for a
    // half-open trial and then runs), so no try can outlive the deadline.
    const signal = AbortSignal.any([policySignal, AbortSignal.timeout(this.timeoutMs)]);
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${this.config.apiKey}`,
    };
    if (extra.body !== undefined) headers['Content-Type'] = 'application/json';
    if (extra.idempotencyKey !== undefined) headers['Idempotency-Key'] = extra.idempotencyKey;
    // The provider joins the trace of the reaction that calls it, if it takes part in tracing.
    const traceparent = activeTraceparent(undefined);
    if (traceparent !== undefined) headers.traceparent = traceparent;

    // Counted before the request leaves: if the deadline interrupts the await below, this
    // try must already count as one that may have reached the provider.
    tries.mayHaveReached += 1;
    const startedMs = performance.now();
    let status: number;
    let text: string;
    try {
      // `manual`: a redirect is the provider's problem to fix, not ours to follow with the API key.
      const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: extra.body, signal, redirect: 'manual' });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new TransientProviderError('timeout', `no answer from channel ${this.name} within ${this.timeoutMs} ms`);
      const code = networkErrorCode(error);
      if (code !== undefined && NOT_SENT_CODES.has(code)) tries.mayHaveReached -= 1;
      throw new TransientProviderError('network_error', `channel ${this.name}: ${code ?? (error as Error).message}`);
    } finally {
      this.metrics?.observeRequest(this.name, operation, (performance.now() - startedMs) / 1000);
    }
    if (status >= 500 || status === 408 || status === 409 || status === 429) {
      throw new TransientProviderError(`http_${status}`, `channel ${this.name} answered ${status}`);
    }
    return { status, body: parseJson(text) };
  }
}

function interpretSubmitAnswer(answer: ProviderAnswer): SubmitOutcome {
  if (answer.status === 200 || answer.status === 201) {
    const parsed = parseStatusBody(answer.body);
    if (!parsed || parsed.kind === 'not_found' || parsed.kind === 'unknown') return { kind: 'unknown', reason: 'malformed_response' };
    const status = parsed.kind === 'returned' ? 'settled' : parsed.kind;
    return { kind: 'accepted', providerReference: parsed.providerReference, status, ...(parsed.reason ? { reason: parsed.reason } : {}) };
  }
  if (answer.status >= 400 && answer.status < 500) {
    const code = errorCode(answer.body) ?? `http_${answer.status}`;
    // The provider already holds a DIFFERENT payout under this key: it may well have been
    // paid, so this is not a "not paid"; a status query shows what the key holds.
    if (code === 'idempotency_key_reused') return { kind: 'unknown', reason: code };
    return { kind: 'rejected', code, reason: errorMessage(answer.body) ?? `the provider answered ${answer.status}` };
  }
  return { kind: 'unknown', reason: `http_${answer.status}` };
}

/** A provider payout resource (`POST /payouts`, `GET /payouts/{key}`), or undefined when it is not one. */
function parseStatusBody(body: unknown): PayoutStatus | undefined {
  if (!isObject(body)) return undefined;
  const { providerReference, status, withdrawalId, attempt, amount, currency, reason } = body;
  if (typeof providerReference !== 'string' || providerReference.length === 0) return undefined;
  if (typeof status !== 'string' || !(PROVIDER_STATUSES as readonly string[]).includes(status)) return undefined;
  const parsedAmount = amount === undefined ? undefined : parseAmount(amount);
  if (parsedAmount && !parsedAmount.ok) return undefined;
  return {
    kind: status as ProviderPayoutStatus,
    providerReference,
    ...(typeof withdrawalId === 'string' ? { withdrawalId } : {}),
    ...(typeof attempt === 'number' && Number.isSafeInteger(attempt) ? { attempt } : {}),
    ...(parsedAmount?.ok ? { amount: parsedAmount.value } : {}),
    ...(typeof currency === 'string' ? { currency } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

function invalidRequest(request: PayoutRequest): string | undefined {
  if (typeof request.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(request.idempotencyKey)) {
    return 'idempotencyKey must be 1-255 visible ASCII characters';
  }
  if (typeof request.withdrawalId !== 'string' || request.withdrawalId.length === 0) return 'withdrawalId must be a non-empty string';
  if (!Number.isSafeInteger(request.attempt) || request.attempt < 1) return 'attempt must be a positive whole number';
  if (typeof request.amount !== 'bigint' || request.amount < 1n) return 'amount must be a positive bigint of minor units';
  return undefined;
}

function failureReason(error: unknown): string {
  if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) return 'circuit_open';
  if (error instanceof TaskCancelledError || error instanceof DeadlinePassedError) return 'timeout';
  if (error instanceof TransientProviderError) return error.reason;
  return 'unexpected_error';
}

/** The `code` of undici's "fetch failed" TypeError, found on its cause. */
function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

function errorCode(body: unknown): string | undefined {
  const error = isObject(body) ? body.error : undefined;
  return isObject(error) && typeof error.code === 'string' ? error.code : undefined;
}

function errorMessage(body: unknown): string | undefined {
  const error = isObject(body) ? body.error : undefined;
  return isObject(error) && typeof error.message === 'string' ? error.message.slice(0, 500) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
