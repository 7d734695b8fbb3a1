import { eventIdFor } from '@ledger/commands';
import { ConfigError } from '@ledger/platform';
import { payoutsConfigFromEnv } from './payouts-config';
import { payoutIdempotencyKey, payoutSeeds } from './seeds';

describe('payoutsConfigFromEnv', () => {
  it('runs when channels are configured, unless switched off', () => {
    expect(payoutsConfigFromEnv({}, 0).enabled).toBe(false);
    expect(payoutsConfigFromEnv({}, 2).enabled).toBe(true);
    expect(payoutsConfigFromEnv({ PAYOUTS: 'off' }, 2).enabled).toBe(false);
    expect(payoutsConfigFromEnv({ PAYOUTS: 'ON' }, 1).enabled).toBe(true);
  });

  it('refuses to run without a channel, and refuses what it does not understand', () => {
    expect(() => payoutsConfigFromEnv({ PAYOUTS: 'on' }, 0)).toThrow(ConfigError);
    expect(() => payoutsConfigFromEnv({ PAYOUTS: 'yes' }, 1)).toThrow(ConfigError);
    expect(() => payoutsConfigFromEnv({ PAYOUTS_UNKNOWN_GIVE_UP_MS: '1.5' }, 1)).toThrow(ConfigError);
    expect(() => payoutsConfigFromEnv({ PAYOUTS_CONCURRENCY: '0' }, 1)).toThrow(ConfigError);
    expect(() => payoutsConfigFromEnv({ PAYOUTS_CONCURRENCY: '5000' }, 1)).toThrow(ConfigError);
  });

  it('takes the timers it is given and leaves the others to their defaults', () => {
    const { options } = payoutsConfigFromEnv({ PAYOUTS_UNKNOWN_GIVE_UP_MS: '7200000', PAYOUTS_CONCURRENCY: '32' }, 1);
    expect(options).toEqual({ concurrency: 32, timers: { unknownGiveUpMs: 7_200_000 } });
  });
});

describe('seeds and idempotency keys', () => {
  it('keys attempt 1 by the withdrawal id and later attempts by the attempt too', () => {
    expect(payoutIdempotencyKey('wd-1', 1)).toBe('wd-1');
    expect(payoutIdempotencyKey('wd-1', 2)).toBe('wd-1:2');
    expect(() => payoutIdempotencyKey('wd-1', 0)).toThrow(RangeError);
  });

  it('derives the cancel reversal exactly as the cancel endpoint does', () => {
    // apps/ledger-api: `reverse:${eventIdFor(cancelSeed, 0)}` keyed by the WithdrawalCancelled event id.
    const cancelledEventId = eventIdFor('cancel-seed', 0);
    expect(payoutSeeds.reverse(cancelledEventId)).toBe(`reverse:${cancelledEventId}`);
  });

  it('gives every step of one cause a seed of its own', () => {
    const cause = eventIdFor('cause', 0);
    const seeds = [
      payoutSeeds.initiate(cause),
      payoutSeeds.review(cause),
      payoutSeeds.attemptReview(cause, 'outcome_unknown_too_long'),
      payoutSeeds.attemptReview(cause, 'provider_lost_payout'),
      payoutSeeds.submitted(cause),
      payoutSeeds.unknown(cause),
      payoutSeeds.attemptFailed(cause),
      payoutSeeds.settled(cause),
      payoutSeeds.failed(cause),
      payoutSeeds.returned(cause),
      payoutSeeds.callback(cause),
      payoutSeeds.callbackSettled(cause),
      payoutSeeds.settle(cause),
      payoutSeeds.reverse(cause),
      payoutSeeds.return(cause),
    ];
    expect(new Set(seeds).size).toBe(seeds.length);
  });
});
