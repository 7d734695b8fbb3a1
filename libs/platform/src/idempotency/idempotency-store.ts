import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { MicroBatcher } from '../micro-batcher';
import { IDEMPOTENCY_TABLE } from './schema';

/** Headers kept with a stored response, names in lower case. */
export type StoredHeaders = Readonly<Record<string, string>>;

/** What `begin` found, and so what the caller must do. */
export type BeginOutcome =
  /** The caller holds the key and must run the request, then `complete` or `abandon` it. */
  | { kind: 'started'; lease: string }
  /** The same request already ran: answer with this. */
  | { kind: 'replay'; status: number; body: unknown; headers: StoredHeaders }
  /** The same request is running elsewhere and its lease has not run out. */
  | { kind: 'in_use' }
  /** The key was used for a different request (in flight or completed). */
  | { kind: 'reused' };

export interface IdempotencyStoreOptions {
  /** How long a key is remembered after it was begun or completed. Default 8 days. */
  ttlMs?: number;
}

const HOUR_MS = 3_600_000;
/** Keys are kept at least 7 days (callbacks are retried for 3); 8 leaves a day's margin. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 192 * HOUR_MS;
const PURGE_BATCH_SIZE = 1_000;

interface BeginRow {
  scope: string;
  key: string;
  lease_token: string | null;
  state: 'in_flight' | 'completed';
  fingerprint: string;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: unknown;
}

interface BeginItem {
  scope: string;
  key: string;
  fingerprint: string;
  lease: string;
  leaseMs: number;
}

interface CompleteItem {
  scope: string;
  key: string;
  status: number;
  headers: string;
  body: string | null;
  lease: string | null;
}

// True when the existing row may be taken by this request: the key expired (it counts as
// new, whatever it held), or the lease of the same request's attempt ran out (the process
// that ran it most likely crashed). Evaluated against the row as locked by ON CONFLICT, so of
// several concurrent takers exactly one sees it true: the others wait for its row lock and
// then see its fresh lease.
const TAKE_OVER = `(k.expires_at <= now()
  or (k.state = 'in_flight' and k.fingerprint = excluded.fingerprint and k.lease_expires_at <= now()))`;

// Each column either takes the new attempt's value or keeps its own. The update therefore
// always happens, which lets RETURNING report the row in one round trip whatever the outcome;
// a plain DO NOTHING would need a second query to learn why nothing was inserted.
const TAKEN_COLUMNS = [
  'fingerprint',
  'state',
  'lease_token',
  'lease_expires_at',
  'response_status',
  'response_headers',
  'response_body',
  'created_at',
  'expires_at',
] as const;

// One statement for a whole batch of begins: concurrent requests share a round trip and a
// commit (MicroBatcher keeps two requests for one key out of one batch, which a multi-row
// upsert could not take). `excluded` is each row's own proposal.
const BEGIN_SQL = `
insert into ${IDEMPOTENCY_TABLE} as k
  (scope, key, fingerprint, state, lease_token, lease_expires_at, created_at, expires_at)
select v.scope, v.key, v.fingerprint, 'in_flight', v.lease, now() + v.lease_ms * interval '1 millisecond', now(),
       now() + $6::bigint * interval '1 millisecond'
  from unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::bigint[]) as v(scope, key, fingerprint, lease, lease_ms)
on conflict (scope, key) do update set
  ${TAKEN_COLUMNS.map((column) => `${column} = case when ${TAKE_OVER} then excluded.${column} else k.${column} end`).join(',\n  ')}
returning k.scope, k.key, k.lease_token, k.state, k.fingerprint, k.response_status, k.response_headers, k.response_body`;

// Touches no indexed column (the key, `expires_at`), so with the table's free space
// (migration 2) PostgreSQL can update the row in place (a HOT update): no index entries, less
// WAL. The time to live therefore runs from `begin`; 8 days from the first request still
// outlives the 7 days a key must be kept after its answer, which comes within a lease.
const COMPLETE_SQL = `
update ${IDEMPOTENCY_TABLE} as k
   set state = 'completed', lease_token = null, lease_expires_at = null,
       response_status = v.status, response_headers = v.headers::jsonb, response_body = v.body::json
  from unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::uuid[]) as v(scope, key, status, headers, body, lease)
 where k.scope = v.scope and k.key = v.key and k.state = 'in_flight' and (v.lease is null or k.lease_token = v.lease)
returning k.scope, k.key`;

const rowKey = (scope: string, key: string): string => `${scope}\u0000${key}`;

/** Concurrent begins (or completes) share a statement; see MicroBatcher. */
const BATCHING = { maxBatchSize: 128, maxInFlight: 2, keyOf: (item: { scope: string; key: string }) => rowKey(item.scope, item.key) };

