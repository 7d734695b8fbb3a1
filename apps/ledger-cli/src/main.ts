import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandFactory, CommandRunnerService, type CommandRunner } from 'nest-commander';
import { CliContext } from './cli/cli-context';
import { CliError, EXIT, type ExitCode } from './cli/cli-error';
import { LedgerCliModule } from './ledger-cli.module';

/** commander's Command, typed through nest-commander (commander itself is not a dependency of ours). */
type CommanderCommand = Parameters<CommandRunner['setCommand']>[0];

/** What commander throws from its exit override: `exitCode` 0 for --help and --version. */
interface CommanderExit extends Error {
  code: string;
  exitCode: number;
}

function isCommanderExit(error: unknown): error is CommanderExit {
  return error instanceof Error && typeof (error as Partial<CommanderExit>).code === 'string' && (error as Partial<CommanderExit>).code!.startsWith('commander.');
}

/**
 * `ledger`: the audit and replay CLI (docs/cli.md). Run the compiled file,
 * `node dist/apps/ledger-cli/src/main.js <command>`: nest-commander needs the decorator
 * metadata that only the TypeScript build emits.
 *
 * Exit codes are a contract (`EXIT`): 0 done, 1 a check failed or the input is wrong,
 * 2 usage, 3 could not run, 130 interrupted. nest-commander's defaults would break it in two
 * places, so both are replaced: its service error handler prints the error and lets the
 * process exit 0, and commander calls `process.exit` itself on a usage error, before any
 * connection could be closed. Here every error, commander's included, ends in one place
 * that closes the application (and with it every pool and the embedded server this process
 * started) and then sets the exit code.
 */
async function main(): Promise<ExitCode> {
  let failure: unknown;
  const app: INestApplicationContext = await CommandFactory.createWithoutRunning(LedgerCliModule, {
    logger: false,
    cliName: 'ledger',
    serviceErrorHandler: (error) => {
      failure = error;
    },
    errorHandler: (error) => {
      throw error;
    },
  });
  configureCommands(app);
  const context = app.get(CliContext);
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts += 1;
    // The first Ctrl-C stops the command between batches and closes the connections; a second one does not wait.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write('\nledger: interrupted; stopping after the current batch (Ctrl-C again to quit at once)\n');
    context.interrupt();
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  // A closed pipe surfaces on the next write (`write` turns it into exit 141); the stream's
  // own 'error' event must not crash the process before that.
  process.stdout.on('error', () => undefined);
  try {
    await CommandFactory.runApplication(app);
  } catch (error) {
    failure ??= error;
  } finally {
    await app.close().catch((error: unknown) => {
      failure ??= error;
    });
  }
  return report(failure, context.signal.aborted);
}

/**
 * Every command (and the root) throws on a usage error instead of exiting, and prints the
 * usage after the error, so a wrong command line says how to write a right one.
 */
function configureCommands(app: INestApplicationContext): void {
  // The root command is private to the runner service; it is the parent of every command.
  const root = (app.get(CommandRunnerService) as unknown as { commander: CommanderCommand }).commander;
  const visit = (command: CommanderCommand) => {
    command.exitOverride((error) => {
      throw error;
    });
    command.showHelpAfterError();
    for (const child of command.commands) visit(child);
  };
  root.name('ledger').description('audit and replay tooling for the ledger (docs/cli.md)');
  visit(root);
}

function report(failure: unknown, interrupted: boolean): ExitCode {
  if (failure === undefined) return interrupted ? EXIT.interrupted : EXIT.ok;
  if (isCommanderExit(failure)) {
    // commander has already printed the message (and the usage after it).
    return failure.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (failure instanceof CliError) {
    if (failure.message !== '') process.stderr.write(`ledger: ${failure.message}\n`);
    return failure.exitCode;
  }
  if (interrupted) {
    process.stderr.write(`ledger: interrupted (${failure instanceof Error ? failure.message : String(failure)})\n`);
    return EXIT.interrupted;
  }
  process.stderr.write(`ledger: unexpected error: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`);
  return EXIT.unavailable;
}

main()
  .catch((error: unknown) => report(error, false))
  .then(async (code) => {
    process.exitCode = code;
    // Everything is closed: the process ends by itself once stdout has drained. Should
    // anything still hold the event loop, do not hang a script: exit after a grace period.
    setTimeout(() => process.exit(code), 2_000).unref();
  });
