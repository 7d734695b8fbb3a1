import { Controller, HttpCode, Inject, Logger, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiParam, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { isChannel } from '@ledger/domain';
import { isCallbackRejectedError, type PaymentMetrics, type CallbackRejectionReason, type VerifiedCallback } from '@ledger/payments';
import { ApiError, ApiErrorResponse, clientAddress, currentRequestContext, Public, TokenBucketRateLimiter } from '@ledger/platform';
import { LedgerApiMetrics, UNKNOWN_CHANNEL_LABEL } from '../shared/ledger-api-metrics';
import { rawBodyOf } from './callback-body';
import { CALLBACK_CHANNEL_LIMITER, CALLBACK_CHANNELS, type CallbackChannel } from './callback-channels';
import { CallbackRecorder } from './callback-recorder';

export class CallbackAnswer {
  @ApiProperty({ enum: ['accepted', 'duplicate'], description: 'duplicate: this webhook-id was recorded before; nothing was written now.' })
  status!: 'accepted' | 'duplicate';

  @ApiPropertyOptional({ description: 'Global position of the recorded event; only when accepted.' })
  position?: string;
}

/** Injection token of the payment metrics (`ledger_callback_verification_failures_total`). */
export const PAYMENT_METRICS = Symbol('PAYMENT_METRICS');

/**
 * `POST /v1/callbacks/{channel}`: a payment provider reports what became of a payout.
 *
 * Public for API keys: the Standard Webhooks signature over the raw body is the
 * authentication, checked with the channel's own secrets. So the per-API-key rate limit
 * does not apply; instead every refused callback is charged to the client address, in the
 * same bucket as failed API-key authentication, and verified callbacks to a per-channel
 * bucket that only the provider holding the secret can drain.
 *
 * Accepting is one append (CallbackRecorder); the state change happens in the payout process
 * manager. A callback for a withdrawal we do not know is still recorded: the process manager
 * raises it for a person, and refusing it would only make the provider retry for days.
 */
/** What the callback route reads of the platform's request. */
interface CallbackRequest {
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
}

@ApiTags('callbacks')
@Public()
@Controller('v1/callbacks')
export class CallbacksController {
  private readonly logger = new Logger(CallbacksController.name);

  constructor(
    @Inject(CALLBACK_CHANNELS) private readonly channels: ReadonlyMap<string, CallbackChannel>,
    @Inject(CallbackRecorder) private readonly recorder: CallbackRecorder,
    @Inject(LedgerApiMetrics) private readonly metrics: LedgerApiMetrics,
    @Inject(PAYMENT_METRICS) private readonly paymentMetrics: PaymentMetrics,
    @Inject(TokenBucketRateLimiter) private readonly addressLimiter: TokenBucketRateLimiter,
    @Inject(CALLBACK_CHANNEL_LIMITER) private readonly channelLimiter: TokenBucketRateLimiter,
  ) {}

  @Post(':channel')
  @HttpCode(200)
  @ApiParam({ name: 'channel', description: 'A configured payment channel, e.g. `sandbox`.' })
  @ApiHeader({ name: 'webhook-id', required: true, description: 'The message id, the same on every redelivery: the dedupe key.' })
  @ApiHeader({ name: 'webhook-timestamp', required: true, description: 'Unix seconds of this delivery; within ±300 s of our clock.' })
  @ApiHeader({ name: 'webhook-signature', required: true, description: '`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`, space-separated entries.' })
  @ApiBody({ description: 'The provider payload, verified on the raw bytes (docs/api.md, "Provider callbacks").', schema: { type: 'object' } })
  @ApiResponse({ status: 200, type: CallbackAnswer })
  @ApiResponse({ status: 400, description: 'malformed_callback: signature valid, payload not the documented shape.', type: ApiErrorResponse })
  @ApiResponse({ status: 401, description: 'invalid_signature: missing header, stale timestamp, no matching signature.', type: ApiErrorResponse })
  @ApiResponse({ status: 404, description: 'channel_not_found', type: ApiErrorResponse })
  @ApiResponse({ status: 429, description: 'rate_limited (see Retry-After)', type: ApiErrorResponse })
  async receive(@Param('channel') name: string, @Req() req: CallbackRequest): Promise<CallbackAnswer> {
    // One clock reading: the timestamp window is checked against it and it is `receivedAt`.
    const now = new Date();
    const channel = this.channels.get(name);
    if (!channel) {
      this.refuse(req, UNKNOWN_CHANNEL_LABEL, 'unknown_channel');
      throw new ApiError(404, 'channel_not_found', 'No payment channel of this name takes callbacks here.', isChannel(name) ? { channel: name } : {});
    }

    const rawBody = rawBodyOf(req);
    let verified: VerifiedCallback;
    try {
      verified = channel.verifyCallback(req.headers, rawBody, now);
    } catch (error) {
      if (isCallbackRejectedError(error)) this.refuse(req, name, error.reason);
      throw error;
    }

    const allowed = this.channelLimiter.take(`channel:${name}`);
    if (!allowed.allowed) {
      this.metrics.recordCallback(name, 'rejected');
      throw rateLimited(allowed.retryAfterSeconds);
    }

    const context = currentRequestContext();
    const recorded = await this.recorder.record(name, verified, rawBody, now, {
      correlationId: context?.correlationId,
      causationId: context?.requestId,
      traceparent: context?.traceparent,
      principal: `provider:${name}`,
    });
    this.metrics.recordCallback(name, recorded.status);
    return recorded.status === 'accepted' ? { status: 'accepted', position: recorded.position.toString() } : { status: 'duplicate' };
  }

  /**
   * Counts and logs a refused callback, then charges the client address; an address past its
   * limit is answered 429 instead of the refusal. The log line names the channel and the rule,
   * never a header value or the body: those are the caller's, possibly an attacker's.
   */
  private refuse(req: CallbackRequest, channelLabel: string, reason: CallbackRejectionReason | 'unknown_channel'): void {
    this.metrics.recordCallback(channelLabel, 'rejected');
    this.paymentMetrics.recordCallbackVerificationFailure(channelLabel, reason);
    this.logger.warn(`callback refused on channel ${channelLabel}: ${reason} (request ${currentRequestContext()?.requestId ?? 'unknown'})`);
    const decision = this.addressLimiter.take(`address:${clientAddress(req)}`);
    if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
  }
}

function rateLimited(retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    'rate_limited',
    'Too many requests; retry after the time in the Retry-After header.',
    { retryAfterSeconds },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}
