import type { INestApplication } from '@nestjs/common';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { createApiKeyRecord, type Scope } from '@ledger/platform';
import { createReadModelsDataSource, migrateReadModels } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { createReadApiApp, type ReadApiAppOptions } from '../read-api.app';

export const PROJECTIONS = ['balances', 'journal', 'withdrawals', 'reconciliation'] as const;

export interface ReadHarness {
  baseUrl: string;
  database: TestDatabase;
  /** The read models' database, for seeding rows the way a projector would. */
  pool: Pool;
  keys: Record<'reader' | 'writer' | 'ops' | 'all', string>;
  app: INestApplication;
  registry: Registry;
  /** The event store head the app sees; tests move it to make projections lag. */
  head: { position: bigint; fail: boolean };
  close(): Promise<void>;
}

/** The read-model schema as the projector creates it: the library's own migrations. */
export async function migrate(url: string): Promise<void> {
  const dataSource = createReadModelsDataSource(url, { poolSize: 1, applicationName: 'read-api-test' });
  try {
    await migrateReadModels(dataSource);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}

/** The real read API over real HTTP on a fresh database of its own, with the read models migrated. */
export async function startReadApi(overrides: Partial<ReadApiAppOptions> = {}): Promise<ReadHarness> {
  const database = await createTestDatabase('read_api');
  await migrate(database.url);
  const pool = new Pool({ connectionString: database.url, max: 20 });
  // An idle client cut by the server must not crash the run; the next query reconnects.
  pool.on('error', () => undefined);
  const make = (id: string, scopes: Scope[]) => createApiKeyRecord(id, scopes);
  const reader = make('reader', ['ledger:read']);
  const writer = make('writer', ['ledger:write']);
  const ops = make('ops', ['ops']);
  const all = make('all', ['ledger:write', 'ledger:read', 'ops']);
  const head = { position: -1n, fail: false };
  const registry = new Registry();
  const app = await createReadApiApp({
    pool,
    apiKeys: [reader.record, writer.record, ops.record, all.record],
    rateLimit: { perSecond: 100_000, burst: 100_000 },
    logLevel: 'silent',
    headPosition: async () => {
      if (head.fail) throw new Error('event store down');
      return head.position;
    },
    metricsRegistry: registry,
    ...overrides,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    database,
    pool,
    app,
    registry,
    head,
    keys: { reader: reader.key, writer: writer.key, ops: ops.key, all: all.key },
    close: async () => {
      await app.close();
      await pool.end();
      await database.drop();
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; details: Record<string, unknown> } };
  headers: Headers;
  text: string;
}

export async function get(harness: ReadHarness, path: string, key: string | null = harness.keys.reader): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${harness.baseUrl}${path}`, { headers });
  const text = await response.text();
  let body: Answer['body'] = {};
  if (text && (response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text) as Answer['body'];
  return { status: response.status, body, headers: response.headers, text };
}

/** The field names of a 400 validation_failed answer. */
export function failedFields(answer: Answer): string[] {
  return ((answer.body.error?.details.fields ?? []) as Array<{ field: string }>).map((f) => f.field);
}

export async function setCheckpoint(pool: Pool, projection: string, position: bigint | number, updatedAt = new Date()): Promise<void> {
  await pool.query(
    `insert into read_models.projection_checkpoints (projection, position, updated_at) values ($1, $2, $3)
     on conflict (projection) do update set position = excluded.position, updated_at = excluded.updated_at`,
    [projection, position.toString(), updatedAt],
  );
}

export async function setAllCheckpoints(pool: Pool, position: bigint | number, updatedAt = new Date()): Promise<void> {
  for (const projection of PROJECTIONS) await setCheckpoint(pool, projection, position, updatedAt);
}

export interface BalanceSeed {
  accountId: string;
  currency?: string;
  available?: string;
  pending?: string;
  position?: string;
}

export async function seedBalance(pool: Pool, seed: BalanceSeed): Promise<void> {
  await pool.query(
    `insert into read_models.account_balances (account_id, owner_id, currency, available, pending, frozen, opened_at, position, updated_at)
     values ($1, 'owner-1', $2, $3, $4, false, now(), $5, now())`,
    [seed.accountId, seed.currency ?? 'EUR', seed.available ?? '0', seed.pending ?? '0', seed.position ?? '1'],
  );
}

export interface EntrySeed {
  position: bigint | number;
  postingIndex: number;
  accountId: string | null;
  ledgerAccount: string;
  side: 'debit' | 'credit';
  amount: string;
  currency?: string;
  eventType?: string;
  recordedAt?: string;
}

export async function seedEntries(pool: Pool, entries: readonly EntrySeed[]): Promise<void> {
  for (const e of entries) {
    await pool.query(
      `insert into read_models.journal_entries
         (position, posting_index, stream_name, event_type, event_id, ledger_account, account_id, side, amount, currency, recorded_at)
       values ($1, $2, $3, $4, gen_random_uuid(), $5, $6, $7, $8, $9, $10)`,
      [
        e.position.toString(),
        e.postingIndex,
        e.accountId ? `account-${e.accountId}` : 'system',
        e.eventType ?? 'FundsDeposited',
        e.ledgerAccount,
        e.accountId,
        e.side,
        e.amount,
        e.currency ?? 'EUR',
        e.recordedAt ?? '2026-11-23T10:00:00.000Z',
      ],
    );
  }
}

export interface WithdrawalSeed {
  withdrawalId: string;
  accountId: string;
  amount?: string;
  status?: string;
  channel?: string | null;
  providerReference?: string | null;
  attempt?: number;
  requestedAt: string;
  position?: string;
}

export async function seedWithdrawal(pool: Pool, seed: WithdrawalSeed): Promise<void> {
  await pool.query(
    `insert into read_models.withdrawals
       (withdrawal_id, account_id, amount, currency, status, channel, provider_reference, attempt, requested_at, updated_at, position, statuses_visited)
     values ($1, $2, $3, 'EUR', $4, $5, $6, $7, $8, $8, $9, array[$4])`,
    [
      seed.withdrawalId,
      seed.accountId,
      seed.amount ?? '100',
      seed.status ?? 'requested',
      seed.channel ?? null,
      seed.providerReference ?? null,
      seed.attempt ?? 0,
      seed.requestedAt,
      seed.position ?? '1',
    ],
  );
}

export interface HistorySeed {
  withdrawalId: string;
  position: number;
  eventType: string;
  fromStatus: string | null;
  toStatus: string;
  applied: boolean;
  note?: string | null;
  recordedAt?: string;
}

export async function seedHistory(pool: Pool, entries: readonly HistorySeed[]): Promise<void> {
  for (const h of entries) {
    await pool.query(
      `insert into read_models.withdrawal_status_history
         (withdrawal_id, position, event_type, from_status, to_status, applied, note, recorded_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [h.withdrawalId, h.position, h.eventType, h.fromStatus, h.toStatus, h.applied, h.note ?? null, h.recordedAt ?? '2026-11-23T10:00:00.000Z'],
    );
  }
}

