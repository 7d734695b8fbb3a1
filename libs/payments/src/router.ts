import type { RoutableChannel } from './channel.port';

export interface RouteQuery {
  readonly currency: string;
  /** Minor units. */
  readonly amount: bigint;
  /** The channel the client asked for (`WithdrawalRequested.channel`); null or absent lets routing choose. */
  readonly preferredChannel?: string | null;
  /** Channels already tried for this withdrawal and known not to have paid. */
  readonly excludeChannels?: readonly string[];
}

/**
 * Orders the channels that can take a payout. It decides nothing else: the process manager
 * tries the first, and moves to the next only when the previous is known not to have paid
 * (ARCHITECTURE.md §6). The order:
 *
 * 1. Only channels that pay out the currency, whose [minAmount, maxAmount] holds the amount,
 *    and that are not excluded. An excluded channel is never returned.
 * 2. Healthy channels (circuit closed or half-open) before channels whose circuit is open.
 *    Open channels stay in the list, last: if every circuit is open, trying one costs no
 *    request (it is refused as `circuit_open`) and keeps the decision with the caller.
 * 3. Within each group, the preferred channel first, then by priority (lower first), then
 *    by name, so equal priorities order the same way on every instance.
 */
export class PaymentRouter<Channel extends RoutableChannel = RoutableChannel> {
  private readonly byName: ReadonlyMap<string, Channel>;

  constructor(channels: readonly Channel[]) {
    const byName = new Map<string, Channel>();
    for (const channel of channels) {
      if (byName.has(channel.name)) throw new Error(`two payment channels are named "${channel.name}"`);
      byName.set(channel.name, channel);
    }
    this.byName = byName;
  }

  /** The channel of that name, e.g. for the callback endpoint's `/v1/callbacks/{channel}`. */
  get(name: string): Channel | undefined {
    return this.byName.get(name);
  }

  get channels(): readonly Channel[] {
    return [...this.byName.values()];
  }

  candidates(query: RouteQuery): Channel[] {
    const excluded = new Set(query.excludeChannels ?? []);
    const preferred = query.preferredChannel ?? undefined;
    const eligible = [...this.byName.values()].filter(
      (channel) =>
        !excluded.has(channel.name) &&
        channel.currencies.includes(query.currency) &&
        query.amount >= channel.minAmount &&
        query.amount <= channel.maxAmount,
    );
    // Each circuit is read once, so a state change halfway through cannot make the sort inconsistent.
    const healthy = new Map(eligible.map((channel) => [channel.name, channel.circuitState() !== 'open']));
    return eligible.sort(
      (a, b) =>
        rank(healthy.get(b.name)!) - rank(healthy.get(a.name)!) ||
        rank(b.name === preferred) - rank(a.name === preferred) ||
        a.priority - b.priority ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
  }
}

function rank(flag: boolean): number {
  return flag ? 1 : 0;
}
