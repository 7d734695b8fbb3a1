import type { EventStore, RecordedEvent } from '@ledger/event-store';
import type { DataSource } from 'typeorm';
import { applyBatch, commitBatch, type TableSet } from './batch';
import { RebuildInProgress } from './errors';
import { Leadership } from './leadership';
import type { Projection } from './projection';
import { createProjections } from './projections';
import type { ProjectorLog } from './projector';
import { CHECKPOINTS_TABLE, qualified, READ_MODELS_SCHEMA, REBUILD_SUFFIX, rebuildCheckpointName, type ReadModelTable } from './schema';
import { inTransaction, type SqlSession } from './sql';

export interface RebuildOptions {
  store: EventStore;
  /** An initialised DataSource over a migrated read-model schema. */
  dataSource: DataSource;
  /** Events per read and per transaction while filling the shadow tables. */
  batchSize?: number;
  /** Aborting stops between batches; the shadow tables and their checkpoint stay, and the next rebuild resumes. */
  signal?: AbortSignal;
  onProgress?: (progress: RebuildProgress) => void;
  /** How long the swap waits for its locks before it backs off and tries again. */
  swapLockTimeoutMs?: number;
  swapAttempts?: number;
  log?: ProjectorLog;
}

export interface RebuildProgress {
  phase: 'fill' | 'index' | 'swap';
  /** The shadow tables' checkpoint. */
  position: bigint;
  /** Events applied by this call so far. */
  events: number;
}

export interface RebuildResult {
  projections: string[];
  /** The checkpoint the live projections have after the swap. */
  position: bigint;
  /** Events applied to the shadow tables by this call (a resumed rebuild counts only its own). */
  events: number;
  /** Where this call started: 0, or the shadow checkpoint of an interrupted rebuild it resumed. */
  resumedFrom: bigint;
  seconds: number;
  /** Milliseconds the swap transaction held the tables (readers wait this long, once). */
  swapMs: number;
}

/** The rebuild's tables: `<table>__rebuild`, progress under `<projection>__rebuild`. */
export const REBUILD_TABLES: TableSet = {
  tableName: (table) => `${table}${REBUILD_SUFFIX}`,
  checkpointName: (projection) => rebuildCheckpointName(projection),
};

/** Suffix of a shadow table's constraint and index names until the swap gives them the live names. */
const SHADOW_NAME_SUFFIX = '_rb';
const IDENTIFIER_BYTES_MAX = 63;
const LOCK_NOT_AVAILABLE = '55P03';

/** Rebuilds one read-model projection by name; see `rebuildProjections`. */
export function rebuildProjection(name: string, options: RebuildOptions): Promise<RebuildResult> {
  return rebuildProjections(createProjections([name]), options);
}

/**
 * Rebuilds projections from the first event without read downtime:
 *
 * 1. Fill shadow tables (`<table>__rebuild`, same columns, constraints and indexes as the
 *    live table) from position 0, batch by batch, each batch committed with the shadow's
 *    own checkpoint (`<projection>__rebuild`) exactly as a live batch is. The log is read
 *    once; each projection writes on a session of its own (holding its rebuild lock), side
 *    by side with the others. Readers and the live projector keep using the live tables
 *    meanwhile. An interrupted rebuild resumes from the shadow checkpoints. Secondary
 *    indexes are built once, after the bulk of the rows, which is cheaper than maintaining
 *    them row by row.
 * 2. Swap, in one transaction: lock the live checkpoint rows (the order a batch takes them),
 *    then the live and shadow tables; catch the shadow up to the live checkpoint (or, when
 *    the live projection is behind, take the shadow's position); rename live to `__old`,
 *    shadow to live, drop `__old`, give indexes and constraints the live names, and move the
 *    live checkpoint. Readers see the old tables until the commit and the new ones after.
 *
 * The brief lock: from the swap's LOCK TABLE to its commit, readers of these tables wait.
 * That is the catch-up of whatever arrived since the last fill batch (usually less than one
 * batch) plus a few catalog updates: milliseconds, reported as `swapMs`. The swap waits at
 * most `swapLockTimeoutMs` for a long-running reader or batch to finish (new readers queue
 * behind it meanwhile), then backs off, catches up again and retries.
 *
 * A live projector that keeps running through the swap is safe: its next batch either
 * committed before the swap took the checkpoint row (and the shadow catches up to it) or
 * waits for the swap and then finds the checkpoint where it expected it, writing into the
 * new tables; when the swap moved the checkpoint ahead, its compare-and-set fails and it
 * re-reads. Views or foreign keys that reference these tables would block the swap's DROP;
 * there are none.
 */