/**
 * Idempotency keys in PostgreSQL (`platform.idempotency_keys`, see schema.ts).
 *
 * Rules, for one (scope, key):
 * - new, or past its expiry → `started` (the caller runs the request);
 * - other fingerprint, in flight or completed → `reused`;
 * - same fingerprint, completed → `replay` of the stored response;
 * - same fingerprint, in flight, lease running → `in_use`;
 * - same fingerprint, in flight, lease run out → taken over: `started` for exactly one of
 *   any number of concurrent callers (`in_use` for the others).
 *
 * Times come from the database clock, one clock for every API instance, so skew between
 * hosts cannot shorten a lease.
 */
export class IdempotencyStore {
  readonly ttlMs: number;

  constructor(
    private readonly pool: Pool,
    options: IdempotencyStoreOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    if (!Number.isSafeInteger(this.ttlMs) || this.ttlMs <= 0) throw new RangeError('ttlMs must be a positive integer');
  }

  private readonly begins = new MicroBatcher<BeginItem, BeginRow>(async (items) => {
    const { rows } = await this.pool.query<BeginRow>(BEGIN_SQL, [
      items.map((item) => item.scope),
      items.map((item) => item.key),
      items.map((item) => item.fingerprint),
      items.map((item) => item.lease),
      items.map((item) => item.leaseMs),
      this.ttlMs,
    ]);
    const byKey = new Map(rows.map((row) => [rowKey(row.scope, row.key), row]));
    return items.map((item) => {
      const row = byKey.get(rowKey(item.scope, item.key));
      if (!row) throw new Error('idempotency begin returned no row');
      return row;
    });
  }, BATCHING);

  private readonly completes = new MicroBatcher<CompleteItem, boolean>(async (items) => {
    const { rows } = await this.pool.query<{ scope: string; key: string }>(COMPLETE_SQL, [
      items.map((item) => item.scope),
      items.map((item) => item.key),
      items.map((item) => item.status),
      items.map((item) => item.headers),
      items.map((item) => item.body),
      items.map((item) => item.lease),
    ]);
    const done = new Set(rows.map((row) => rowKey(row.scope, row.key)));
    return items.map((item) => done.has(rowKey(item.scope, item.key)));
  }, BATCHING);

  /** Claims the key for this request, or says why not. One statement, shared with concurrent begins. */
  async begin(scope: string, key: string, fingerprint: string, leaseMs: number): Promise<BeginOutcome> {
    if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError('leaseMs must be a positive integer');
    const lease = randomUUID();
    const row = await this.begins.submit({ scope, key, fingerprint, lease, leaseMs });
    if (row.lease_token === lease) return { kind: 'started', lease };
    if (row.fingerprint !== fingerprint) return { kind: 'reused' };
    if (row.state === 'in_flight') return { kind: 'in_use' };
    return {
      kind: 'replay',
      status: row.response_status!,
      body: row.response_body ?? undefined,
      headers: row.response_headers ?? {},
    };
  }

  /**
   * Stores the response of a started request, so retries replay it; the key's time to live
   * still runs from `begin` (see COMPLETE_SQL). With `lease`, only that attempt's row is completed: an attempt that was
   * taken over after its lease ran out leaves its successor alone. Returns whether a row
   * was completed.
   */
  async complete(
    scope: string,
    key: string,
    status: number,
    body: unknown,
    headers: StoredHeaders = {},
    lease?: string,
  ): Promise<boolean> {
    return this.completes.submit({
      scope,
      key,
      status,
      headers: JSON.stringify(headers),
      body: body === undefined ? null : JSON.stringify(body),
      lease: lease ?? null,
    });
  }

  /**
   * Forgets a started request that failed in a way worth retrying (5xx, an unexpected
   * exception), so the client's retry runs at once instead of waiting out the lease. With
   * `lease`, only that attempt's row goes. Returns whether a row was deleted.
   */
  async abandon(scope: string, key: string, lease?: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `delete from ${IDEMPOTENCY_TABLE}
        where scope = $1 and key = $2 and state = 'in_flight' and ($3::uuid is null or lease_token = $3::uuid)`,
      [scope, key, lease ?? null],
    );
    return rowCount === 1;
  }

  /**
   * Deletes keys whose time to live ended at or before `now`, in batches so that one purge
   * never holds many row locks or writes one huge transaction. Rows a concurrent `begin` is
   * taking over are skipped, not waited for. Returns how many rows were deleted.
   */
  async purgeExpired(now: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const { rowCount } = await this.pool.query(
        `with doomed as (
           select scope, key from ${IDEMPOTENCY_TABLE}
            where expires_at <= $1
            limit $2
            for update skip locked
         )
         delete from ${IDEMPOTENCY_TABLE} k
          using doomed
          where k.scope = doomed.scope and k.key = doomed.key and k.expires_at <= $1`,
        [now, PURGE_BATCH_SIZE],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < PURGE_BATCH_SIZE) return total;
    }
  }
}
