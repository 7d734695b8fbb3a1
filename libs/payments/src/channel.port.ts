import type { PayoutDestination } from '@ledger/domain';
import type { CallbackEventData } from './callback-payload';
import type { WebhookHeaders } from './webhooks';

/**
 * The payment channel port: what the payout process manager needs from a provider. The
 * central rule is that an answer is only ever "not paid" with proof. `rejected` and
 * `not_found` are proofs; a timeout, a reset connection or a 5xx are not, and come back as
 * `unknown`, which the process manager must resolve with `status()` before it retries on
 * this channel or fails over to another (ARCHITECTURE.md §6, ADR 0008).
 */
export interface PayoutRequest {
  /** The provider deduplicates on it: one key, at most one payout, however often it is sent. */
  readonly idempotencyKey: string;
  readonly withdrawalId: string;
  /** 1 for the first attempt of a withdrawal. */
  readonly attempt: number;
  /** Minor units. */
  readonly amount: bigint;
  readonly currency: string;
  readonly destination: PayoutDestination;
}

/** Where a payout stands at the provider. `returned`: it settled, then the bank sent it back. */
export type ProviderPayoutStatus = 'pending' | 'settled' | 'failed' | 'returned';

export type SubmitOutcome =
  /**
   * The provider holds the payout under the idempotency key (new, or a replay of an earlier
   * submission). `status` is where it stands now: `pending` for a new payout. A replay of a
   * payout that settled and was then returned reports `settled`; the return arrives as a
   * `payout.returned` callback and through `status()`.
   */
  | { readonly kind: 'accepted'; readonly providerReference: string; readonly status: 'pending' | 'settled' | 'failed'; readonly reason?: string }
  /**
   * The provider definitively does NOT have the payout: it refused it (a 4xx validation or
   * limit error), or the circuit was open and no request left this process. `code` is the
   * provider's error code or one of ours (`circuit_open`, `currency_not_supported`,
   * `amount_out_of_range`).
   */
  | { readonly kind: 'rejected'; readonly code: string; readonly reason: string }
  /**
   * The request may have reached the provider, but no answer says what became of it
   * (timeout, connection reset, 5xx after the retries). Never to be read as "not paid".
   */
  | { readonly kind: 'unknown'; readonly reason: string };

/** What a status query found. Amounts are minor units; fields the provider did not send are absent. */
export type PayoutStatus =
  /** The provider has no payout under the key. Trust it only after the attempt's submit deadline (`timeoutMs`) has passed. */
  | { readonly kind: 'not_found' }
  | {
      readonly kind: ProviderPayoutStatus;
      readonly providerReference: string;
      readonly withdrawalId?: string;
      readonly attempt?: number;
      readonly amount?: bigint;
      readonly currency?: string;
      readonly reason?: string;
    }
  /** The query itself got no answer (timeout, 5xx, circuit open); nothing is known. */
  | { readonly kind: 'unknown'; readonly reason: string };

/** A callback whose signature and shape were checked. */
export interface VerifiedCallback {
  /** The provider's message id, the same on every redelivery: the dedupe key. */
  readonly webhookId: string;
  /** When this copy was sent (`webhook-timestamp`). */
  readonly timestamp: Date;
  readonly event: CallbackEventData;
}

/** A channel's circuit breaker, as routing and the metrics see it. */
export type CircuitState = 'closed' | 'half_open' | 'open';

/** What routing needs to know about a channel. */
export interface RoutableChannel {
  readonly name: string;
  readonly currencies: readonly string[];
  /** Inclusive bounds of one payout, minor units. */
  readonly minAmount: bigint;
  readonly maxAmount: bigint;
  /** Lower is preferred: priority 1 is tried before priority 2. */
  readonly priority: number;
  circuitState(): CircuitState;
}

export interface PaymentChannel extends RoutableChannel {
  /**
   * The longest one `submit` or `status` call takes, retries included. A `not_found` from a
   * status query is only proof of "not paid" once this much time has passed since the
   * attempt's last submit began.
   */
  readonly timeoutMs: number;

  /** Never throws for provider trouble: every outcome is one of the three kinds. */
  submit(request: PayoutRequest): Promise<SubmitOutcome>;

  /** Never throws for provider trouble: the query's own failure is `unknown`. */
  status(idempotencyKey: string): Promise<PayoutStatus>;

  /**
   * Checks a callback's Standard Webhooks signature against the channel's secrets and
   * parses its body, or throws CallbackRejectedError (`invalid_signature` 401,
   * `malformed_callback` 400). Synchronous and pure but for the clock it is given.
   */
  verifyCallback(headers: WebhookHeaders, rawBody: Buffer, now: Date): VerifiedCallback;
}