export async function rebuildProjections(projections: readonly Projection[], options: RebuildOptions): Promise<RebuildResult> {
  const started = process.hrtime.bigint();
  const names = projections.map((projection) => projection.name);
  const tables = [...new Set(projections.flatMap((projection) => projection.tables))].sort();
  const log = options.log ?? (() => undefined);
  const lanes = await acquireLanes(projections, options.dataSource);
  // Preparation and the swap run on one session; the lanes are idle by then.
  const session = lanes[0]!.session;
  try {
    for (const lane of lanes) lane.position = await prepareShadows(session, lane.projection);
    const fill = new ShadowFill(lanes, options.store, options.batchSize ?? 5_000, options);
    const resumedFrom = fill.low();
    log('info', resumedFrom > 0n ? 'rebuild resumes' : 'rebuild starts', { projections: names, from: resumedFrom.toString() });
    await fill.untilCaughtUp();
    // Each lane builds its own tables' indexes, side by side, on its own session.
    await Promise.all(
      lanes.map(async (lane) => {
        for (const table of lane.projection.tables) await createSecondaryIndexes(lane.session, table);
      }),
    );
    options.onProgress?.({ phase: 'index', position: fill.low(), events: fill.events });
    await fill.untilCaughtUp();

    let swapMs = 0;
    let position = fill.low();
    const attempts = options.swapAttempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      if (options.signal?.aborted) throw new Error('rebuild aborted before the swap');
      try {
        const swapStarted = process.hrtime.bigint();
        position = await swap(session, fill, names, tables, options.swapLockTimeoutMs ?? 2_000);
        swapMs = Number(process.hrtime.bigint() - swapStarted) / 1e6;
        break;
      } catch (error) {
        if ((error as { code?: unknown }).code !== LOCK_NOT_AVAILABLE || attempt >= attempts) throw error;
        log('warn', 'rebuild swap waited too long for its locks; catching up and retrying', { attempt });
        await fill.untilCaughtUp();
      }
    }
    options.onProgress?.({ phase: 'swap', position, events: fill.events });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    log('info', 'rebuild swapped in', { projections: names, position: position.toString(), events: fill.events, swapMs });
    return { projections: names, position, events: fill.events, resumedFrom, seconds, swapMs };
  } finally {
    for (const lane of lanes) await lane.leadership.release();
  }
}

/** One projection's share of a rebuild: its own session, holding its rebuild lock, and its shadow checkpoint. */
interface Lane {
  readonly projection: Projection;
  readonly leadership: Leadership;
  readonly session: SqlSession;
  position: bigint;
}

/** Takes the rebuild lock of every projection, each on a session of its own, or none. */
async function acquireLanes(projections: readonly Projection[], dataSource: DataSource): Promise<Lane[]> {
  const lanes: Lane[] = [];
  for (const projection of projections) {
    const leadership = await Leadership.tryAcquire(dataSource, [rebuildCheckpointName(projection.name)]).catch(async (error: unknown) => {
      for (const lane of lanes) await lane.leadership.release();
      throw error;
    });
    if (leadership === null) {
      for (const lane of lanes) await lane.leadership.release();
      throw new RebuildInProgress(projection.name);
    }
    lanes.push({ projection, leadership, session: leadership.session, position: 0n });
  }
  return lanes;
}

/**
 * Reads the log once and applies each batch to every projection's shadow tables, each
 * projection in its own transaction on its own session, side by side: the projections
 * share nothing but the events, so their writes run on as many PostgreSQL backends as
 * there are projections while this process reads the next batch. Each lane's batch is
 * committed with that lane's shadow checkpoint, exactly as a live batch is.
 */
class ShadowFill {
  events = 0;

  constructor(
    private readonly lanes: readonly Lane[],
    private readonly store: EventStore,
    private readonly batchSize: number,
    private readonly options: RebuildOptions,
  ) {}

  /** The lowest shadow checkpoint: where reading resumes. */
  low(): bigint {
    return this.lanes.reduce((low, lane) => (lane.position < low ? lane.position : low), this.lanes[0]!.position);
  }

  private read(after: bigint): Promise<RecordedEvent[]> {
    return this.store.readAll(after === 0n ? 'start' : after, this.batchSize);
  }

