import {
  isLedgerEventType,
  withdrawalDecider,
  withdrawalStream,
  type LedgerEvent,
  type PayoutInitiated,
  type WithdrawalEvent,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore, RecordedEvent } from '@ledger/event-store';

/** A recorded event whose type is in the catalogue, typed as the domain sees it. */
export type Recorded<Event extends LedgerEvent = LedgerEvent> = RecordedEvent<Event['type'], Event['data']>;

/** The domain view of a recorded event, or null for a type outside the catalogue. */
export function asLedgerEvent(recorded: RecordedEvent): LedgerEvent | null {
  if (!isLedgerEventType(recorded.type)) return null;
  return { type: recorded.type, data: recorded.data } as LedgerEvent;
}

export interface AttemptSummary {
  readonly attempt: number;
  readonly channel: string;
  readonly initiated: Recorded<PayoutInitiated>;
  /** `PayoutAttemptFailed.code` when the attempt failed without paying. */
  readonly failureCode: string | null;
  readonly failureReason: string | null;
}

/**
 * A withdrawal stream read once, with the state after it and the state after any prefix:
 * reactions compare the state when their cause happened with the state now, to see whether
 * they already ran.
 */
export class WithdrawalHistory {
  private constructor(
    readonly withdrawalId: string,
    readonly events: readonly Recorded<WithdrawalEvent>[],
    readonly state: WithdrawalState,
  ) {}

  static async load(store: EventStore, withdrawalId: string): Promise<WithdrawalHistory> {
    const recorded = (await store.readStream(withdrawalStream(withdrawalId))) as Recorded<WithdrawalEvent>[];
    const state = recorded.reduce(
      (current, event) => withdrawalDecider.evolve(current, asLedgerEvent(event) as WithdrawalEvent),
      withdrawalDecider.initialState(),
    );
    return new WithdrawalHistory(withdrawalId, recorded, state);
  }

  /** The state right after the event at `revision` (the whole stream when beyond it). */
  stateAfter(revision: bigint): WithdrawalState {
    let state = withdrawalDecider.initialState();
    for (const event of this.events) {
      if (event.streamRevision > revision) break;
      state = withdrawalDecider.evolve(state, asLedgerEvent(event) as WithdrawalEvent);
    }
    return state;
  }

  /** True when the stream holds an event with one of these ids: a reaction that wrote it already ran. */
  holdsAny(eventIds: readonly string[]): boolean {
    const wanted = new Set(eventIds);
    return this.events.some((event) => wanted.has(event.id));
  }

  /** Every attempt so far, oldest first. */
  attempts(): AttemptSummary[] {
    const attempts = new Map<number, AttemptSummary>();
    for (const event of this.events) {
      if (event.type === 'PayoutInitiated') {
        const initiated = event as Recorded<PayoutInitiated>;
        attempts.set(initiated.data.attempt, {
          attempt: initiated.data.attempt,
          channel: initiated.data.channel,
          initiated,
          failureCode: null,
          failureReason: null,
        });
      } else if (event.type === 'PayoutAttemptFailed') {
        const data = event.data as Extract<WithdrawalEvent, { type: 'PayoutAttemptFailed' }>['data'];
        const attempt = attempts.get(data.attempt);
        if (attempt) attempts.set(data.attempt, { ...attempt, failureCode: data.code, failureReason: data.reason });
      }
    }
    return [...attempts.values()].sort((a, b) => a.attempt - b.attempt);
  }

  /** Attempts since the last `retry` review decision (which starts a new count), oldest first. */
  attemptsInCount(): AttemptSummary[] {
    let firstInCount = 1;
    for (const event of this.events) {
      if (event.type === 'ManualReviewResolved' && (event.data as { decision: string }).decision === 'retry') {
        firstInCount = this.stateAfter(event.streamRevision).attempt + 1;
      }
    }
    return this.attempts().filter((attempt) => attempt.attempt >= firstInCount);
  }

  attempt(attempt: number): AttemptSummary | undefined {
    return this.attempts().find((summary) => summary.attempt === attempt);
  }
}
