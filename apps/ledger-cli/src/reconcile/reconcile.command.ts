import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { isChannel, isIsoDate } from '@ledger/domain';
import { generateTraceparent } from '@ledger/platform';
import {
  importStatement,
  ReconciliationConflict,
  StatementMalformed,
  StatementTooLarge,
  type ImportStatementResult,
} from '@ledger/reconciliation';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { CliError, EXIT, usageError } from '../cli/cli-error';
import { formatTable, toJson, write } from '../cli/output';
import { LedgerConnection } from '../connection/ledger-connection';

interface ReconcileImportOptions {
  channel: string;
  date: string;
  principal?: string;
  json?: boolean;
}

@SubCommand({
  name: 'import',
  arguments: '<file>',
  argsDescription: { file: "the provider's settlement statement (CSV, docs/reconciliation.md)" },
  description: "match a provider's settlement statement against the ledger and record the findings in reconciliation-<channel>-<date>",
})
export class ReconcileImportCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({ flags: '--channel <channel>', description: 'the payout channel the statement is from', required: true })
  parseChannel(value: string): string {
    if (!isChannel(value)) throw usageError(`--channel: ${JSON.stringify(value)} is not a channel (lower-case letters, digits and _)`);
    return value;
  }

  @Option({ flags: '--date <YYYY-MM-DD>', description: "the statement's day; every line's settled_date must be this day", required: true })
  parseDate(value: string): string {
    if (!isIsoDate(value)) throw usageError(`--date: ${JSON.stringify(value)} is not a calendar date YYYY-MM-DD`);
    return value;
  }

  @Option({ flags: '--principal <who>', description: 'who imports, recorded on the events (default: cli:<login name>)' })
  parsePrincipal(value: string): string {
    if (value.trim().length === 0) throw usageError('--principal must name who imports');
    return value;
  }

  @Option({ flags: '--json', description: 'print the result as one JSON object' })
  parseJson(): boolean {
    return true;
  }

  async run([file]: string[], options: ReconcileImportOptions): Promise<void> {
    let csv: Buffer;
    try {
      csv = await readFile(file!);
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.failed);
    }
    const store = await this.connection.store();
    const correlationId = randomUUID();
    let result: ImportStatementResult;
    try {
      result = await importStatement({
        store,
        channel: options.channel,
        date: options.date,
        csv,
        principal: options.principal ?? `cli:${userInfo().username}`,
        now: new Date().toISOString(),
        metadata: { correlationId, causationId: correlationId, traceparent: generateTraceparent() },
      });
    } catch (error) {
      if (error instanceof StatementMalformed) {
        // Every line at fault, one per line: the operator fixes them all in one go.
        throw new CliError(`${file} is not a valid statement; nothing was imported:\n${error.errors.map((e) => `  ${e.message}`).join('\n')}`, EXIT.failed);
      }
      if (error instanceof StatementTooLarge) throw new CliError(error.message, EXIT.failed);
      if (error instanceof ReconciliationConflict) throw new CliError(error.message, EXIT.unavailable);
      throw error;
    }
    await write(this.context.streams.out, options.json ? `${toJson(result)}\n` : formatImport(result));
  }
}

@Command({
  name: 'reconcile',
  description: 'reconcile provider statements with the ledger',
  subCommands: [ReconcileImportCommand],
})
export class ReconcileCommand extends CommandRunner {
  async run(params: string[]): Promise<void> {
    throw usageError(`${params.length === 0 ? 'reconcile needs a subcommand' : `unknown reconcile command ${JSON.stringify(params[0])}`}\n\n${this.command.helpInformation()}`);
  }
}

export function formatImport(result: ImportStatementResult): string {
  const lines = [
    result.replayed
      ? `statement ${result.statementId} was already imported into ${result.streamName}: nothing was written; its original result follows`
      : `imported statement ${result.statementId} into ${result.streamName} (position ${result.position.toString()})`,
  ];
  if (result.supersedes !== null) lines.push(`it replaces statement ${result.supersedes}`);
  if (result.supersededBy !== null) lines.push(`a later import replaced it: statement ${result.supersededBy}`);
  lines.push(`lines ${result.items}, matched ${result.matched}, discrepancies ${result.discrepancies.length}`);
  let text = lines.map((line) => `${line}\n`).join('');
  if (result.discrepancies.length > 0) {
    text += `\n${formatTable(
      ['kind', 'line', 'withdrawal', 'provider reference', 'amount (statement)', 'amount (ledger)', 'currency', 'status (statement)', 'status (ledger)', 'note'],
      result.discrepancies.map((d) => [
        d.kind,
        d.line === null ? '-' : String(d.line),
        d.withdrawalId ?? '-',
        d.providerReference ?? '-',
        d.amountStatement ?? '-',
        d.amountLedger ?? '-',
        d.currencyLedger !== null && d.currencyLedger !== d.currency ? `${d.currency ?? '-'} (ledger ${d.currencyLedger})` : (d.currency ?? '-'),
        d.statusStatement ?? '-',
        d.statusLedger ?? '-',
        d.note,
      ]),
    )}`;
    text += `\neach discrepancy waits in the reconciliation review queue (GET /v1/reconciliation/discrepancies); docs/operations.md says how to work it\n`;
  }
  return text;
}