  /** Applies batches until one comes back short: the log's head at that moment. */
  async untilCaughtUp(): Promise<void> {
    let pending: Promise<RecordedEvent[]> | null = this.read(this.low());
    while (pending !== null) {
      if (this.options.signal?.aborted) throw new Error('rebuild aborted');
      const batch: RecordedEvent[] = await pending;
      if (batch.length === 0) return;
      pending = batch.length < this.batchSize ? null : this.read(batch[batch.length - 1]!.globalPosition);
      pending?.catch(() => undefined);
      await Promise.all(
        this.lanes.map(async (lane) => {
          const outcome = await commitBatch({
            session: lane.session,
            projections: [lane.projection],
            batch,
            checkpoints: new Map([[lane.projection.name, lane.position]]),
            tables: REBUILD_TABLES,
            // A shadow batch lost in a crash is lost together with its checkpoint and simply
            // redone on resume, so waiting for the WAL flush on every batch buys nothing.
            settings: ['set local synchronous_commit = off'],
          });
          lane.position = outcome.checkpoints.get(lane.projection.name)!;
        }),
      );
      this.advance(batch, 'fill');
    }
  }

  /**
   * Applies the events after the shadow checkpoints up to `target`, inside the caller's
   * transaction on `session`. On failure the caller rolls back, and `restore` puts the
   * positions back to what is committed.
   */
  async inTransactionUpTo(session: SqlSession, target: bigint): Promise<void> {
    while (this.low() < target) {
      const batch = (await this.read(this.low())).filter((event) => event.globalPosition <= target);
      if (batch.length === 0) throw new Error(`the log ends before position ${target.toString()}`);
      const outcome = await applyBatch({
        session,
        projections: this.lanes.map((lane) => lane.projection),
        batch,
        checkpoints: new Map(this.lanes.map((lane) => [lane.projection.name, lane.position])),
        tables: REBUILD_TABLES,
      });
      for (const lane of this.lanes) lane.position = outcome.checkpoints.get(lane.projection.name)!;
      this.advance(batch, 'swap');
    }
  }

  /** The highest shadow checkpoint. */
  high(): bigint {
    return this.lanes.reduce((high, lane) => (lane.position > high ? lane.position : high), 0n);
  }

  snapshot(): { positions: bigint[]; events: number } {
    return { positions: this.lanes.map((lane) => lane.position), events: this.events };
  }

  restore(snapshot: { positions: bigint[]; events: number }): void {
    this.lanes.forEach((lane, index) => (lane.position = snapshot.positions[index]!));
    this.events = snapshot.events;
  }

  private advance(batch: readonly RecordedEvent[], phase: RebuildProgress['phase']): void {
    this.events += batch.length;
    this.options.onProgress?.({ phase, position: this.low(), events: this.events });
  }
}

/**
 * Resumes an interrupted rebuild of a projection when its shadow checkpoint and every one of
 * its shadow tables are there; otherwise starts it afresh: drops any shadow leftovers and
 * creates empty shadow tables with the checkpoint at 0, in one transaction. Returns the
 * position the projection's shadow is at.
 */
async function prepareShadows(session: SqlSession, projection: Projection): Promise<bigint> {
  const checkpointName = rebuildCheckpointName(projection.name);
  const { rows } = await session.query<{ position: string }>(
    `select position::text from ${CHECKPOINTS_TABLE} where projection = $1`,
    [checkpointName],
  );
  const { rows: present } = await session.query<{ present: boolean }>(
    `select to_regclass(t) is not null as present from unnest($1::text[]) as t`,
    [projection.tables.map((table) => qualified(REBUILD_TABLES.tableName(table)))],
  );
  if (rows.length === 1 && present.every((row) => row.present)) return BigInt(rows[0]!.position);
  await inTransaction(session, async () => {
    await session.query(`delete from ${CHECKPOINTS_TABLE} where projection = $1`, [checkpointName]);
    for (const table of projection.tables) {
      await session.query(`drop table if exists ${qualified(REBUILD_TABLES.tableName(table))}`);
      await createShadowTable(session, table);
    }
    await session.query(`insert into ${CHECKPOINTS_TABLE} (projection, position, updated_at) values ($1, 0, now())`, [
      checkpointName,
    ]);
  });
  return 0n;
}

/**
 * An empty copy of a live table: columns, defaults, NOT NULL and CHECK constraints through
 * LIKE, then its primary key and unique constraints under suffixed names. The definitions
 * are read from the catalog rather than repeated here, so a column or index added by a later
 * migration is rebuilt too.
 */
async function createShadowTable(session: SqlSession, table: ReadModelTable): Promise<void> {
  const live = qualified(table);
  const shadow = qualified(REBUILD_TABLES.tableName(table));
  await session.query(
    `create table ${shadow} (like ${live} including defaults including constraints including generated including identity)`,
  );
  const { rows } = await session.query<{ name: string; definition: string }>(
    `select conname as name, pg_get_constraintdef(oid) as definition
       from pg_constraint where conrelid = $1::regclass and contype in ('p', 'u') order by conname`,
    [live],
  );
  for (const constraint of rows) {
    await session.query(`alter table ${shadow} add constraint ${shadowName(constraint.name)} ${constraint.definition}`);
  }
}

