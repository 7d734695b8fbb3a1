import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type InjectionToken,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { Pool } from 'pg';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyStore } from './idempotency-store';
import { migrateIdempotency } from './migrate';
import {
  IDEMPOTENCY_OPTIONS,
  resolveIdempotencyOptions,
  type IdempotencyModuleOptions,
  type ResolvedIdempotencyOptions,
} from './options';

const IDEMPOTENCY_MODULE_OPTIONS = Symbol('IDEMPOTENCY_MODULE_OPTIONS');
const IDEMPOTENCY_POOL = Symbol('IDEMPOTENCY_POOL');

interface PoolHandle {
  pool: Pool;
  /** True when the module created the pool, and so must close it. */
  owned: boolean;
}

export interface IdempotencyModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: never[]) => IdempotencyModuleOptions | Promise<IdempotencyModuleOptions>;
}

/** Migrates the table before the application serves, and purges expired keys while it runs. */
@Injectable()
class IdempotencyMaintenance implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  private timer: NodeJS.Timeout | undefined;
  private purging: Promise<void> | undefined;

  constructor(
    private readonly store: IdempotencyStore,
    @Inject(IDEMPOTENCY_POOL) private readonly handle: PoolHandle,
    @Inject(IDEMPOTENCY_OPTIONS) private readonly options: ResolvedIdempotencyOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    await migrateIdempotency(this.handle.pool);
    this.timer = setInterval(() => {
      this.purging ??= this.purge().finally(() => (this.purging = undefined));
    }, this.options.purgeIntervalMs);
    // The purge is housekeeping: it must never be what keeps the process alive.
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.purging;
    if (this.handle.owned) await this.handle.pool.end();
  }

  private async purge(): Promise<void> {
    try {
      const purged = await this.store.purgeExpired(new Date());
      if (purged > 0) this.logger.log(`purged ${purged} expired idempotency keys`);
    } catch (error) {
      // The next run tries again; expired keys only cost disk space meanwhile.
      this.logger.warn(`idempotency purge failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * Idempotency keys for the application: the store, the interceptor behind `@Idempotent()`,
 * the migration on start and the hourly purge. Global, so controllers in any module can use
 * `@Idempotent()` without importing it.
 */
@Module({})
export class IdempotencyModule {
  static forRoot(options: IdempotencyModuleOptions): DynamicModule {
    // Resolved here as well as in the provider so that a bad option fails where it is written.
    resolveIdempotencyOptions(options);
    return IdempotencyModule.build([{ provide: IDEMPOTENCY_MODULE_OPTIONS, useValue: options }], []);
  }

  static forRootAsync(options: IdempotencyModuleAsyncOptions): DynamicModule {
    return IdempotencyModule.build(
      [{ provide: IDEMPOTENCY_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }],
      options.imports ?? [],
    );
  }

  private static build(
    optionsProviders: Provider[],
    imports: NonNullable<ModuleMetadata['imports']>,
  ): DynamicModule {
    return {
      module: IdempotencyModule,
      global: true,
      imports,
      providers: [
        ...optionsProviders,
        {
          provide: IDEMPOTENCY_OPTIONS,
          useFactory: (raw: IdempotencyModuleOptions) => resolveIdempotencyOptions(raw),
          inject: [IDEMPOTENCY_MODULE_OPTIONS],
        },
        {
          provide: IDEMPOTENCY_POOL,
          useFactory: (raw: IdempotencyModuleOptions): PoolHandle =>
            typeof raw.pool === 'string'
              ? { pool: ownedPool(raw.pool), owned: true }
              : { pool: raw.pool, owned: false },
          inject: [IDEMPOTENCY_MODULE_OPTIONS],
        },
        {
          provide: IdempotencyStore,
          useFactory: (handle: PoolHandle, resolved: ResolvedIdempotencyOptions) =>
            new IdempotencyStore(handle.pool, { ttlMs: resolved.ttlMs }),
          inject: [IDEMPOTENCY_POOL, IDEMPOTENCY_OPTIONS],
        },
        IdempotencyInterceptor,
        IdempotencyMaintenance,
      ],
      exports: [IdempotencyStore, IdempotencyInterceptor, IDEMPOTENCY_OPTIONS],
    };
  }
}

/** A pool of our own; an idle client cut by the server must not crash the process. */
function ownedPool(connectionString: string): Pool {
  const pool = new Pool({ connectionString });
  pool.on('error', () => undefined);
  return pool;
}
