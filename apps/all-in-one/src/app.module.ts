import { Module, type DynamicModule } from '@nestjs/common';
import type { EventStore } from '@ledger/event-store';
import { HealthController } from './health.controller';
import { EVENT_STORE } from './tokens';

/**
 * The all-in-one process. Today it hosts the event store and health endpoints; the
 * command API, projector, read API and sandbox provider join it as their modules land.
 */
@Module({})
export class AppModule {
  static create(store: EventStore): DynamicModule {
    return {
      module: AppModule,
      controllers: [HealthController],
      providers: [{ provide: EVENT_STORE, useValue: store }],
      exports: [EVENT_STORE],
    };
  }
}
