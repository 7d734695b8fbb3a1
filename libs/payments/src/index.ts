/** Payment channels: the port, the HTTP adapter, routing, webhook signing and verification, metrics. */
import type { PaymentChannelConfig } from './channel-config';
import { HttpPaymentChannel, type HttpChannelOptions } from './http-channel';
import { PaymentRouter } from './router';

export type {
  CircuitState,
  PaymentChannel,
  PayoutRequest,
  PayoutStatus,
  ProviderPayoutStatus,
  RoutableChannel,
  SubmitOutcome,
  VerifiedCallback,
} from './channel.port';
export { parseCallbackBody, type CallbackEventData } from './callback-payload';
export {
  CallbackRejectedError,
  isCallbackRejectedError,
  type CallbackRejectionCode,
  type CallbackRejectionReason,
} from './errors';
export {
  decodeWebhookSecret,
  generateWebhookSecret,
  signWebhook,
  unixSeconds,
  verifyWebhook,
  webhookHeaders,
  WebhookVerifier,
  WEBHOOK_ID_HEADER,
  WEBHOOK_KEY_BYTES_MAX,
  WEBHOOK_KEY_BYTES_MIN,
  WEBHOOK_SECRET_PREFIX,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WEBHOOK_TOLERANCE_SECONDS,
  type VerifiedWebhook,
  type WebhookHeaders,
} from './webhooks';
export {
  CHANNEL_DEFAULTS,
  checkPaymentChannelConfig,
  loadPaymentChannels,
  parsePaymentChannels,
  sandboxChannelConfig,
  type BreakerSettings,
  type PaymentChannelConfig,
  type RetrySettings,
} from './channel-config';
export { HttpPaymentChannel, type HttpChannelOptions } from './http-channel';
export { PaymentRouter, type RouteQuery } from './router';
export {
  CIRCUIT_STATE_VALUES,
  PaymentMetrics,
  paymentMetrics,
  type ChannelOperation,
  type PayoutOutcomeLabel,
} from './metrics';

/** The HTTP channels of a configuration and a router over them: what a process needs to pay out and take callbacks. */
export function createPaymentChannels(
  configs: readonly PaymentChannelConfig[],
  options: HttpChannelOptions = {},
): { channels: HttpPaymentChannel[]; router: PaymentRouter<HttpPaymentChannel> } {
  const channels = configs.map((config) => new HttpPaymentChannel(config, options));
  return { channels, router: new PaymentRouter(channels) };
}