export interface ReviewSeed {
  withdrawalId: string;
  requestedAt: string;
  reason?: string;
  fromStatus?: string;
  resolvedAt?: string | null;
  decision?: string | null;
  resolvedBy?: string | null;
  position?: string;
}

export async function seedReview(pool: Pool, seed: ReviewSeed): Promise<void> {
  await pool.query(
    `insert into read_models.review_queue
       (withdrawal_id, reason, from_status, requested_at, requested_by, resolved_at, decision, resolved_by, resolution_reason, position)
     values ($1, $2, $3, $4, 'process-manager', $5, $6, $7, case when $5::timestamptz is null then null else 'checked with the bank' end, $8)`,
    [
      seed.withdrawalId,
      seed.reason ?? 'three payout attempts failed',
      seed.fromStatus ?? 'failed',
      seed.requestedAt,
      seed.resolvedAt ?? null,
      seed.decision ?? null,
      seed.resolvedBy ?? null,
      seed.position ?? '1',
    ],
  );
}

/** Follows nextCursor from the first page to the last; returns every page. */
export async function walk(harness: ReadHarness, path: string): Promise<Array<Record<string, unknown>>[]> {
  const pages: Array<Record<string, unknown>>[] = [];
  let cursor: string | null = null;
  const separator = path.includes('?') ? '&' : '?';
  for (let guard = 0; guard < 10_000; guard += 1) {
    const answer = await get(harness, cursor === null ? path : `${path}${separator}cursor=${encodeURIComponent(cursor)}`);
    if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.text}`);
    pages.push(answer.body.items as Array<Record<string, unknown>>);
    cursor = answer.body.nextCursor as string | null;
    if (cursor === null) return pages;
  }
  throw new Error('pagination did not end');
}
