import type { StatementError } from './statement';

/** Every error of this library carries a stable machine-readable code (ADR 0004). */
export abstract class ReconciliationError extends Error {
  abstract readonly code: string;
}

/** The statement file is not a valid statement; nothing was imported. `errors` lists every line at fault. */
export class StatementMalformed extends ReconciliationError {
  override readonly name = 'StatementMalformed';
  readonly code = 'statement_malformed';

  constructor(readonly errors: readonly StatementError[]) {
    super(
      `the statement has ${errors.length} error${errors.length === 1 ? '' : 's'}; nothing was imported:\n` +
        errors.map((error) => `  ${error.message}`).join('\n'),
    );
  }
}

/**
 * The import's findings do not fit one append (the event store's per-append limits), and
 * an import is one append or nothing. docs/reconciliation.md, "Limits", says what to do.
 */
export class StatementTooLarge extends ReconciliationError {
  override readonly name = 'StatementTooLarge';
  readonly code = 'statement_too_large';

  constructor(
    readonly events: number,
    readonly eventsMax: number,
  ) {
    super(`the import would append ${events} events to its reconciliation stream; one append holds at most ${eventsMax}`);
  }
}

/** Other writers kept changing the reconciliation stream through every retry. Nothing of this call was written. */
export class ReconciliationConflict extends ReconciliationError {
  override readonly name = 'ReconciliationConflict';
  readonly code = 'reconciliation_conflict';

  constructor(
    readonly streamName: string,
    readonly attempts: number,
  ) {
    super(`the reconciliation stream ${streamName} changed concurrently on each of ${attempts} attempts; retry`);
  }
}