/** The live table's indexes that back no constraint, created on the shadow table (if not already there). */
async function createSecondaryIndexes(session: SqlSession, table: ReadModelTable): Promise<void> {
  const { rows } = await session.query<{ name: string; definition: string }>(
    `select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = $1::regclass
        and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
      order by c.relname`,
    [qualified(table)],
  );
  for (const index of rows) {
    const parsed = /^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .+)$/.exec(index.definition);
    if (parsed === null) throw new Error(`cannot read the definition of index ${index.name}: ${index.definition}`);
    await session.query(
      `create ${parsed[1] ?? ''}index if not exists ${shadowName(index.name)} on ${qualified(REBUILD_TABLES.tableName(table))} ${parsed[4]}`,
    );
  }
}

/**
 * The swap transaction; returns the live checkpoint it leaves. See `rebuildProjections`
 * for the lock order and why it cannot lose or repeat an event.
 */
async function swap(
  session: SqlSession,
  fill: ShadowFill,
  names: readonly string[],
  tables: readonly ReadModelTable[],
  lockTimeoutMs: number,
): Promise<bigint> {
  const before = fill.snapshot();
  try {
    return await inTransaction(session, async () => {
      await session.query(`set local lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
      const { rows } = await session.query<{ position: string }>(
        `select position::text from ${CHECKPOINTS_TABLE} where projection = any($1::text[]) order by projection for update`,
        [names],
      );
      const liveHighest = rows.reduce((high, row) => (BigInt(row.position) > high ? BigInt(row.position) : high), 0n);
      const lockList = tables.flatMap((table) => [qualified(table), qualified(REBUILD_TABLES.tableName(table))]);
      await session.query(`lock table ${lockList.join(', ')} in access exclusive mode`);
      // Every shadow reaches the live checkpoint, or the furthest shadow when the live
      // projection is behind; all of them end at the same position.
      const target = fill.high() > liveHighest ? fill.high() : liveHighest;
      await fill.inTransactionUpTo(session, target);

      for (const table of tables) {
        const shadow = REBUILD_TABLES.tableName(table);
        await session.query(`alter table ${qualified(table)} rename to ${table}__old`);
        await session.query(`alter table ${qualified(shadow)} rename to ${table}`);
        await session.query(`drop table ${qualified(`${table}__old`)}`);
        await giveLiveNames(session, table);
      }
      await session.query(
        `insert into ${CHECKPOINTS_TABLE} as c (projection, position, updated_at)
         select p, $2, now() from unnest($1::text[]) as p
         on conflict (projection) do update set position = excluded.position, updated_at = excluded.updated_at`,
        [names, target.toString()],
      );
      await session.query(`delete from ${CHECKPOINTS_TABLE} where projection = any($1::text[])`, [
        names.map(rebuildCheckpointName),
      ]);
      return target;
    });
  } catch (error) {
    // What the rolled-back catch-up applied is gone; the shadow checkpoints are where they were.
    fill.restore(before);
    throw error;
  }
}

/** Renames the swapped-in table's `_rb` constraints and indexes to the names the live table had. */
async function giveLiveNames(session: SqlSession, table: ReadModelTable): Promise<void> {
  const live = qualified(table);
  const { rows: constraints } = await session.query<{ name: string }>(
    `select conname as name from pg_constraint
      where conrelid = $1::regclass and contype in ('p', 'u') and right(conname, $2) = $3`,
    [live, SHADOW_NAME_SUFFIX.length, SHADOW_NAME_SUFFIX],
  );
  for (const { name } of constraints) {
    await session.query(`alter table ${live} rename constraint ${name} to ${liveName(name)}`);
  }
  const { rows: indexes } = await session.query<{ name: string }>(
    `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = $1::regclass and right(c.relname, $2) = $3
        and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)`,
    [live, SHADOW_NAME_SUFFIX.length, SHADOW_NAME_SUFFIX],
  );
  for (const { name } of indexes) {
    await session.query(`alter index ${READ_MODELS_SCHEMA}.${name} rename to ${liveName(name)}`);
  }
}

function shadowName(name: string): string {
  const shadow = `${name}${SHADOW_NAME_SUFFIX}`;
  // PostgreSQL would silently cut a longer name, and the swap could not find it again.
  if (Buffer.byteLength(shadow) > IDENTIFIER_BYTES_MAX) throw new Error(`${name} is too long to rebuild under ${shadow}`);
  return shadow;
}

function liveName(name: string): string {
  return name.slice(0, name.length - SHADOW_NAME_SUFFIX.length);
}
