import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { eventIdFor, StreamCommands } from '@ledger/commands';
import {
  accountDecider,
  accountStream,
  callbackStream,
  withdrawalDecider,
  withdrawalStream,
  type CurrencyCode,
  type ProviderCallbackReceived,
  type ProviderCallbackType,
} from '@ledger/domain';
import { PostgresEventStore, type RecordedEvent } from '@ledger/event-store';
import { createReadModelsDataSource } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import type { DataSource } from 'typeorm';
import { payoutIdempotencyKey } from '../seeds';

export const DESTINATION = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' } as const;

// The callback endpoint's namespace (docs/api.md, "Provider callbacks"): callbacks these
// tests record land on the streams the endpoint would use.
const CALLBACK_ID_NAMESPACE = 'bd0f01f5-f2c0-46e6-85a9-fe2372169df3';

const now = () => new Date().toISOString();

/**
 * A ledger on a fresh test database, written through the same deciders and deterministic
 * ids as the command API, for the process manager's tests. Test-only.
 */
export class PayoutLedger {
  readonly accounts: StreamCommands<ReturnType<typeof accountDecider.initialState>, Parameters<typeof accountDecider.decide>[0], ReturnType<typeof accountDecider.decide>[number]>;
  readonly withdrawals: StreamCommands<ReturnType<typeof withdrawalDecider.initialState>, Parameters<typeof withdrawalDecider.decide>[0], ReturnType<typeof withdrawalDecider.decide>[number]>;

  private constructor(
    readonly database: TestDatabase,
    readonly store: PostgresEventStore,
  ) {
    this.accounts = new StreamCommands(store, accountDecider, accountStream);
    this.withdrawals = new StreamCommands(store, withdrawalDecider, withdrawalStream);
  }

  static async open(prefix: string): Promise<PayoutLedger> {
    const database = await createTestDatabase(prefix);
    const store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 6 });
    return new PayoutLedger(database, store);
  }

  /** A DataSource for a process manager (each instance gets its own, as separate processes would). */
  dataSource(): DataSource {
    return createReadModelsDataSource(this.database.url, { poolSize: 3, applicationName: 'payouts-test' });
  }

  /** Opens an account, deposits `amount` and requests a withdrawal of all of it; returns the withdrawal id. */
  async requestWithdrawal(input: { amount: bigint; currency: CurrencyCode; channel?: string | null }): Promise<{ withdrawalId: string; accountId: string }> {
    const accountId = `acc-${randomUUID()}`;
    const withdrawalId = `wd-${randomUUID()}`;
    const principal = 'test';
    await this.accounts.execute(accountId, {
      command: { type: 'OpenAccount', data: { accountId, ownerId: 'owner', currency: input.currency }, metadata: { now: now(), principal } },
      eventIdSeed: `open:${accountId}`,
      metadata: { principal },
    });
    await this.accounts.execute(accountId, {
      command: {
        type: 'DepositFunds',
        data: { depositId: `dep-${accountId}`, amount: input.amount, currency: input.currency, reference: 'wire' },
        metadata: { now: now(), principal },
      },
      eventIdSeed: `deposit:${accountId}`,
      metadata: { principal },
    });
    await this.accounts.execute(accountId, {
      command: {
        type: 'RequestWithdrawal',
        data: { withdrawalId, amount: input.amount, currency: input.currency, destination: DESTINATION, channel: input.channel ?? null },
        metadata: { now: now(), principal },
      },
      eventIdSeed: withdrawalId,
      metadata: { principal },
    });
    return { withdrawalId, accountId };
  }

  /** Records a provider callback as the callback endpoint does after verifying it. */
  async recordCallback(input: {
    channel: string;
    type: ProviderCallbackType;
    withdrawalId: string;
    attempt: number;
    providerReference: string;
    amount: bigint;
    currency: string;
    reason?: string;
    webhookId?: string;
  }): Promise<RecordedEvent> {
    const webhookId = input.webhookId ?? `msg_${randomUUID()}`;
    const callbackId = uuidv5(`${input.channel}:${webhookId}`, CALLBACK_ID_NAMESPACE);
    const data: ProviderCallbackReceived['data'] = {
      channel: input.channel,
      webhookId,
      callbackType: input.type,
      withdrawalId: input.withdrawalId,
      attempt: input.attempt,
      idempotencyKey: payoutIdempotencyKey(input.withdrawalId, input.attempt),
      providerReference: input.providerReference,
      amount: input.amount.toString(),
      currency: input.currency,
      reason: input.reason ?? null,
      occurredAt: now(),
      sentAt: now(),
      receivedAt: now(),
      bodySha256: '0'.repeat(64),
    };
    const stream = callbackStream(callbackId);
    await this.store.append(stream, [{ id: eventIdFor(callbackId, 0), type: 'ProviderCallbackReceived', data, metadata: { principal: `provider:${input.channel}` } }], {
      expectedRevision: 'no_stream',
    });
    return (await this.store.readStream(stream))[0]!;
  }

  async withdrawalEvents(withdrawalId: string): Promise<RecordedEvent[]> {
    return this.store.readStream(withdrawalStream(withdrawalId));
  }

  async withdrawalTypes(withdrawalId: string): Promise<string[]> {
    return (await this.withdrawalEvents(withdrawalId)).map((event) => event.type);
  }

  /** The account stream's events about one withdrawal. */
  async holdTypes(accountId: string, withdrawalId: string): Promise<string[]> {
    const events = await this.store.readStream(accountStream(accountId));
    return events.filter((event) => (event.data as { withdrawalId?: string }).withdrawalId === withdrawalId).map((event) => event.type);
  }

  /** Every event of the log, counted by type. */
  async eventCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    let after: bigint | 'start' = 'start';
    for (;;) {
      const batch = await this.store.readAll(after, 1_000);
      if (batch.length === 0) return counts;
      for (const event of batch) counts[event.type] = (counts[event.type] ?? 0) + 1;
      after = batch[batch.length - 1]!.globalPosition;
    }
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.database.drop();
  }
}

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
export async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}
