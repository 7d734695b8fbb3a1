import { Command, CommandRunner, Option } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { CliError, EXIT } from '../cli/cli-error';
import { write } from '../cli/output';
import { parsePositiveInteger } from '../cli/parse';
import { Progress } from '../cli/progress';
import { LedgerConnection } from '../connection/ledger-connection';
import { verifyLedger, type VerifyReport } from './verify-ledger';
import { formatVerifyReport, verifyReportJson } from './verify-report';

interface VerifyOptions {
  json?: boolean;
  maxFindings?: number;
  batchSize?: number;
}

@Command({
  name: 'verify',
  description:
    'replay every event in memory, check every invariant, and compare every read model row by row with PostgreSQL at its checkpoint; exit 1 on any difference',
})
export class VerifyCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({ flags: '--json', description: 'print the report as one JSON object' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--max-findings <n>', description: 'differences and violations listed (all are counted; default 100)' })
  parseMaxFindings(value: string): number {
    return parsePositiveInteger(value, '--max-findings');
  }

  @Option({ flags: '--batch-size <events>', description: 'events read per page (default 5000)' })
  parseBatchSize(value: string): number {
    return parsePositiveInteger(value, '--batch-size', 100_000);
  }

  async run(_params: string[], options: VerifyOptions): Promise<void> {
    const store = await this.connection.store();
    const pool = await this.connection.pool();
    const head = await store.headPosition();
    const progress = Progress.start(this.context.streams, 'verify', head);
    let report: VerifyReport;
    try {
      report = await verifyLedger({
        store,
        pool,
        densePositions: this.connection.eventStoreKind() === 'postgres',
        maxFindings: options.maxFindings,
        pageSize: options.batchSize,
        signal: this.context.signal,
        onProgress: (position, events, target) => {
          progress.setTotal(target);
          progress.update(position, events, 'replaying');
        },
      });
    } finally {
      progress.stop();
    }
    await write(this.context.streams.out, options.json ? verifyReportJson(report) : formatVerifyReport(report));
    if (!report.ok) {
      throw new CliError(
        `verify found ${report.differenceCount} difference(s) and ${report.violationCount} invariant violation(s)`,
        EXIT.failed,
      );
    }
  }
}
