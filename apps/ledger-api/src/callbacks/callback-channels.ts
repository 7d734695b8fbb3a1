import type { PaymentChannel } from '@ledger/payments';

/**
 * What the callback endpoint needs of a payment channel: its name (the path segment of
 * `POST /v1/callbacks/{channel}`) and its `verifyCallback`. Any `PaymentChannel` fits, so an
 * entry point that already built its channels for the process manager passes the same ones.
 */
export type CallbackChannel = Pick<PaymentChannel, 'name' | 'verifyCallback'>;

/** Injection token of the channels by name. */
export const CALLBACK_CHANNELS = Symbol('CALLBACK_CHANNELS');

/** Injection token of the per-channel rate limiter of verified callbacks. */
export const CALLBACK_CHANNEL_LIMITER = Symbol('CALLBACK_CHANNEL_LIMITER');

/** The channels by name; two channels of one name are a configuration error, refused at start. */
export function channelsByName(channels: readonly CallbackChannel[]): ReadonlyMap<string, CallbackChannel> {
  const byName = new Map<string, CallbackChannel>();
  for (const channel of channels) {
    if (byName.has(channel.name)) throw new Error(`two payment channels are named ${channel.name}`);
    byName.set(channel.name, channel);
  }
  return byName;
}
