import type { CircuitState, RoutableChannel } from './channel.port';
import { PaymentRouter } from './router';

function channel(name: string, overrides: Partial<Omit<RoutableChannel, 'circuitState'>> & { circuit?: CircuitState } = {}): RoutableChannel {
  const { circuit = 'closed', ...rest } = overrides;
  return { name, currencies: ['EUR'], minAmount: 1n, maxAmount: 1_000_000n, priority: 10, circuitState: () => circuit, ...rest };
}

const names = (channels: readonly RoutableChannel[]) => channels.map((candidate) => candidate.name);

describe('PaymentRouter.candidates', () => {
  it('orders eligible channels by priority, lower first, then by name', () => {
    const router = new PaymentRouter([channel('c', { priority: 2 }), channel('b', { priority: 1 }), channel('a', { priority: 2 })]);
    expect(names(router.candidates({ currency: 'EUR', amount: 100n }))).toEqual(['b', 'a', 'c']);
  });

  it('leaves out channels without the currency or whose range does not hold the amount, bounds inclusive', () => {
    const router = new PaymentRouter([
      channel('usd_only', { currencies: ['USD'] }),
      channel('small', { maxAmount: 999n }),
      channel('large', { minAmount: 1_001n }),
      channel('exact', { minAmount: 1_000n, maxAmount: 1_000n }),
    ]);
    expect(names(router.candidates({ currency: 'EUR', amount: 1_000n }))).toEqual(['exact']);
    expect(names(router.candidates({ currency: 'USD', amount: 1_000n }))).toEqual(['usd_only']);
    expect(router.candidates({ currency: 'GBP', amount: 1_000n })).toEqual([]);
  });

  it('puts healthy channels (closed or half-open) before open ones, whatever their priority', () => {
    const router = new PaymentRouter([
      channel('primary', { priority: 1, circuit: 'open' }),
      channel('secondary', { priority: 2, circuit: 'half_open' }),
      channel('tertiary', { priority: 3 }),
    ]);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n }))).toEqual(['secondary', 'tertiary', 'primary']);
  });

  it('puts the preferred channel first when it is eligible and healthy', () => {
    const router = new PaymentRouter([channel('a', { priority: 1 }), channel('b', { priority: 5 })]);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n, preferredChannel: 'b' }))).toEqual(['b', 'a']);
  });

  it('does not put an ineligible preferred channel in, and ranks an open preferred one first among the open', () => {
    const router = new PaymentRouter([
      channel('a', { priority: 1 }),
      channel('b', { priority: 5, currencies: ['USD'] }),
      channel('c', { priority: 9, circuit: 'open' }),
      channel('d', { priority: 2, circuit: 'open' }),
    ]);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n, preferredChannel: 'b' }))).toEqual(['a', 'd', 'c']);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n, preferredChannel: 'c' }))).toEqual(['a', 'c', 'd']);
  });

  it('never returns an excluded channel, preferred or not', () => {
    const router = new PaymentRouter([channel('a', { priority: 1 }), channel('b', { priority: 2 }), channel('c', { priority: 3 })]);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n, preferredChannel: 'a', excludeChannels: ['a', 'c'] }))).toEqual(['b']);
    expect(router.candidates({ currency: 'EUR', amount: 10n, excludeChannels: ['a', 'b', 'c'] })).toEqual([]);
  });

  it('treats a null preference as none', () => {
    const router = new PaymentRouter([channel('a', { priority: 2 }), channel('b', { priority: 1 })]);
    expect(names(router.candidates({ currency: 'EUR', amount: 10n, preferredChannel: null }))).toEqual(['b', 'a']);
  });

  it('looks channels up by name and refuses two of one name', () => {
    const a = channel('a');
    const router = new PaymentRouter([a]);
    expect(router.get('a')).toBe(a);
    expect(router.get('zzz')).toBeUndefined();
    expect(router.channels).toEqual([a]);
    expect(() => new PaymentRouter([channel('a'), channel('a')])).toThrow(/two payment channels are named "a"/);
  });
});
