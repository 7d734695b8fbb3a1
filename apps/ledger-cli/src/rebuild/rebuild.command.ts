import {
  createProjections,
  PROJECTION_NAMES,
  rebuildProjections,
  RebuildInProgress,
  type RebuildResult,
} from '@ledger/read-models';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { CliError, EXIT, usageError } from '../cli/cli-error';
import { grouped, toJson, write } from '../cli/output';
import { parsePositiveInteger } from '../cli/parse';
import { Progress } from '../cli/progress';
import { LedgerConnection } from '../connection/ledger-connection';

interface RebuildOptions {
  batchSize?: number;
  json?: boolean;
}

@Command({
  name: 'rebuild',
  arguments: '<projection>',
  argsDescription: { projection: `one of ${PROJECTION_NAMES.join(', ')}, or all` },
  description: 'rebuild read models from the first event into shadow tables and swap them in, without read downtime',
})
export class RebuildCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({ flags: '--batch-size <events>', description: 'events per read and per shadow transaction (default 5000)' })
  parseBatchSize(value: string): number {
    return parsePositiveInteger(value, '--batch-size', 100_000);
  }

  @Option({ flags: '--json', description: 'print the result as one JSON object' })
  parseJson(): boolean {
    return true;
  }

  async run([projection]: string[], options: RebuildOptions): Promise<void> {
    const names = projection === 'all' ? [...PROJECTION_NAMES] : [projection!];
    if (!names.every((name) => (PROJECTION_NAMES as readonly string[]).includes(name))) {
      throw usageError(`no projection is named ${JSON.stringify(projection)}; known: ${PROJECTION_NAMES.join(', ')}, all`);
    }
    const store = await this.connection.store();
    const dataSource = await this.connection.dataSource();
    const head = await store.headPosition();
    const progress = Progress.start(this.context.streams, `rebuild ${projection!}`, head);
    let result: RebuildResult;
    try {
      result = await rebuildProjections(createProjections(names), {
        store,
        dataSource,
        batchSize: options.batchSize,
        signal: this.context.signal,
        onProgress: ({ phase, position, events }) => {
          if (position > head) progress.setTotal(position);
          progress.update(position, events, phase === 'fill' ? 'filling shadow tables' : phase === 'index' ? 'building indexes' : 'swapped');
        },
      });
    } catch (error) {
      if (this.context.signal.aborted) {
        throw new CliError('rebuild interrupted: the shadow tables and their checkpoints stay, and the next rebuild resumes from them', EXIT.interrupted);
      }
      if (error instanceof RebuildInProgress) throw new CliError(`${error.message}; wait for it, or stop it first`, EXIT.failed);
      throw error;
    } finally {
      progress.stop();
    }
    await write(
      this.context.streams.out,
      options.json
        ? `${toJson(result)}\n`
        : `rebuilt ${result.projections.join(', ')}: ${grouped(result.events)} events` +
            `${result.resumedFrom > 0n ? ` (resumed from position ${result.resumedFrom.toString()})` : ''}` +
            ` in ${result.seconds.toFixed(1)} s, swapped in at position ${result.position.toString()}` +
            ` (readers waited ${result.swapMs.toFixed(0)} ms)\n`,
    );
  }
}
