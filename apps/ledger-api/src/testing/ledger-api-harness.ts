import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { PostgresEventStore } from '@ledger/event-store';
import { createApiKeyRecord, type Scope } from '@ledger/platform';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { createLedgerApiApp, type LedgerApiAppOptions } from '../ledger-api.app';

export interface Harness {
  baseUrl: string;
  database: TestDatabase;
  store: PostgresEventStore;
  pool: Pool;
  keys: Record<'writer' | 'reader' | 'ops' | 'all', string>;
  app: INestApplication;
  close(): Promise<void>;
}

/** The real command API over real HTTP on a fresh database of its own. */
export async function startLedgerApi(overrides: Partial<LedgerApiAppOptions> = {}): Promise<Harness> {
  const database = await createTestDatabase('ledger_api');
  const store = await PostgresEventStore.create({ connectionString: database.url, poolSize: 20 });
  const pool = new Pool({ connectionString: database.url, max: 20 });
  // An idle client cut by the server must not crash the run; the next query reconnects.
  pool.on('error', () => undefined);
  const make = (id: string, scopes: Scope[]) => createApiKeyRecord(id, scopes);
  const writer = make('writer', ['ledger:write']);
  const reader = make('reader', ['ledger:read']);
  const ops = make('ops', ['ops']);
  const all = make('all', ['ledger:write', 'ledger:read', 'ops']);
  const app = await createLedgerApiApp({
    store,
    pool,
    apiKeys: [writer.record, reader.record, ops.record, all.record],
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    logLevel: 'silent',
    ...overrides,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    store,
    pool,
    app,
    keys: { writer: writer.key, reader: reader.key, ops: ops.key, all: all.key },
    close: async () => {
      await app.close();
      await pool.end();
      await store.close();
      await database.drop();
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; details: Record<string, unknown> } };
  headers: Headers;
}

export async function post(
  baseUrl: string,
  path: string,
  body: unknown,
  options: { key?: string; idempotencyKey?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.idempotencyKey !== null) headers['idempotency-key'] = options.idempotencyKey ?? randomUUID();
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: options.raw ?? JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

export const destination = {
  type: 'bank_account',
  accountNumber: 'DE89370400440532013000',
  bankCode: 'COBADEFFXXX',
  holderName: 'Ada Lovelace',
};

/** Opens an account and funds it; returns the account id. */
export async function fundedAccount(harness: Harness, amount: string, currency = 'EUR'): Promise<string> {
  const accountId = `acc-${randomUUID()}`;
  const opened = await post(harness.baseUrl, '/v1/accounts', { accountId, ownerId: 'owner-1', currency }, { key: harness.keys.writer });
  if (opened.status !== 201) throw new Error(`open failed: ${JSON.stringify(opened.body)}`);
  if (amount !== '0') {
    const deposited = await post(
      harness.baseUrl,
      `/v1/accounts/${accountId}/deposits`,
      { amount, currency, reference: 'initial funding' },
      { key: harness.keys.writer },
    );
    if (deposited.status !== 201) throw new Error(`deposit failed: ${JSON.stringify(deposited.body)}`);
  }
  return accountId;
}
