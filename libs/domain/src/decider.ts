import { DomainRejection, InvariantViolation } from './errors';
import { isChannel, isEntityId, isIsoTimestamp } from './ids';

/**
 * Deciders in the Emmett style: `decide(command, state)` returns the events a command
 * produces or throws a `DomainRejection`; `evolve(state, event)` folds one event into state;
 * `initialState()` is the state of an empty stream. All three are pure: time, ids and the
 * acting principal arrive on the command, so replaying a stream always rebuilds the same state.
 */
export interface Decider<State, Command, Event> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** What every command carries besides its data. */
export interface CommandMetadata {
  /** The instant the command was accepted, ISO-8601 UTC; it becomes the business time of the events. */
  readonly now: string;
  /** Who acts: an API key id, an operator, or a process manager's name. */
  readonly principal: string;
}

export interface DomainCommand<Type extends string, Data> {
  readonly type: Type;
  readonly data: Data;
  readonly metadata: CommandMetadata;
}

/** Folds events into state, starting from `initialState()` unless a state is given (a cached one). */
export function foldEvents<State, Event>(
  decider: { evolve(state: State, event: Event): State; initialState(): State },
  events: Iterable<Event>,
  state: State = decider.initialState(),
): State {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}

/** The compile-time exhaustiveness check: a `switch` that misses a case fails to build here. */
export function assertNever(value: never, what: string): never {
  throw new InvariantViolation(`unhandled ${what}: ${JSON.stringify(value)}`);
}

/** Longest principal or free-text field we store; longer text is refused rather than cut. */
export const TEXT_LENGTH_MAX = 1_000;

export function assertCommandMetadata(metadata: CommandMetadata): void {
  if (!isIsoTimestamp(metadata.now)) {
    throw new DomainRejection('malformed_metadata', 'metadata.now must be an ISO-8601 UTC timestamp', {
      field: 'metadata.now',
    });
  }
  if (!isText(metadata.principal)) {
    throw new DomainRejection('malformed_metadata', 'metadata.principal must name who acts', {
      field: 'metadata.principal',
    });
  }
}

export function requireEntityId(value: string, field: string): void {
  if (!isEntityId(value)) {
    throw new DomainRejection('malformed_id', `${field} must be 1-100 letters, digits or _.:- characters`, {
      field,
    });
  }
}

export function requireChannel(value: string, field = 'channel'): void {
  if (!isChannel(value)) {
    throw new DomainRejection('malformed_channel', `${field} must be lower-case letters, digits or _`, { field });
  }
}

/** Free text (reasons, references, names) must say something and stay bounded. */
export function requireText(value: string, field: string): void {
  if (!isText(value)) {
    throw new DomainRejection(
      'field_required',
      `${field} must be non-blank text of at most ${TEXT_LENGTH_MAX} characters`,
      { field },
    );
  }
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0 && value.length <= TEXT_LENGTH_MAX;
}
