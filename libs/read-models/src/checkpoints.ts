import { CheckpointConflict } from './errors';
import { CHECKPOINTS_TABLE } from './schema';
import type { SqlSession } from './sql';

/** Each projection's checkpoint; a projection without a row is at 0 (nothing applied). */
export async function readCheckpoints(session: SqlSession, projections: readonly string[]): Promise<Map<string, bigint>> {
  const { rows } = await session.query<{ projection: string; position: string }>(
    `select projection, position::text from ${CHECKPOINTS_TABLE} where projection = any($1::text[])`,
    [projections],
  );
  const found = new Map(rows.map((row) => [row.projection, BigInt(row.position)]));
  return new Map(projections.map((name) => [name, found.get(name) ?? 0n]));
}

/**
 * Moves a checkpoint from `expected` to `next`, or throws `CheckpointConflict` when it is
 * not at `expected` any more. The UPDATE's WHERE is the compare and its SET the swap, in
 * one statement: two writers that both expect the same position cannot both succeed, the
 * second waits on the row lock and then finds the position changed. The first run inserts
 * the row; a row already at 0 counts as "nothing applied" too.
 */
export async function compareAndSetCheckpoint(
  session: SqlSession,
  projection: string,
  expected: bigint,
  next: bigint,
): Promise<void> {
  const result =
    expected === 0n
      ? await session.query(
          `insert into ${CHECKPOINTS_TABLE} as c (projection, position, updated_at) values ($1, $2, now())
           on conflict (projection) do update set position = excluded.position, updated_at = excluded.updated_at
            where c.position = 0`,
          [projection, next.toString()],
        )
      : await session.query(
          `update ${CHECKPOINTS_TABLE} set position = $3, updated_at = now()
            where projection = $1 and position = $2`,
          [projection, expected.toString(), next.toString()],
        );
  if (result.rowCount !== 1) throw new CheckpointConflict(projection, expected, next);
}
