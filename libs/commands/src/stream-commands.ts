import { isDomainRejection, type Decider, type RejectionCode } from '@ledger/domain';
import { StreamCommandQueue, type CommandOutcome, type EventStore } from '@ledger/event-store';
import { failpoint, inSpan, traceparentOf } from '@ledger/platform';
import { eventIdFor, toNewEvents, type CommandEnvelope } from './command-envelope';

/**
 * Runs a decider's commands through the per-stream queue: commands for one stream are
 * decided together against one cached state and written in one append with the exact
 * expected revision, so a hot account costs one round trip per group of commands.
 */
export class StreamCommands<State, Command, Event extends { type: string; data: unknown }> {
  private readonly queue: StreamCommandQueue<State, CommandEnvelope<Command>>;

  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<State, Command, Event>,
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

  /**
   * Decides and appends inside a `command <Type>` span whose parent is the envelope's
   * traceparent (the request's, or the causing event's); the events carry the command span
   * as their parent, so whoever reacts to them continues this trace.
   */
  execute(id: string, envelope: CommandEnvelope<Command>): Promise<CommandOutcome> {
    const stream = this.streamOf(id);
    const type = (envelope.command as { type?: unknown }).type;
    return inSpan(`command ${String(type)}`, envelope.metadata.traceparent, { 'ledger.stream': stream }, async (span) => {
      const traceparent = traceparentOf(span, envelope.metadata.traceparent);
      const traced = traceparent === envelope.metadata.traceparent ? envelope : { ...envelope, metadata: { ...envelope.metadata, traceparent } };
      const outcome = await this.queue.execute(stream, traced);
      span.setAttribute('ledger.position', outcome.position.toString());
      return outcome;
    });
  }

  /**
   * Runs a command whose retry the decider sees as a duplicate (an `already_*` or
   * `not_cancellable` rejection): when the stream holds the very events this envelope
   * writes (same deterministic ids), the retry is the original request and answers with
   * the original position. A crash between append and response is then invisible.
   */
  async executeOnce(
    id: string,
    envelope: CommandEnvelope<Command>,
    duplicateCode: RejectionCode,
  ): Promise<CommandOutcome & { replayed: boolean }> {
    try {
      const outcome = await this.execute(id, envelope);
      // Fault-injection tests die here: committed, but the client never hears of it.
      failpoint(`command.after-append.${(envelope.command as { type: string }).type}`);
      return { ...outcome, replayed: false };
    } catch (error) {
      if (!isDomainRejection(error, duplicateCode)) throw error;
      const events = await this.store.readStream(this.streamOf(id));
      const byId = new Map(events.map((event) => [event.id, event]));
      let last = byId.get(eventIdFor(envelope.eventIdSeed, 0));
      if (!last) throw error;
      for (let index = 1; byId.has(eventIdFor(envelope.eventIdSeed, index)); index += 1) {
        last = byId.get(eventIdFor(envelope.eventIdSeed, index))!;
      }
      return { events: [], nextExpectedRevision: last.streamRevision, position: last.globalPosition, replayed: true };
    }
  }

  /** The current state, folded from the whole stream (for rare paths; commands use the cache). */
  async load(id: string): Promise<State> {
    const events = await this.store.readStream(this.streamOf(id));
    return events.reduce((state, event) => this.decider.evolve(state, event as unknown as Event), this.decider.initialState());
  }
}
