import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { isReconciliationRejection } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { ApiError } from '@ledger/platform';
import { ReconciliationConflict, resolveDiscrepancy } from '@ledger/reconciliation';
import { EVENT_STORE } from '../shared/tokens';
import { ResolveDiscrepancyCommand, type DiscrepancyResolvedResponse } from './resolve-discrepancy.command';

/**
 * An operator resolves a reconciliation discrepancy (docs/reconciliation.md, "Resolving").
 * The rules are the reconciliation decider's; `resolveDiscrepancy` loads the stream, decides
 * and appends with its expected revision. The event id derives from the idempotency key,
 * so a retry after a crash between append and answer finds its own event and answers as
 * the first time did, with the original time and operator.
 */
@CommandHandler(ResolveDiscrepancyCommand)
export class ResolveDiscrepancyHandler implements ICommandHandler<ResolveDiscrepancyCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ channel, date, discrepancyId, reason, context }: ResolveDiscrepancyCommand): Promise<DiscrepancyResolvedResponse> {
    try {
      const resolved = await resolveDiscrepancy({
        store: this.store,
        channel,
        date,
        discrepancyId,
        reason,
        principal: context.principal,
        now: context.now,
        eventId: context.derive('event:DiscrepancyResolved'),
        metadata: context.metadata,
      });
      return {
        channel,
        date,
        discrepancyId,
        state: 'resolved',
        resolution: resolved.resolution,
        resolvedAt: resolved.resolvedAt,
        resolvedBy: resolved.resolvedBy,
        position: resolved.position.toString(),
      };
    } catch (error) {
      throw mapError(error) ?? error;
    }
  }
}

/**
 * The reconciliation stream's rules are not in the domain's `REJECTION_CODES` (ADR 0010),
 * so they get their HTTP status here: an unknown discrepancy is 404, one that is closed
 * already (resolved, or superseded by a corrected statement) is 409.
 */
function mapError(error: unknown): ApiError | undefined {
  if (isReconciliationRejection(error)) {
    return new ApiError(error.code === 'discrepancy_not_found' ? 404 : 409, error.code, error.message, { ...error.details });
  }
  if (error instanceof ReconciliationConflict) {
    return new ApiError(409, 'concurrency_conflict', 'the reconciliation changed concurrently too often; retry the request', {
      stream: error.streamName,
    });
  }
  return undefined;
}
