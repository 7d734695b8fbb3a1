/**
 * The idempotency-key table, as ordered migrations. Each runs once, in a transaction, under
 * an advisory lock (see migrate.ts), so several processes starting at once do not race.
 */
export interface IdempotencyMigration {
  version: number;
  name: string;
  sql: string;
}

export const IDEMPOTENCY_SCHEMA = 'platform';
export const IDEMPOTENCY_TABLE = `${IDEMPOTENCY_SCHEMA}.idempotency_keys`;
/** Our own bookkeeping table, so other platform features can keep theirs in the same schema. */
export const IDEMPOTENCY_MIGRATIONS_TABLE = `${IDEMPOTENCY_SCHEMA}.idempotency_migrations`;

export const IDEMPOTENCY_MIGRATIONS: readonly IdempotencyMigration[] = [
  {
    version: 1,
    name: 'idempotency keys',
    sql: `
create table platform.idempotency_keys (
  -- The API key id the Idempotency-Key belongs to: two clients may pick the same key.
  scope text not null,
  key text not null,
  -- sha256 hex of method, path and canonical body; tells a retry from a different request.
  fingerprint text not null check (fingerprint ~ '^[0-9a-f]{64}$'),
  state text not null check (state in ('in_flight', 'completed')),
  -- Names the attempt that holds the key, so a process whose lease was taken over cannot
  -- complete or abandon its successor's attempt.
  lease_token uuid,
  lease_expires_at timestamptz,
  response_status int check (response_status between 100 and 599),
  response_headers jsonb,
  -- json, not jsonb: jsonb reorders object keys, and a replay must be byte-for-byte the
  -- answer the client would have received the first time.
  response_body json,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (scope, key),
  check (state <> 'in_flight' or (lease_token is not null and lease_expires_at is not null and response_status is null)),
  check (state <> 'completed' or response_status is not null)
);

-- The purge deletes by expiry; without this index it would scan the whole table hourly.
create index idempotency_keys_expires_at on platform.idempotency_keys (expires_at);
`,
  },
  {
    version: 2,
    name: 'room for in-place completion',
    sql: `
-- Completing a key rewrites its row without touching an indexed column; with free space on
-- the page PostgreSQL keeps the new version there (a HOT update) and writes no index entry.
-- Applies to pages written from now on.
alter table platform.idempotency_keys set (fillfactor = 70);
`,
  },
];
