import type { Pool } from 'pg';
import { IDEMPOTENCY_MIGRATIONS, IDEMPOTENCY_MIGRATIONS_TABLE, IDEMPOTENCY_SCHEMA } from './schema';

// An arbitrary constant that names "idempotency-key migrations" among advisory locks; it
// differs from the event store's (7_340_021) so the two can migrate side by side.
const MIGRATION_LOCK_KEY = 7_340_031;

/**
 * Brings `platform.idempotency_keys` up to date. Safe to call from many processes at once:
 * an advisory lock lets one migrate while the others wait, then find nothing to do.
 */
export async function migrateIdempotency(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`create schema if not exists ${IDEMPOTENCY_SCHEMA}`);
      await client.query(`
        create table if not exists ${IDEMPOTENCY_MIGRATIONS_TABLE} (
          version int primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )`);
      const { rows } = await client.query<{ version: number }>(`select version from ${IDEMPOTENCY_MIGRATIONS_TABLE}`);
      const applied = new Set(rows.map((row) => row.version));
      for (const migration of IDEMPOTENCY_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query('begin');
        try {
          await client.query(migration.sql);
          await client.query(`insert into ${IDEMPOTENCY_MIGRATIONS_TABLE} (version, name) values ($1, $2)`, [
            migration.version,
            migration.name,
          ]);
          await client.query('commit');
        } catch (error) {
          await client.query('rollback');
          throw error;
        }
      }
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
