import type { Pool } from 'pg';
import { EVENT_STORE_SCHEMA, MIGRATIONS } from './schema';

// An arbitrary constant that names "event store migrations" among advisory locks.
const MIGRATION_LOCK_KEY = 7_340_021;

/**
 * Brings the event store's schema up to date. Safe to call from many processes at once:
 * an advisory lock lets one migrate while the others wait, then find nothing to do.
 */
export async function migrateEventStore(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(`create schema if not exists ${EVENT_STORE_SCHEMA}`);
      await client.query(`
        create table if not exists ${EVENT_STORE_SCHEMA}.migrations (
          version int primary key,
          name text not null,
          applied_at timestamptz not null default now()
        )`);
      const { rows } = await client.query<{ version: number }>(
        `select version from ${EVENT_STORE_SCHEMA}.migrations`,
      );
      const applied = new Set(rows.map((row) => row.version));
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query('begin');
        try {
          await client.query(migration.sql);
          await client.query(`insert into ${EVENT_STORE_SCHEMA}.migrations (version, name) values ($1, $2)`, [
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
