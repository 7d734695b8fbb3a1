/**
 * Exit codes of `ledger`. Scripts and cron jobs branch on them, so they are a contract
 * (docs/cli.md): a check that failed (1) must be told apart from a check that could not
 * run (3), or an unreachable database would page someone as a corrupt ledger.
 */
export const EXIT = {
  /** The command did what was asked; for `verify`, the ledger and the read models agree. */
  ok: 0,
  /** The command ran and found a problem: differences, invariant violations, a malformed file, nothing found. */
  failed: 1,
  /** The command line is wrong: unknown command, missing or malformed argument or option. */
  usage: 2,
  /** The command could not run: configuration, database or event store unavailable, an unexpected error. */
  unavailable: 3,
  /** Interrupted by SIGINT (128 + 2, the shell's convention). */
  interrupted: 130,
  /** The reader of stdout went away (`ledger history ... | head`): 128 + SIGPIPE, as if killed by it. */
  brokenPipe: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error meant for the operator: its message is printed as is on stderr (no stack) and
 * the process exits with `exitCode`. Anything else that escapes a command is unexpected and
 * is printed with its stack, exit code 3.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT.usage);
}

export function unavailable(message: string): CliError {
  return new CliError(message, EXIT.unavailable);
}
