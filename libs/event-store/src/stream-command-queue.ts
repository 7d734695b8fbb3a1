import { WrongExpectedVersion } from './errors';
import type { EventStore, ExpectedRevision, NewEvent, RecordedEvent } from './port';

/** The three functions of a decider, as the queue needs them. */
export interface QueueDecider<State, Command> {
  initialState(): State;
  evolve(state: State, event: { type: string; data: unknown }): State;
  /** Returns the events the command causes, or throws a rejection for this command only. */
  decide(command: Command, state: State): NewEvent[];
}

export interface StreamCommandQueueOptions {
  /** Upper bound of commands decided together and written in one append. */
  maxCommandsPerAppend?: number;
  /** Reload-and-redecide rounds after a conflict with another writer, before giving up. */
  maxConflictRetries?: number;
  /** Streams whose state is kept between commands (least recently used are dropped). */
  cachedStreams?: number;
}

export interface CommandOutcome {
  events: NewEvent[];
  /** The stream's revision after the append that carried this command's events. */
  nextExpectedRevision: bigint;
  /** The global position of that append's last event (for read-your-writes). */
  position: bigint;
}

interface Queued<Command> {
  command: Command;
  resolve(outcome: CommandOutcome): void;
  reject(error: unknown): void;
}

interface Cached<State> {
  state: State;
  revision: bigint;
}

/**
 * Serialises the commands for one stream inside this process and writes several of them
 * in one append: a hot stream then costs one round trip per group of commands, not a
 * conflict and retry per command.
 *
 * For each stream, one worker at a time takes the waiting commands, decides them in
 * order against the stream's state (each command sees the events of the ones before it),
 * and appends all their events with the exact revision it loaded. A rejected command
 * fails alone. The expected revision still guards against writers in other processes: on
 * a conflict the stream is reloaded and the same commands are decided again.
 *
 * State is cached per stream with the revision it reflects. A cached stream costs no read
 * when its commands append (the expected revision detects a stale cache); after a conflict
 * only the events since the cached revision are read, never the whole stream. A group that
 * appends nothing (refused, or nothing to do) reads the events since the cached revision
 * before its verdict stands, since no append can catch a stale cache for it.
 */
export class StreamCommandQueue<State, Command> {
  private readonly waiting = new Map<string, Queued<Command>[]>();
  private readonly cache = new Map<string, Cached<State>>();
  private readonly maxCommandsPerAppend: number;
  private readonly maxConflictRetries: number;
  private readonly cachedStreams: number;

  constructor(
    private readonly store: EventStore,
    private readonly decider: QueueDecider<State, Command>,
    options: StreamCommandQueueOptions = {},
  ) {
    this.maxCommandsPerAppend = options.maxCommandsPerAppend ?? 100;
    this.maxConflictRetries = options.maxConflictRetries ?? 5;
    this.cachedStreams = options.cachedStreams ?? 10_000;
  }

  execute(streamName: string, command: Command): Promise<CommandOutcome> {
    return new Promise<CommandOutcome>((resolve, reject) => {
      const queue = this.waiting.get(streamName);
      if (queue) {
        queue.push({ command, resolve, reject });
        return;
      }
      this.waiting.set(streamName, [{ command, resolve, reject }]);
      void this.drain(streamName);
    });
  }

  /** Forgets a stream's cached state, e.g. after it was written by other means. */
  invalidate(streamName: string): void {
    this.cache.delete(streamName);
  }

  private async drain(streamName: string): Promise<void> {
    const queue = this.waiting.get(streamName)!;
    try {
      while (queue.length > 0) {
        const group = queue.splice(0, this.maxCommandsPerAppend);
        await this.run(streamName, group);
      }
    } finally {
      this.waiting.delete(streamName);
    }
  }

