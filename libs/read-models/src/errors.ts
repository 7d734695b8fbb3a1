/**
 * Errors of the read-model side, each with a stable snake_case `code` (ADR 0004).
 */
export class ReadModelError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, string | number | boolean | null>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The checkpoint was not where this writer last saw it: another writer (a second projector
 * that wrongly believes it leads, or a rebuild that swapped its tables in) moved it. The
 * batch is rolled back; the projector re-reads its checkpoints and continues from there.
 */
export class CheckpointConflict extends ReadModelError {
  constructor(projection: string, expected: bigint, next: bigint) {
    super('checkpoint_conflict', `checkpoint of ${projection} is no longer at ${expected.toString()}`, {
      projection,
      positionExpected: expected.toString(),
      positionNext: next.toString(),
    });
  }
}

/**
 * An event contradicts the read model (money for an account that was never opened, an
 * unbalanced posting list, a second AccountOpened). Projections never guess: the batch is
 * rolled back and the projector stops advancing until the cause is fixed, and the error
 * names the event.
 */
export class ProjectionInvariantViolation extends ReadModelError {
  constructor(projection: string, message: string, details: Readonly<Record<string, string | number | boolean | null>> = {}) {
    super('projection_invariant_violation', `${projection}: ${message}`, { projection, ...details });
  }
}

/** Another process is rebuilding the same projection; two rebuilds would fight over one shadow table. */
export class RebuildInProgress extends ReadModelError {
  constructor(projection: string) {
    super('rebuild_in_progress', `a rebuild of ${projection} is already running`, { projection });
  }
}

export class UnknownProjection extends ReadModelError {
  constructor(name: string, known: readonly string[]) {
    super('unknown_projection', `no projection is named ${name}; known: ${known.join(', ')}`, { name });
  }
}
