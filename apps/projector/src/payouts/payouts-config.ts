import { ConfigError } from '@ledger/platform';
import type { PayoutProcessManagerOptions } from './payout-process-manager';

export interface PayoutsConfig {
  /** Whether this process runs the payout process manager. */
  enabled: boolean;
  options: PayoutProcessManagerOptions;
}

/**
 * The payout process manager's configuration from the environment (docs/payouts.md):
 *
 * - PAYOUTS: `on` or `off`. Default: on when PAYMENT_CHANNELS lists a channel, off
 *   otherwise; `on` without a channel is refused, since nothing could be paid out.
 * - PAYOUTS_CONCURRENCY: withdrawals reacted to at once (default 16).
 * - PAYOUTS_UNKNOWN_FIRST_CHECK_MS, PAYOUTS_PENDING_FIRST_CHECK_MS,
 *   PAYOUTS_CHECK_INTERVAL_MAX_MS, PAYOUTS_UNKNOWN_GIVE_UP_MS,
 *   PAYOUTS_SUBMIT_DEADLINE_MARGIN_MS: the status-query timers (`PAYOUT_TIMER_DEFAULTS`).
 */
export function payoutsConfigFromEnv(env: NodeJS.ProcessEnv, channelCount: number): PayoutsConfig {
  const switch_ = (env.PAYOUTS ?? '').trim().toLowerCase();
  if (switch_ !== '' && switch_ !== 'on' && switch_ !== 'off') throw new ConfigError(`PAYOUTS must be on or off, got ${JSON.stringify(env.PAYOUTS)}`);
  const enabled = switch_ === '' ? channelCount > 0 : switch_ === 'on';
  if (enabled && channelCount === 0) throw new ConfigError('PAYOUTS=on needs at least one channel in PAYMENT_CHANNELS');
  const timers = {
    unknownFirstCheckMs: milliseconds(env, 'PAYOUTS_UNKNOWN_FIRST_CHECK_MS'),
    pendingFirstCheckMs: milliseconds(env, 'PAYOUTS_PENDING_FIRST_CHECK_MS'),
    checkIntervalMaxMs: milliseconds(env, 'PAYOUTS_CHECK_INTERVAL_MAX_MS'),
    unknownGiveUpMs: milliseconds(env, 'PAYOUTS_UNKNOWN_GIVE_UP_MS'),
    submitDeadlineMarginMs: milliseconds(env, 'PAYOUTS_SUBMIT_DEADLINE_MARGIN_MS'),
  };
  const concurrency = milliseconds(env, 'PAYOUTS_CONCURRENCY', 1_000);
  return {
    enabled,
    options: {
      ...(concurrency === undefined ? {} : { concurrency }),
      timers: Object.fromEntries(Object.entries(timers).filter(([, value]) => value !== undefined)),
    },
  };
}

/** A positive whole number from the environment (milliseconds, or a count up to `max`), or undefined when unset. */
function milliseconds(env: NodeJS.ProcessEnv, name: string, max = 604_800_000): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(raw.trim()) || Number(raw) > max) {
    throw new ConfigError(`${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
