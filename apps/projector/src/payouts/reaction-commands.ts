import { toNewEvents, type CommandEnvelope } from '@ledger/commands';
import type { Decider } from '@ledger/domain';
import { StreamCommandQueue, type CommandOutcome, type EventStore } from '@ledger/event-store';

/**
 * Commands for one decider's streams, as `StreamCommands` of `@ledger/commands` runs them
 * (the per-stream queue, the same deterministic event ids), with one difference the process
 * manager needs: a command the decider refused, or found nothing to do for, is decided once
 * more on a freshly read stream.
 *
 * Why: the queue trusts its cached state and lets the append's expected revision catch a
 * stale cache. That catches every stale *acceptance*, but a *rejection* or an empty decision
 * never reaches an append. The command API owns its streams' writes in the common case; the
 * process manager reacts to streams that the API, operators and providers' callbacks write
 * all the time, so a decision on a stale state (a hold "not found" that the API placed a
 * moment ago, a review "not pending" that an operator just resolved) would be taken for the
 * truth. Reading again only when the answer is "no" keeps the cache for the common case.
 */
export class ReactionCommands<State, Command, Event extends { type: string; data: unknown }> {
  private readonly queue: StreamCommandQueue<State, CommandEnvelope<Command>>;

  constructor(
    store: EventStore,
    decider: Decider<State, Command, Event>,
    private readonly streamOf: (id: string) => string,
  ) {
    this.queue = new StreamCommandQueue<State, CommandEnvelope<Command>>(
      store,
      {
        initialState: () => decider.initialState(),
        evolve: (state, event) => decider.evolve(state, event as Event),
        decide: (envelope, state) => toNewEvents(decider.decide(envelope.command, state), envelope),
      },
      { maxCommandsPerAppend: 200, maxConflictRetries: 10 },
    );
  }

  async execute(id: string, envelope: CommandEnvelope<Command>): Promise<CommandOutcome> {
    const stream = this.streamOf(id);
    let outcome: CommandOutcome;
    try {
      outcome = await this.queue.execute(stream, envelope);
    } catch {
      this.queue.invalidate(stream);
      return this.queue.execute(stream, envelope);
    }
    if (outcome.events.length > 0) return outcome;
    this.queue.invalidate(stream);
    return this.queue.execute(stream, envelope);
  }
}
