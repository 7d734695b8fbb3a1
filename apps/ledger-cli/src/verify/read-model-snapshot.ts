import type { Pool, PoolClient } from 'pg';
import { CHECKPOINTS_TABLE, qualified } from '@ledger/read-models';
import { columnSql, type RowValues, type TableSpec } from './rows';

/**
 * The read models as of one instant: a REPEATABLE READ, READ ONLY transaction on one
 * connection, so the checkpoints and every table are read from the same snapshot. A
 * projector committing meanwhile changes nothing verify sees; each projection's tables are
 * exactly what its checkpoint says they contain, because the projector commits rows and
 * checkpoint in one transaction (P1).
 *
 * Tables are read through server-side cursors, a page at a time, so no table is ever held
 * in memory whole. The cursors share the transaction and are read alternately.
 *
 * Holding a snapshot has two costs, both bounded by the run: VACUUM cannot remove rows
 * deleted after it began, and the ACCESS SHARE locks it holds make a rebuild's swap wait
 * (docs/operations.md: do not verify during a rebuild).
 */
export class ReadModelSnapshot {
  private cursors = 0;

  private constructor(private readonly client: PoolClient) {}

  static async open(pool: Pool): Promise<ReadModelSnapshot> {
    const client = await pool.connect();
    try {
      await client.query('begin transaction isolation level repeatable read, read only');
      // The first statement fixes the snapshot; the checkpoints are read right after.
      await client.query('select 1');
    } catch (error) {
      client.release(true);
      throw error;
    }
    return new ReadModelSnapshot(client);
  }

  async tableExists(table: string): Promise<boolean> {
    const { rows } = await this.client.query<{ present: boolean }>('select to_regclass($1) is not null as present', [qualified(table)]);
    return rows[0]!.present;
  }

  /** Every checkpoint row, live (`balances`) and rebuild (`balances__rebuild`); empty when the table is missing. */
  async checkpoints(): Promise<Map<string, bigint>> {
    if (!(await this.tableExists('projection_checkpoints'))) return new Map();
    const { rows } = await this.client.query<{ projection: string; position: string }>(
      `select projection, position::text as position from ${CHECKPOINTS_TABLE}`,
    );
    return new Map(rows.map((row) => [row.projection, BigInt(row.position)]));
  }

  /** A cursor over a table in its verify text form, ordered by the position column when it has one. */
  cursor(spec: TableSpec, pageSize = 5_000): RowCursor {
    const columns = [...spec.key, ...spec.columns].map((column) => `${columnSql(column)} as "${column.name}"`);
    // Ordered by the table's own column: the output column of the same name is its text form,
    // which would sort "10" before "9".
    const order = spec.positionColumn === undefined ? '' : ` order by t."${spec.positionColumn}"`;
    this.cursors += 1;
    return new RowCursor(this.client, `verify_${this.cursors}`, `select ${columns.join(', ')} from ${qualified(spec.table)} t${order}`, pageSize);
  }

  async close(): Promise<void> {
    try {
      await this.client.query('rollback');
      this.client.release();
    } catch {
      this.client.release(true);
    }
  }
}

/** A server-side cursor read a page at a time. */
export class RowCursor {
  private buffer: RowValues[] = [];
  private index = 0;
  private declared = false;
  private exhausted = false;

  constructor(
    private readonly client: PoolClient,
    private readonly name: string,
    private readonly sql: string,
    private readonly pageSize: number,
  ) {}

  async peek(): Promise<RowValues | undefined> {
    if (this.index >= this.buffer.length && !this.exhausted) await this.fill();
    return this.buffer[this.index];
  }

  async next(): Promise<RowValues | undefined> {
    const row = await this.peek();
    if (row !== undefined) this.index += 1;
    return row;
  }

  private async fill(): Promise<void> {
    if (!this.declared) {
      await this.client.query(`declare ${this.name} no scroll cursor for ${this.sql}`);
      this.declared = true;
    }
    const { rows } = await this.client.query<RowValues>(`fetch forward ${this.pageSize} from ${this.name}`);
    this.buffer = rows;
    this.index = 0;
    if (rows.length < this.pageSize) this.exhausted = true;
  }
}
