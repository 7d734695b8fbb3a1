import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { once } from 'node:events';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { usageError } from '../cli/cli-error';
import { grouped, isInteractive } from '../cli/output';
import { parseLogPoint, type LogPoint } from '../cli/parse';
import { Progress } from '../cli/progress';
import { LedgerConnection } from '../connection/ledger-connection';
import { exportJournal, JOURNAL_FORMATS, type JournalFormat } from './journal-export';

interface ExportJournalOptions {
  format: JournalFormat;
  from?: LogPoint;
  to?: LogPoint;
  out?: string;
  account?: string;
}

@SubCommand({
  name: 'journal',
  description: 'stream the double-entry journal (every posting of every money event, folded from the log) as CSV or JSON',
})
export class ExportJournalCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({ flags: '--format <format>', description: `${JOURNAL_FORMATS.join(' | ')}`, required: true })
  parseFormat(value: string): JournalFormat {
    if (!(JOURNAL_FORMATS as readonly string[]).includes(value)) {
      throw usageError(`--format: expected ${JOURNAL_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as JournalFormat;
  }

  @Option({ flags: '--from <position|time>', description: 'first position (inclusive), or the first event recorded at or after this ISO-8601 time' })
  parseFrom(value: string): LogPoint {
    return parseLogPoint(value, '--from');
  }

  @Option({ flags: '--to <position|time>', description: 'last position (inclusive), or the last event recorded at or before this ISO-8601 time; default: the head' })
  parseTo(value: string): LogPoint {
    return parseLogPoint(value, '--to');
  }

  @Option({ flags: '--account <id>', description: "only the postings to this account's user:<id>:available and user:<id>:pending" })
  parseAccount(value: string): string {
    return value;
  }

  @Option({ flags: '--out <file>', description: 'write to this file (complete or not at all) instead of stdout' })
  parseOut(value: string): string {
    return value;
  }

  async run(_params: string[], options: ExportJournalOptions): Promise<void> {
    const store = await this.connection.store();
    const streams = this.context.streams;
    // A bar on the terminal would mix into the export when both go there.
    const showProgress = options.out !== undefined || !isInteractive(streams.out);
    const head = await store.headPosition();
    const progress = Progress.start(streams, 'export', showProgress ? head : 0n);
    const run = async (out: Writable) =>
      exportJournal(store, {
        format: options.format,
        from: options.from,
        to: options.to,
        accountId: options.account,
        out,
        signal: this.context.signal,
        onProgress: (position, events, until) => {
          progress.setTotal(until);
          progress.update(position, events, 'exporting');
        },
      });
    try {
      if (options.out === undefined) {
        await run(streams.out);
        return;
      }
      // Written beside the target and renamed into place at the end: a reader (or a
      // scheduled upload) never sees half an export, and a failed one leaves nothing.
      const partial = join(dirname(options.out), `.${basename(options.out)}.${process.pid}.partial`);
      const file = createWriteStream(partial, { flags: 'wx' });
      try {
        const result = await run(file);
        file.end();
        await once(file, 'finish');
        await rename(partial, options.out);
        progress.stop();
        streams.err.write(
          `ledger: exported ${grouped(result.lines)} journal lines from ${grouped(result.events)} events (positions ${(result.after + 1n).toString()} to ${result.until.toString()}) to ${options.out}\n`,
        );
      } catch (error) {
        file.destroy();
        await unlink(partial).catch(() => undefined);
        throw error;
      }
    } finally {
      progress.stop();
    }
  }
}

@Command({
  name: 'export',
  description: 'export ledger data',
  subCommands: [ExportJournalCommand],
})
export class ExportCommand extends CommandRunner {
  async run(params: string[]): Promise<void> {
    throw usageError(`${params.length === 0 ? 'export needs a subcommand' : `unknown export ${JSON.stringify(params[0])}`}\n\n${this.command.helpInformation()}`);
  }
}
