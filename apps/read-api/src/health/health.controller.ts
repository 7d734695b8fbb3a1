import { Controller, Get, Inject } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrorResponse, Public } from '@ledger/platform';
import { CheckpointReader, lagOf, type Checkpoint } from '../shared/checkpoints';
import { mapReadError } from '../shared/error-mapper';
import { READ_API_SETTINGS, type ReadApiSettings } from '../shared/tokens';

interface ProjectionStanding {
  projection: string;
  position: string | null;
  lagEvents: string | null;
  lagSeconds: number | null;
}

export interface ReadinessResponse {
  status: 'ok';
  headPosition: string | null;
  projections: ProjectionStanding[];
}

/**
 * Liveness says the process answers. Readiness says this instance can serve reads that are
 * fresh enough: the read-model database answers and no projection is more than
 * `readyMaxLagEvents` behind the event store's head. A balancer then routes reads away from
 * an instance whose projections stalled, instead of serving stale balances from it.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(CheckpointReader) private readonly checkpoints: CheckpointReader,
    @Inject(READ_API_SETTINGS) private readonly settings: ReadApiSettings,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiResponse({ status: 503, description: '`database_unavailable`, `read_models_unavailable`, `event_store_unavailable` or `projections_lagging`.', type: ApiErrorResponse })
  async ready(): Promise<ReadinessResponse> {
    const { projections, readyMaxLagEvents, headPosition } = this.settings;
    let checkpoints: Map<string, Checkpoint>;
    try {
      checkpoints = await this.checkpoints.read(projections);
    } catch (error) {
      throw mapReadError(error) ?? new ApiError(503, 'database_unavailable', 'The read-model database does not answer.');
    }
    let head: bigint | undefined;
    if (headPosition) {
      try {
        head = await headPosition();
      } catch {
        throw new ApiError(503, 'event_store_unavailable', 'The event store does not answer, so projection lag is unknown.');
      }
    }
    const standing = lagOf(projections, checkpoints, head, Date.now()).map((lag) => ({
      projection: lag.projection,
      position: lag.position?.toString() ?? null,
      lagEvents: lag.lagEvents?.toString() ?? null,
      lagSeconds: lag.lagSeconds,
    }));
    const lagging = standing.filter((s) => s.lagEvents !== null && BigInt(s.lagEvents) > readyMaxLagEvents);
    if (lagging.length > 0) {
      throw new ApiError(503, 'projections_lagging', `${lagging.map((s) => s.projection).join(', ')} lag more than ${readyMaxLagEvents} events behind the head.`, {
        readyMaxLagEvents: readyMaxLagEvents.toString(),
        headPosition: head?.toString() ?? null,
        projections: standing,
      });
    }
    return { status: 'ok', headPosition: head?.toString() ?? null, projections: standing };
  }
}
