import { Command, CommandRunner, Option } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { toJson, write } from '../cli/output';
import { parseLogPoint, type LogPoint } from '../cli/parse';
import { LedgerConnection } from '../connection/ledger-connection';
import { balanceAsOf, balanceRecord, formatBalance } from './balance-as-of';

interface BalanceOptions {
  asOf?: LogPoint;
  json?: boolean;
}

@Command({
  name: 'balance',
  arguments: '<account>',
  argsDescription: { account: 'the account id (without the account- prefix)' },
  description: "fold an account's stream with the domain's account decider up to a point of the log and print its balance",
})
export class BalanceCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({
    flags: '--as-of <position|time>',
    description: 'a global position, or an ISO-8601 time with a zone (the last event recorded at or before it); default: the head',
  })
  parseAsOf(value: string): LogPoint {
    return parseLogPoint(value, '--as-of');
  }

  @Option({ flags: '--json', description: 'one JSON object; amounts and positions as digit strings' })
  parseJson(): boolean {
    return true;
  }

  async run([accountId]: string[], options: BalanceOptions): Promise<void> {
    const store = await this.connection.store();
    const balance = await balanceAsOf(store, accountId!, options.asOf ?? null);
    await write(this.context.streams.out, options.json ? `${toJson(balanceRecord(balance))}\n` : formatBalance(balance));
  }
}
