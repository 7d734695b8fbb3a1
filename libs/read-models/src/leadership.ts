import type { DataSource } from 'typeorm';
import { DedicatedSession } from './sql';

// Advisory-lock namespace of projection leadership (first key of the two-key form); the
// second key is a hash of the projection's name.
export const PROJECTION_LOCK_NAMESPACE = 7_340_042;

/**
 * The advisory-lock key pair of a projection: a 32-bit FNV-1a hash of its name, as the
 * signed int PostgreSQL's two-key form takes. Computed here, not with `hashtext`, so the key
 * does not depend on a PostgreSQL version's internal hash.
 */
export function projectionLockKey(projection: string): readonly [number, number] {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(projection, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return [PROJECTION_LOCK_NAMESPACE, hash | 0];
}

/**
 * The right to write some projections: one session holding `pg_try_advisory_lock` for each
 * of them. The lock belongs to the session, so when the process dies, or its connection is
 * cut, PostgreSQL releases it and a standby's next try succeeds.
 */
export class Leadership {
  private constructor(
    readonly session: DedicatedSession,
    readonly projections: readonly string[],
  ) {}

  /**
   * Takes the locks of all the given projections, or none: a group is only ever written by
   * one instance, and trying in a fixed (sorted) order means two instances with overlapping
   * groups never each hold half. Returns null when another session holds any of them.
   */
  static async tryAcquire(dataSource: DataSource, projections: readonly string[]): Promise<Leadership | null> {
    const session = await DedicatedSession.open(dataSource);
    try {
      const names = [...projections].sort();
      for (const [index, name] of names.entries()) {
        const { rows } = await session.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [
          ...projectionLockKey(name),
        ]);
        if (!rows[0]!.locked) {
          // Give back the ones already taken before anyone else can see this session idle.
          if (index > 0) await session.query('select pg_advisory_unlock_all()');
          session.release(index > 0);
          return null;
        }
      }
      // PostgreSQL frees the locks only when it notices the session is gone. A crashed
      // process closes its socket at once, but a host or network that dies says nothing, and
      // the server's default keepalive waits two hours; these make it notice in about 25 s.
      await session.query(
        `select set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
                set_config('tcp_keepalives_count', '3', false)`,
      );
      return new Leadership(session, names);
    } catch (error) {
      session.release(true);
      throw error;
    }
  }

  get alive(): boolean {
    return this.session.alive;
  }

  /**
   * Gives up the locks: unlocks them explicitly (so a standby can take over as soon as this
   * resolves), then closes the session, so nothing it held can travel on with a pooled
   * connection. On a dead session the server has already dropped them.
   */
  async release(): Promise<void> {
    if (this.session.alive) await this.session.query('select pg_advisory_unlock_all()').catch(() => undefined);
    this.session.release(true);
  }
}
