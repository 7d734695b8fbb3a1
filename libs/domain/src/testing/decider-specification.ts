import { foldEvents, type Decider } from '../decider';
import { DomainRejection, type RejectionCode, type RejectionDetails } from '../errors';

/**
 * Given/when/then for deciders, in the Emmett style:
 *
 *   DeciderSpecification.for(accountDecider)
 *     .given([accountOpened])
 *     .when(depositFunds)
 *     .then([fundsDeposited]);
 *
 * `then` also folds the produced events, so an event the decider emits but `evolve`
 * refuses fails the specification. Test-only: it uses Jest's `expect` and is not exported
 * from the library's index.
 */
export class DeciderSpecification<State, Command, Event> {
  private constructor(private readonly decider: Decider<State, Command, Event>) {}

  static for<State, Command, Event>(
    decider: Decider<State, Command, Event>,
  ): DeciderSpecification<State, Command, Event> {
    return new DeciderSpecification(decider);
  }

  given(events: readonly Event[]): Given<State, Command, Event> {
    return new Given(this.decider, events);
  }
}

class Given<State, Command, Event> {
  constructor(
    private readonly decider: Decider<State, Command, Event>,
    private readonly events: readonly Event[],
  ) {}

  when(command: Command): When<State, Command, Event> {
    return new When(this.decider, foldEvents(this.decider, this.events), command);
  }
}

class When<State, Command, Event> {
  constructor(
    private readonly decider: Decider<State, Command, Event>,
    private readonly state: State,
    private readonly command: Command,
  ) {}

  /** The command produces exactly these events, and they fold into the state. Returns the state after them. */
  then(expected: readonly Event[]): State {
    const events = this.decider.decide(this.command, this.state);
    expect(events).toEqual(expected);
    return foldEvents(this.decider, events, this.state);
  }

  /** The command is accepted and changes nothing: a duplicate or stale report. */
  thenNothing(): void {
    expect(this.decider.decide(this.command, this.state)).toEqual([]);
  }

  /** The command is rejected by the named rule; `details`, when given, must be a subset of the rejection's. */
  thenThrows(code: RejectionCode, details?: Partial<RejectionDetails>): DomainRejection {
    let thrown: unknown;
    try {
      this.decider.decide(this.command, this.state);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainRejection);
    const rejection = thrown as DomainRejection;
    expect(rejection.code).toBe(code);
    if (details !== undefined) expect(rejection.details).toMatchObject(details);
    return rejection;
  }
}
