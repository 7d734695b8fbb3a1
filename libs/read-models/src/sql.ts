import type { PoolClient, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';

export interface SqlResult<Row> {
  rows: Row[];
  /** Rows inserted, updated or deleted; for a SELECT, rows returned. */
  rowCount: number;
}

/** One PostgreSQL session. Projections see only this, so they do not depend on TypeORM. */
export interface SqlSession {
  query<Row extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlResult<Row>>;
}

type PoolRelease = (error?: Error | boolean) => void;

interface PostgresDriverLike {
  obtainMasterConnection(): Promise<[PoolClient, PoolRelease]>;
}

/**
 * A connection of the DataSource's pool kept for one holder: a projector keeps one for as
 * long as it leads, holding the advisory lock and running every batch transaction on it, so
 * the lock and the writes live and die together. It talks to node-postgres directly, below
 * TypeORM, for two reasons: a connection that still holds session locks must be destroyed,
 * never handed back to the pool (`release(true)`), and a connection the server drops while
 * it is idle must not crash the process (the 'error' listener below; a checked-out pg
 * client has none of its own).
 */
export class DedicatedSession implements SqlSession {
  private broken: Error | undefined;
  private released = false;
  private readonly onError = (error: Error) => {
    this.broken ??= error;
  };

  private constructor(
    private readonly client: PoolClient,
    private readonly giveBack: PoolRelease,
  ) {
    client.on('error', this.onError);
  }

  static async open(dataSource: DataSource): Promise<DedicatedSession> {
    const driver = dataSource.driver as unknown as PostgresDriverLike;
    const [client, release] = await driver.obtainMasterConnection();
    return new DedicatedSession(client, release);
  }

  async query<Row extends object = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    if (this.broken) throw this.broken;
    if (this.released) throw new Error('the session was released');
    const answer: QueryResult<Row> | QueryResult<Row>[] = await this.client.query<Row>(sql, params as unknown[]);
    // Several statements in one text answer with one result each; the last one is the answer.
    const result = Array.isArray(answer) ? answer[answer.length - 1]! : answer;
    return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
  }

  /** False once the server or the network dropped the connection. */
  get alive(): boolean {
    return this.broken === undefined && !this.released;
  }

  /** The server process id of this session, for diagnostics and for tests that kill it. */
  async backendPid(): Promise<number> {
    const { rows } = await this.query<{ pid: number }>('select pg_backend_pid() as pid');
    return rows[0]!.pid;
  }

  /**
   * Gives the connection back. `destroy` closes it instead: required when it may still
   * hold session-level advisory locks, which would otherwise travel with it to the next
   * borrower. A broken connection is always destroyed.
   */
  release(destroy = false): void {
    if (this.released) return;
    this.released = true;
    this.client.removeListener('error', this.onError);
    // A late error on a connection being closed is expected; it must not reach the process.
    this.client.on('error', () => undefined);
    this.giveBack(destroy || this.broken !== undefined ? (this.broken ?? true) : undefined);
  }
}

/**
 * Runs `work` in one transaction on the session: COMMIT when it resolves, ROLLBACK when it
 * throws (the error is rethrown; a failed ROLLBACK on a dead connection is not what the
 * caller needs to hear about).
 */
export async function inTransaction<T>(session: SqlSession, work: () => Promise<T>): Promise<T> {
  await session.query('begin');
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await session.query('rollback').catch(() => undefined);
    throw error;
  }
  await session.query('commit');
  return result;
}
