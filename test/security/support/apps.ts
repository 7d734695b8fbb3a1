import { generateWebhookSecret } from '@ledger/payments';
import { callbackChannel } from '../../../apps/ledger-api/src/testing/callbacks';
import { fundedAccount, startLedgerApi, type Harness } from '../../../apps/ledger-api/src/testing/ledger-api-harness';
import { seedBalance, seedEntries, seedWithdrawal, setAllCheckpoints, startReadApi, type ReadHarness } from '../../../apps/read-api/src/testing/read-api-harness';
import type { AppName } from './docs';

/** The callback channel every security test configures, and the ids that exist in each app. */
export const CHANNEL = 'sandbox';
/** A bank account number in full: it must never appear in a log line or an error body. */
export const FULL_ACCOUNT_NUMBER = 'DE89370400440532013000';

/** Log lines as the apps write them, captured in memory (pino's destination contract). */
export class CapturedLog {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
}

export interface SecurityApps {
  ledger: Harness;
  read: ReadHarness;
  /** The channel's two active secrets (a rotation in progress); callbacks signed with either verify. */
  webhookSecrets: readonly [string, string];
  /** Ids that exist, so requests with a plausible id reach the handlers' lookups. */
  ids: { accountId: string; withdrawalId: string };
  baseUrl(app: AppName): string;
  /** The event store head: refused requests must leave it where it was. */
  headPosition(): Promise<bigint>;
  /** Rows of `platform.idempotency_keys`: requests refused before their handler must leave none. */
  idempotencyRows(): Promise<number>;
  close(): Promise<void>;
}

export interface SecurityAppsOptions {
  logLevel?: string;
  log?: CapturedLog;
}

/** The command API and the read API, each on a fresh database, with one signed callback channel. */
export async function startSecurityApps(options: SecurityAppsOptions = {}): Promise<SecurityApps> {
  const webhookSecrets = [generateWebhookSecret(), generateWebhookSecret()] as const;
  const logging = { logLevel: options.logLevel ?? 'silent', ...(options.log ? { logDestination: options.log } : {}) };
  const ledger = await startLedgerApi({ paymentChannels: [callbackChannel(CHANNEL, webhookSecrets)], ...logging });
  let read: ReadHarness;
  try {
    // Checkpoints at the largest position: every valid minPosition is reached, so no read waits
    // and 503 projection_behind (a documented, retryable answer to a valid request) never occurs.
    read = await startReadApi({ ...logging });
  } catch (error) {
    await ledger.close();
    throw error;
  }
  await setAllCheckpoints(read.pool, 9_223_372_036_854_775_807n);
  const accountId = await fundedAccount(ledger, '100000');
  const withdrawalId = 'wd-security-1';
  await seedBalance(read.pool, { accountId, available: '100000' });
  await seedEntries(read.pool, [{ position: 2, postingIndex: 0, accountId, ledgerAccount: `user:${accountId}:available`, side: 'credit', amount: '100000' }]);
  await seedWithdrawal(read.pool, { withdrawalId, accountId, requestedAt: '2026-11-23T10:00:00.000Z' });
  return {
    ledger,
    read,
    webhookSecrets,
    ids: { accountId, withdrawalId },
    baseUrl: (app) => (app === 'ledger-api' ? ledger.baseUrl : read.baseUrl),
    headPosition: () => ledger.store.headPosition(),
    idempotencyRows: async () => {
      const { rows } = await ledger.pool.query<{ count: string }>('select count(*) as count from platform.idempotency_keys');
      return Number(rows[0]!.count);
    },
    close: async () => {
      await Promise.allSettled([ledger.close(), read.close()]);
    },
  };
}
