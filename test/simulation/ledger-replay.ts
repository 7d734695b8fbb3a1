import {
  decodeAmount,
  MONEY_EVENT_TYPES,
  validatePostings,
  withdrawalDecider,
  type DebitReturned,
  type DebitReversed,
  type DebitSettled,
  type Posting,
  type ProviderCallbackReceived,
  type WithdrawalEvent,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';
import type { Findings } from './findings';

/** Everything the log says about one withdrawal: its hold on the account and its own stream. */
export interface WithdrawalTrack {
  readonly withdrawalId: string;
  accountId: string;
  currency: string;
  amount: bigint;
  requested: number;
  debited: number;
  readonly settled: Array<DebitSettled['data']>;
  readonly reversed: Array<DebitReversed['data']>;
  readonly returned: Array<DebitReturned['data']>;
  /** The `withdrawal-<id>` stream, in order. */
  readonly stream: RecordedEvent[];
  /** `withdrawalDecider.evolve` over the stream. */
  state: WithdrawalState;
}

export interface RecordedCallback {
  readonly position: bigint;
  readonly streamName: string;
  readonly data: ProviderCallbackReceived['data'];
}

const MONEY_TYPES: ReadonlySet<string> = new Set(MONEY_EVENT_TYPES);
const USER_ACCOUNT = /^user:(.+):(available|pending)$/;

/**
 * An independent fold of the event log, read page by page and resumable, so each quiescence
 * round reads only what is new. It checks after EVERY event what must hold at every global
 * position (money conserved, no negative balance, every hold resolved at most once, every
 * withdrawal stream valid under its decider) and keeps what the final checks compare with
 * the providers' books and the read models.
 */
export class LedgerReplay {
  /** Ledger balances keyed `<currency>/<ledger account>`: credits minus debits. */
  readonly balances = new Map<string, bigint>();
  /** Per currency, the sum over all ledger accounts: 0 after every event (M2). */
  readonly sums = new Map<string, bigint>();
  readonly withdrawals = new Map<string, WithdrawalTrack>();
  readonly callbacks: RecordedCallback[] = [];
  readonly eventTypes = new Map<string, number>();
  /** User accounts by id: the account opened, with its currency. */
  readonly accounts = new Map<string, { currency: string }>();
  position: bigint | 'start' = 'start';
  events = 0;

  constructor(private readonly findings: Findings) {}

  /** Reads and checks every event after the last one read, up to the head now. */
  async catchUp(store: EventStore, pageSize = 5_000): Promise<void> {
    for (;;) {
      const page = await store.readAll(this.position, pageSize);
      for (const event of page) this.apply(event);
      if (page.length < pageSize) return;
    }
  }

  private apply(event: RecordedEvent): void {
    const at = `position ${event.globalPosition.toString()} (${event.type} on ${event.streamName})`;
    if (this.position !== 'start' && event.globalPosition <= this.position) {
      this.findings.add('log_well_formed', at, `the log went backwards from ${this.position.toString()}`);
    }
    this.position = event.globalPosition;
    this.events += 1;
    this.eventTypes.set(event.type, (this.eventTypes.get(event.type) ?? 0) + 1);
    const data = event.data as Record<string, unknown>;

    if (MONEY_TYPES.has(event.type)) this.applyPostings(at, (data.postings ?? []) as Posting[]);

    switch (event.type) {
      case 'AccountOpened':
        this.accounts.set(String(data.accountId), { currency: String(data.currency) });
        break;
      case 'WithdrawalRequested': {
        const track = this.track(String(data.withdrawalId));
        track.requested += 1;
        track.accountId = String(data.accountId);
        track.currency = String(data.currency);
        track.amount = decodeAmount(String(data.amount));
        if (track.requested > 1) this.findings.add('api_contract', `withdrawal ${track.withdrawalId}`, `WithdrawalRequested ${track.requested} times (${at})`);
        break;
      }
      case 'Debited': {
        const track = this.track(String(data.withdrawalId));
        track.debited += 1;
        if (track.debited > 1) this.findings.add('holds_resolved_once', `withdrawal ${track.withdrawalId}`, `held ${track.debited} times (${at})`);
        break;
      }
      case 'DebitSettled':
      case 'DebitReversed': {
        const track = this.track(String(data.withdrawalId));
        if (event.type === 'DebitSettled') track.settled.push(data as unknown as DebitSettled['data']);
        else track.reversed.push(data as unknown as DebitReversed['data']);
        if (track.debited === 0) this.findings.add('holds_resolved_once', `withdrawal ${track.withdrawalId}`, `${event.type} of a hold never placed (${at})`);
        if (track.settled.length + track.reversed.length > 1) {
          this.findings.add(
            'holds_resolved_once',
            `withdrawal ${track.withdrawalId}`,
            `hold resolved a second time: ${track.settled.length} DebitSettled, ${track.reversed.length} DebitReversed (${at})`,
          );
        }
        break;
      }
      case 'DebitReturned': {
        const track = this.track(String(data.withdrawalId));
        track.returned.push(data as unknown as DebitReturned['data']);
        if (track.returned.length > track.settled.length) {
          this.findings.add('holds_resolved_once', `withdrawal ${track.withdrawalId}`, `DebitReturned without a DebitSettled before it, or twice (${at})`);
        }
        break;
      }
      case 'ProviderCallbackReceived':
        this.callbacks.push({ position: event.globalPosition, streamName: event.streamName, data: data as unknown as ProviderCallbackReceived['data'] });
        break;
      default:
        break;
    }

    if (event.streamName.startsWith('withdrawal-')) {
      const track = this.track(event.streamName.slice('withdrawal-'.length));
      track.stream.push(event);
      try {
        track.state = withdrawalDecider.evolve(track.state, { type: event.type, data: event.data } as WithdrawalEvent);
      } catch (error) {
        this.findings.add('log_well_formed', `withdrawal ${track.withdrawalId}`, `the stream does not replay through the decider at ${at}: ${(error as Error).message}`);
      }
    }
  }

  private applyPostings(at: string, postings: readonly Posting[]): void {
    const problems = validatePostings(postings);
    if (problems.length > 0) this.findings.add('money_conserved', at, `invalid postings: ${problems.join('; ')}`);
    const touched = new Set<string>();
    for (const posting of postings) {
      const amount = decodeAmount(posting.amount);
      const signed = posting.side === 'credit' ? amount : -amount;
      const key = `${posting.currency}/${posting.account}`;
      const balance = (this.balances.get(key) ?? 0n) + signed;
      this.balances.set(key, balance);
      this.sums.set(posting.currency, (this.sums.get(posting.currency) ?? 0n) + signed);
      touched.add(posting.currency);
      if (USER_ACCOUNT.test(posting.account) && balance < 0n) {
        this.findings.add('available_never_negative', at, `${posting.account} is ${balance.toString()} ${posting.currency}`);
      }
    }
    for (const currency of touched) {
      const sum = this.sums.get(currency)!;
      if (sum !== 0n) this.findings.add('money_conserved', at, `the ${currency} ledger sums to ${sum.toString()}, not 0`);
    }
  }

  private track(withdrawalId: string): WithdrawalTrack {
    let track = this.withdrawals.get(withdrawalId);
    if (!track) {
      track = {
        withdrawalId,
        accountId: '',
        currency: '',
        amount: 0n,
        requested: 0,
        debited: 0,
        settled: [],
        reversed: [],
        returned: [],
        stream: [],
        state: withdrawalDecider.initialState(),
      };
      this.withdrawals.set(withdrawalId, track);
    }
    return track;
  }

  balance(account: string, currency: string): bigint {
    return this.balances.get(`${currency}/${account}`) ?? 0n;
  }

  /** Withdrawals whose hold is placed and not yet resolved. */
  openHolds(): WithdrawalTrack[] {
    return [...this.withdrawals.values()].filter((track) => track.debited > 0 && track.settled.length + track.reversed.length === 0);
  }
}
