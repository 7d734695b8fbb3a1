import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { EventStore } from '@ledger/event-store';
import { ApiError, Public } from '@ledger/platform';
import { EVENT_STORE } from './shared/tokens';

/** Liveness says the process answers; readiness says the event store answers too. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: 'ok'; eventStore: { headPosition: string } }> {
    try {
      const head = await this.store.headPosition();
      return { status: 'ok', eventStore: { headPosition: head.toString() } };
    } catch (error) {
      throw new ApiError(503, 'event_store_unavailable', `the event store does not answer: ${(error as Error).message}`);
    }
  }
}
