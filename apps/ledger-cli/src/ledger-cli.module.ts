import { Module } from '@nestjs/common';
import { BalanceCommand } from './balance/balance.command';
import { CliContext } from './cli/cli-context';
import { LedgerConnection } from './connection/ledger-connection';
import { ExportCommand, ExportJournalCommand } from './export/export.command';
import { HistoryCommand } from './history/history.command';
import { RebuildCommand } from './rebuild/rebuild.command';
import { ReconcileCommand, ReconcileImportCommand } from './reconcile/reconcile.command';
import { VerifyCommand } from './verify/verify.command';

/** Every `ledger` command, and the connections they share (opened on first use, closed on shutdown). */
@Module({
  providers: [
    CliContext,
    LedgerConnection,
    HistoryCommand,
    BalanceCommand,
    RebuildCommand,
    VerifyCommand,
    ReconcileCommand,
    ReconcileImportCommand,
    ExportCommand,
    ExportJournalCommand,
  ],
})
export class LedgerCliModule {}
