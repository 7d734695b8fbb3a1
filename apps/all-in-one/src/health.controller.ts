import { Controller, Get, HttpCode, Inject, ServiceUnavailableException } from '@nestjs/common';
import type { EventStore } from '@ledger/event-store';
import { EVENT_STORE } from './tokens';

/** Liveness says the process answers; readiness says the event store answers too. */
@Controller('health')
export class HealthController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; eventStore: { headPosition: string } }> {
    try {
      const head = await this.store.headPosition();
      return { status: 'ok', eventStore: { headPosition: head.toString() } };
    } catch (error) {
      throw new ServiceUnavailableException({
        error: { code: 'event_store_unavailable', message: (error as Error).message },
      });
    }
  }
}
