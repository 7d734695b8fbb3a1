import { CURRENCIES } from './system';
import type { LedgerClient, RequestRecord } from './ledger-client';

/** mulberry32: a small seeded generator, so a run's choice of operations can be repeated. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  integer(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

export interface Account {
  accountId: string;
  currency: string;
}

export interface LoadOptions {
  /** Logical operations started per second. */
  ratePerSecond: number;
  /** Operations retrying at once; a tick with this many in flight starts nothing (and counts it). */
  maxInFlight: number;
}

const DESTINATION = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada Lovelace' };

/**
 * Steady traffic against the command API: withdrawals (half of it), deposits, cancels of
 * recent withdrawals, the same withdrawal sent twice at once under one key, replays of
 * finished requests, and new accounts. Every request goes through `LedgerClient`, which
 * retries through faults with the same key; the generator never gives up on a request
 * while it runs, and `stop` waits for the ones in flight.
 */
export class LoadGenerator {
  readonly accounts: Account[] = [];
  skippedTicks = 0;
  private inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private opened = 0;
  private keys = 0;

  constructor(
    private readonly client: LedgerClient,
    private readonly random: SeededRandom,
    private readonly runId: string,
    private readonly options: LoadOptions,
  ) {}

  /** Opens the first accounts and funds them: half rich, half poor enough to meet `insufficient_funds`. */
  async setup(accountCount: number): Promise<void> {
    const accounts = Array.from({ length: accountCount }, () => this.newAccount());
    await Promise.all(accounts.map((account) => this.open(account)));
    await Promise.all(accounts.map((account, index) => this.deposit(account, index % 2 === 0 ? 5_000_000 : 20_000)));
  }

  start(): void {
    const interval = Math.max(1, Math.round(1_000 / this.options.ratePerSecond));
    this.timer = setInterval(() => {
      if (this.inFlight.size >= this.options.maxInFlight) {
        this.skippedTicks += 1;
        return;
      }
      const operation = this.operation().catch(() => undefined);
      this.inFlight.add(operation);
      void operation.finally(() => this.inFlight.delete(operation));
    }, interval);
  }

  /** Stops starting operations and waits for every one in flight to get its final answer. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async operation(): Promise<void> {
    const roll = this.random.next();
    if (roll < 0.5) await this.withdraw(this.random.pick(this.accounts));
    else if (roll < 0.65) await this.deposit(this.random.pick(this.accounts), this.random.integer(1_000, 10_000));
    else if (roll < 0.75) await this.cancel();
    else if (roll < 0.85) await this.duplicateWithdrawal(this.random.pick(this.accounts));
    else if (roll < 0.95) await this.replay();
    else {
      const account = this.newAccount();
      const opened = await this.open(account);
      if (opened.status === 201) await this.deposit(account, 50_000);
    }
  }

  private newAccount(): Account {
    this.opened += 1;
    const account = { accountId: `${this.runId}-acc-${this.opened}`, currency: CURRENCIES[this.opened % CURRENCIES.length]! };
    return account;
  }

  private key(kind: string): string {
    this.keys += 1;
    return `${this.runId}-${kind}-${this.keys}`;
  }

  private async open(account: Account): Promise<RequestRecord> {
    const record = await this.client.post('open-account', '/v1/accounts', this.key('open'), {
      accountId: account.accountId,
      ownerId: `owner-${account.accountId}`,
      currency: account.currency,
    });
    if (record.status === 201) this.accounts.push(account);
    return record;
  }

  private deposit(account: Account, amount: number): Promise<RequestRecord> {
    return this.client.post('deposit', `/v1/accounts/${account.accountId}/deposits`, this.key('deposit'), {
      amount: String(amount),
      currency: account.currency,
      reference: `faults ${this.keys}`,
    });
  }

  private withdrawalBody(account: Account): Record<string, unknown> {
    return { accountId: account.accountId, amount: String(this.random.integer(100, 6_000)), currency: account.currency, destination: DESTINATION };
  }

  private withdraw(account: Account): Promise<RequestRecord> {
    return this.client.post('withdrawal', '/v1/withdrawals', this.key('withdrawal'), this.withdrawalBody(account));
  }

  /** One withdrawal sent twice at once under one key, as a client that fires its retry too early. */
  private async duplicateWithdrawal(account: Account): Promise<void> {
    const key = this.key('withdrawal');
    const body = this.withdrawalBody(account);
    const first = this.client.post('withdrawal', '/v1/withdrawals', key, body);
    const seq = this.client.records[this.client.records.length - 1]!.seq;
    await Promise.all([first, this.client.post('duplicate', '/v1/withdrawals', key, body, seq)]);
  }

  /** Cancels one of the latest accepted withdrawals, which may or may not have started paying out. */
  private async cancel(): Promise<void> {
    const accepted = this.client.records.filter((record) => record.kind === 'withdrawal' && record.status === 202).slice(-30);
    if (accepted.length === 0) return;
    const { withdrawalId } = this.random.pick(accepted).response as { withdrawalId: string };
    await this.client.post('cancel', `/v1/withdrawals/${withdrawalId}/cancel`, this.key('cancel'), { reason: 'the customer changed their mind' });
  }

  /** Sends a finished request again with its key and body: the answer must be the stored one. */
  private async replay(): Promise<void> {
    const finished = this.client.records.filter(
      (record) => record.status !== undefined && record.kind !== 'replay' && record.kind !== 'duplicate' && record.kind !== 'review',
    );
    if (finished.length === 0) return;
    const original = this.random.pick(finished);
    await this.client.post('replay', original.path, original.key, original.body, original.seq);
  }
}
