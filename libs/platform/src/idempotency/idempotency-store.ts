import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
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
  started: boolean;
  state: 'in_flight' | 'completed';
  same_fingerprint: boolean;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: unknown;
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

const BEGIN_SQL = `
insert into ${IDEMPOTENCY_TABLE} as k
  (scope, key, fingerprint, state, lease_token, lease_expires_at, created_at, expires_at)
values
  ($1, $2, $3, 'in_flight', $4::uuid, now() + $5::bigint * interval '1 millisecond', now(),
   now() + $6::bigint * interval '1 millisecond')
on conflict (scope, key) do update set
  ${TAKEN_COLUMNS.map((column) => `${column} = case when ${TAKE_OVER} then excluded.${column} else k.${column} end`).join(',\n  ')}
returning
  k.lease_token = $4::uuid as started,
  k.state,
  k.fingerprint = $3 as same_fingerprint,
  k.response_status,
  k.response_headers,
  k.response_body`;

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

  /** Claims the key for this request, or says why not. One statement, one round trip. */
  async begin(scope: string, key: string, fingerprint: string, leaseMs: number): Promise<BeginOutcome> {
    if (!Number.isSafeInteger(leaseMs) || leaseMs <= 0) throw new RangeError('leaseMs must be a positive integer');
    const lease = randomUUID();
    const { rows } = await this.pool.query<BeginRow>(BEGIN_SQL, [scope, key, fingerprint, lease, leaseMs, this.ttlMs]);
    const row = rows[0];
    if (!row) throw new Error('idempotency begin returned no row');
    if (row.started) return { kind: 'started', lease };
    if (!row.same_fingerprint) return { kind: 'reused' };
    if (row.state === 'in_flight') return { kind: 'in_use' };
    return {
      kind: 'replay',
      status: row.response_status!,
      body: row.response_body ?? undefined,
      headers: row.response_headers ?? {},
    };
  }

  /**
   * Stores the response of a started request, so retries replay it, and restarts the key's
   * time to live. With `lease`, only that attempt's row is completed: an attempt that was
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
    const { rowCount } = await this.pool.query(
      `update ${IDEMPOTENCY_TABLE}
          set state = 'completed', lease_token = null, lease_expires_at = null,
              response_status = $3, response_headers = $4::jsonb, response_body = $5::json,
              expires_at = now() + $6::bigint * interval '1 millisecond'
        where scope = $1 and key = $2 and state = 'in_flight' and ($7::uuid is null or lease_token = $7::uuid)`,
      // Serialised here: node-pg would turn a top-level array into a PostgreSQL array.
      [scope, key, status, JSON.stringify(headers), body === undefined ? null : JSON.stringify(body), this.ttlMs, lease ?? null],
    );
    return rowCount === 1;
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
