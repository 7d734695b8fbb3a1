import type { Pool } from 'pg';
import { READ_MODELS_SCHEMA } from './sql';

/** Where a projection stands: the last global position its read model reflects. */
export interface Checkpoint {
  projection: string;
  position: bigint;
  updatedAt: Date;
}

/** Reads `projection_checkpoints`, which each projector writes in the transaction of its batch. */
export class CheckpointReader {
  constructor(private readonly pool: Pool) {}

  async read(projections: readonly string[]): Promise<Map<string, Checkpoint>> {
    const { rows } = await this.pool.query<{ projection: string; position: string; updated_at: Date }>(
      `select projection, position::text as position, updated_at
         from ${READ_MODELS_SCHEMA}.projection_checkpoints
        where projection = any($1::text[])`,
      [projections],
    );
    return new Map(rows.map((row) => [row.projection, { projection: row.projection, position: BigInt(row.position), updatedAt: row.updated_at }]));
  }
}

/** How far one projection is behind the event store's head. */
export interface ProjectionLag {
  projection: string;
  /** Null when the projection has never written a checkpoint. */
  position: bigint | null;
  updatedAt: Date | null;
  /** Events between the checkpoint and the head; null when the head is unknown. */
  lagEvents: bigint | null;
  /**
   * Seconds since the checkpoint last moved while events wait behind it; 0 when caught up,
   * null when the head is unknown. A projection that keeps up with a steady backlog scores
   * low here and high in lagEvents: the two together tell stuck from slow. Null as well
   * for a projection that is behind and has never written a checkpoint.
   */
  lagSeconds: number | null;
}

/**
 * The lag of every projection against `head` (the event store's last position, -1 when it
 * is empty). A projection without a checkpoint has projected nothing: its lag is the head.
 */
export function lagOf(projections: readonly string[], checkpoints: ReadonlyMap<string, Checkpoint>, head: bigint | undefined, nowMs: number): ProjectionLag[] {
  return projections.map((projection) => {
    const checkpoint = checkpoints.get(projection);
    const position = checkpoint?.position ?? null;
    const updatedAt = checkpoint?.updatedAt ?? null;
    if (head === undefined) return { projection, position, updatedAt, lagEvents: null, lagSeconds: null };
    const behind = head - (position ?? 0n);
    const lagEvents = behind > 0n ? behind : 0n;
    let lagSeconds: number | null = 0;
    if (lagEvents > 0n) lagSeconds = updatedAt === null ? null : Math.max(0, (nowMs - updatedAt.getTime()) / 1_000);
    return { projection, position, updatedAt, lagEvents, lagSeconds };
  });
}