  private async run(streamName: string, group: Queued<Command>[]): Promise<void> {
    // After a conflict, the state we had is still a correct prefix of the stream: read on from there.
    let lastKnown: Cached<State> | undefined;
    // True when the state of this round was read from the store just now, not trusted from the cache.
    let refreshed = false;
    for (let round = 0; ; round += 1) {
      let loaded: Cached<State>;
      const fromCache = this.cache.has(streamName) && !refreshed;
      refreshed = false;
      try {
        loaded = await this.load(streamName, lastKnown);
      } catch (error) {
        for (const item of group) item.reject(error);
        return;
      }

      let state = loaded.state;
      const accepted: Array<{ item: Queued<Command>; events: NewEvent[] }> = [];
      const rejected: Array<{ item: Queued<Command>; error: unknown }> = [];
      for (const item of group) {
        try {
          const events = this.decider.decide(item.command, state);
          for (const event of events) state = this.decider.evolve(state, event);
          accepted.push({ item, events });
        } catch (error) {
          rejected.push({ item, error });
        }
      }
      const events = accepted.flatMap((entry) => entry.events);
      if (events.length === 0) {
        // A cached state is trusted for what it lets through, because the append's expected
        // revision catches a write by another process. A round that appends nothing (every
        // command refused, or nothing to do) meets no such check, and a refusal decided on a
        // stale state is wrong: money since returned to the account by the payout process
        // manager, a withdrawal since moved into review. So the stream is read on from the
        // cached revision first, and anything new means deciding the group again.
        if (fromCache && round < this.maxConflictRetries) {
          let newer: RecordedEvent[];
          try {
            newer = await this.store.readStream(streamName, { fromRevision: loaded.revision + 1n });
          } catch (error) {
            for (const item of group) item.reject(error);
            return;
          }
          if (newer.length > 0) {
            let fresh = loaded;
            try {
              for (const event of newer) fresh = { state: this.decider.evolve(fresh.state, event), revision: event.streamRevision };
            } catch (error) {
              // A stream the decider cannot fold fails the group; it must not escape `drain`
              // (nobody awaits it) and leave the group's callers waiting for ever.
              this.cache.delete(streamName);
              for (const item of group) item.reject(error);
              return;
            }
            this.remember(streamName, fresh);
            refreshed = true;
            continue;
          }
        }
        for (const { item, error } of rejected) item.reject(error);
        for (const { item } of accepted) {
          item.resolve({ events: [], nextExpectedRevision: loaded.revision, position: -1n });
        }
        return;
      }

      const expectedRevision: ExpectedRevision = loaded.revision < 0n ? 'no_stream' : loaded.revision;
      try {
        const result = await this.store.append(streamName, events, { expectedRevision });
        // An idempotent append wrote nothing: the events were already in the stream, at their
        // original revision, possibly after writes this state never saw (the store matches
        // event ids before the expected revision). The state decided here is then no state
        // the stream ever had, so it is not cached; the next command reads the stream.
        if (result.idempotent) this.cache.delete(streamName);
        else this.remember(streamName, { state, revision: result.nextExpectedRevision });
        for (const { item, error } of rejected) item.reject(error);
        for (const { item, events: own } of accepted) {
          item.resolve({ events: own, nextExpectedRevision: result.nextExpectedRevision, position: result.position });
        }
        return;
      } catch (error) {
        this.cache.delete(streamName);
        lastKnown = loaded;
        if (error instanceof WrongExpectedVersion && round < this.maxConflictRetries) {
          // Another process wrote the stream: reload and decide every command of the
          // group again, in its order, including the rejected ones, whose verdict may
          // change on the new state.
          continue;
        }
        for (const item of group) item.reject(error);
        return;
      }
    }
  }

  /**
   * A cached stream is trusted without a read: the exact expected revision on the append
   * catches a write by anyone else, and the conflict path reloads. An uncached stream, or
   * one just invalidated, reads only the events after what is cached.
   */
  private async load(streamName: string, afterConflict: Cached<State> | undefined): Promise<Cached<State>> {
    const cached = this.cache.get(streamName);
    if (cached) return cached;
    let state = afterConflict?.state ?? this.decider.initialState();
    let revision = afterConflict?.revision ?? -1n;
    const newer = await this.store.readStream(streamName, { fromRevision: revision + 1n });
    for (const event of newer) {
      state = this.decider.evolve(state, event);
      revision = event.streamRevision;
    }
    const loaded = { state, revision };
    this.remember(streamName, loaded);
    return loaded;
  }

  private remember(streamName: string, entry: Cached<State>): void {
    // Map keeps insertion order: delete-then-set moves the stream to the young end.
    this.cache.delete(streamName);
    this.cache.set(streamName, entry);
    if (this.cache.size > this.cachedStreams) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }
}
