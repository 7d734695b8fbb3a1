import type { EventStore } from '@ledger/event-store';
import {
  createProjections,
  createReadModelsDataSource,
  migrateReadModels,
  Projector,
  ProjectorMetrics,
  rebuildProjections,
  type Projection,
  type ProjectorLog,
  type ProjectorStatus,
  type RebuildOptions,
  type RebuildResult,
} from '@ledger/read-models';
import type { DataSource } from 'typeorm';

export interface CreateProjectorOptions {
  store: EventStore;
  /** An existing DataSource over the read models (initialised or not); it stays the caller's to destroy. */
  dataSource?: DataSource;
  /** Or a PostgreSQL URL: the projector then opens and closes a DataSource of its own. */
  url?: string;
  /** Projections, or their names; all read-model projections by default, run as one group. */
  projections?: ReadonlyArray<Projection | string>;
  batchSize?: number;
  standbyRetryMs?: number;
  /** Run the read-model migrations on start (default true); safe with many instances starting at once. */
  migrate?: boolean;
  metrics?: ProjectorMetrics;
  log?: ProjectorLog;
}

export interface ProjectorApp {
  /** Migrates, then starts leading or standing by; resolves after the first leadership attempt. */
  start(): Promise<void>;
  /** Commits the batch in flight, gives up the leadership, closes what it opened. */
  stop(): Promise<void>;
  status(): ProjectorStatus;
  /** Resolves once every projection has committed `position` (default: the log's head now). */
  waitFor(position?: bigint, timeoutMs?: number): Promise<void>;
  /** Rebuilds projections (default: all of this projector's) into shadow tables and swaps them in. */
  rebuild(
    names?: readonly string[],
    options?: Pick<RebuildOptions, 'batchSize' | 'onProgress' | 'signal'>,
  ): Promise<RebuildResult>;
  readonly metrics: ProjectorMetrics;
}

/**
 * The projector app's factory, shared by its own `main`, the all-in-one process and the
 * tests (ADR 0006): the event store comes in, the read-model DataSource comes in or is made
 * from a URL, and one `Projector` runs the chosen projections as one group.
 */
export function createProjector(options: CreateProjectorOptions): ProjectorApp {
  if ((options.dataSource === undefined) === (options.url === undefined)) {
    throw new TypeError('createProjector needs exactly one of dataSource or url');
  }
  const ownsDataSource = options.dataSource === undefined;
  const dataSource = options.dataSource ?? createReadModelsDataSource(options.url!, { applicationName: 'ledger-projector' });
  const projections = (options.projections ?? createProjections()).map((projection) =>
    typeof projection === 'string' ? createProjections([projection])[0]! : projection,
  );
  const metrics = options.metrics ?? new ProjectorMetrics();
  const projector = new Projector({
    store: options.store,
    dataSource,
    projections,
    batchSize: options.batchSize,
    standbyRetryMs: options.standbyRetryMs,
    metrics,
    log: options.log,
  });
  let started = false;

  return {
    metrics,
    async start() {
      if (started) return;
      if (!dataSource.isInitialized) await dataSource.initialize();
      if (options.migrate ?? true) await migrateReadModels(dataSource);
      await projector.start();
      started = true;
    },
    async stop() {
      await projector.stop();
      started = false;
      if (ownsDataSource && dataSource.isInitialized) await dataSource.destroy();
    },
    status: () => projector.status(),
    waitFor: (position, timeoutMs) => projector.waitFor(position, timeoutMs),
    async rebuild(names, rebuildOptions = {}) {
      if (!dataSource.isInitialized) await dataSource.initialize();
      // A name outside this projector's group is still a read-model projection that can be rebuilt.
      const chosen =
        names === undefined
          ? projections
          : names.map((name) => projections.find((projection) => projection.name === name) ?? createProjections([name])[0]!);
      return rebuildProjections(chosen, { store: options.store, dataSource, log: options.log, ...rebuildOptions });
    },
  };
}
