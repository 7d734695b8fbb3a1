import { DedicatedSession, inTransaction } from '@ledger/read-models';
import type { DataSource } from 'typeorm';

/**
 * The payout process manager's own tables, schema `payouts`. They are the process
 * manager's working memory, not a read model: every row can be rebuilt by replaying the log
 * from position 0 (docs/payouts.md), so they are not part of the read-model rebuild and
 * have their own migrations and migrations table.
 */
export const PAYOUTS_SCHEMA = 'payouts';
export const PAYOUTS_MIGRATIONS_TABLE = `${PAYOUTS_SCHEMA}.migrations`;

// Single-key advisory lock naming "payout migrations"; the event store, idempotency keys
// and read models use 7_340_021, 7_340_031 and the (7_340_041, _) pair.
const MIGRATION_LOCK_KEY = 7_340_051;

export interface PayoutsMigration {
  version: number;
  name: string;
  sql: string;
}

export const PAYOUTS_MIGRATIONS: readonly PayoutsMigration[] = [
  {
    version: 1,
    name: 'payout process manager state',
    sql: `
-- What routing needs about a withdrawal for every attempt, copied from WithdrawalRequested
-- when its hold (Debited) is seen, so a later attempt need not scan the account stream.
create table payouts.withdrawals (
  withdrawal_id text primary key,
  account_id text not null,
  -- Minor units of currency.
  amount bigint not null check (amount > 0),
  currency text not null,
  destination jsonb not null,
  -- The channel the client asked for, or null to let routing choose.
  channel_preferred text,
  debited_event_id uuid not null,
  created_at timestamptz not null default now()
);

-- One row per payout attempt the process manager started: the timers of status polling.
create table payouts.attempts (
  withdrawal_id text not null,
  attempt int not null check (attempt >= 1),
  channel text not null,
  idempotency_key text not null,
  -- The attempt's PayoutInitiated event: the seed of every command about the attempt.
  initiated_event_id uuid not null,
  -- submitting: a submit began and has not answered; pending: the provider holds the
  -- payout; unknown: nobody knows whether it does; resolved: nothing left to learn.
  status text not null check (status in ('submitting', 'pending', 'unknown', 'resolved')),
  -- The last submit of this attempt began here: a status query's not_found is proof of
  -- "not paid" only after submit_deadline_at (this plus the channel's timeout).
  submit_started_at timestamptz not null,
  submit_deadline_at timestamptz not null,
  -- When the outcome first became unknown; the give-up time counts from here.
  unknown_since timestamptz,
  next_check_at timestamptz,
  checks int not null default 0,
  last_check_result text,
  resolution text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (withdrawal_id, attempt),
  check (status not in ('pending', 'unknown') or next_check_at is not null)
);

-- The timer scan: due attempts that still wait for an answer.
create index attempts_due on payouts.attempts (next_check_at) where status in ('pending', 'unknown');

-- What a person must look at and could not be sent to manual review: a conflicting
-- callback for a withdrawal whose status has no way into review, a money command the
-- account refused, an event that could not be processed. Keyed by the causing event, so a
-- replay records each finding once.
create table payouts.conflicts (
  conflict_id text primary key,
  withdrawal_id text,
  kind text not null,
  code text not null,
  cause_event_id uuid,
  cause_position bigint,
  detail jsonb not null,
  recorded_at timestamptz not null default now()
);

create index conflicts_withdrawal on payouts.conflicts (withdrawal_id);
`,
  },
];

/**
 * Brings schema `payouts` up to date. Safe to call from many processes at once: an
 * advisory lock lets one migrate while the others wait, then find nothing to do.
 */
export async function migratePayouts(dataSource: DataSource): Promise<void> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const session = await DedicatedSession.open(dataSource);
  let healthy = false;
  try {
    await session.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await session.query(`create schema if not exists ${PAYOUTS_SCHEMA}`);
      await session.query(`
        create table if not exists ${PAYOUTS_MIGRATIONS_TABLE} (
          version int primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )`);
      const { rows } = await session.query<{ version: number }>(`select version from ${PAYOUTS_MIGRATIONS_TABLE}`);
      const applied = new Set(rows.map((row) => row.version));
      for (const migration of PAYOUTS_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await inTransaction(session, async () => {
          await session.query(migration.sql);
          await session.query(`insert into ${PAYOUTS_MIGRATIONS_TABLE} (version, name) values ($1, $2)`, [
            migration.version,
            migration.name,
          ]);
        });
      }
    } finally {
      await session.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
    healthy = true;
  } finally {
    // A session that failed mid-way may still hold the lock: close it rather than pool it.
    session.release(!healthy);
  }
}
