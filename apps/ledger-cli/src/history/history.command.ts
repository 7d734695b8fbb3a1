import { STREAM_NAME_PATTERN, type EventStore, type RecordedEvent } from '@ledger/event-store';
import { Command, CommandRunner, Option } from 'nest-commander';
import { CliContext } from '../cli/cli-context';
import { CliError, EXIT, usageError } from '../cli/cli-error';
import { toJson, write, type CliStreams } from '../cli/output';
import { LedgerConnection } from '../connection/ledger-connection';

interface HistoryOptions {
  json?: boolean;
}

/** Events read per round trip; a hot account's stream can hold millions. */
const PAGE_SIZE = 1_000;

@Command({
  name: 'history',
  arguments: '<stream>',
  argsDescription: { stream: 'a stream name: account-<id>, withdrawal-<id>, reconciliation-<channel>-<date>, callback-<id>' },
  description: 'print every event of a stream with revision, global position, time, type, data and metadata',
})
export class HistoryCommand extends CommandRunner {
  constructor(
    private readonly connection: LedgerConnection,
    private readonly context: CliContext,
  ) {
    super();
  }

  @Option({ flags: '--json', description: 'one JSON object per event per line (NDJSON)' })
  parseJson(): boolean {
    return true;
  }

  async run([stream]: string[], options: HistoryOptions): Promise<void> {
    if (!STREAM_NAME_PATTERN.test(stream!)) {
      throw usageError(`${JSON.stringify(stream)} is not a stream name (category-id, e.g. account-acc-1 or withdrawal-w-1)`);
    }
    const store = await this.connection.store();
    const count = await printHistory(store, stream!, { json: options.json === true, streams: this.context.streams, signal: this.context.signal });
    if (count === 0) throw new CliError(`stream ${stream} has no events`, EXIT.failed);
  }
}

/**
 * Prints a stream in revision order, page by page, and returns how many events it printed.
 * Human form: a header line per event, then its data and metadata as one-line JSON each,
 * so `grep` finds a field and the line it belongs to.
 */
export async function printHistory(
  store: EventStore,
  stream: string,
  options: { json: boolean; streams: CliStreams; signal?: AbortSignal },
): Promise<number> {
  const out = options.streams.out;
  let count = 0;
  for (let fromRevision = 0n; ; ) {
    if (options.signal?.aborted) throw new CliError('interrupted', EXIT.interrupted);
    const page = await store.readStream(stream, { fromRevision, maxCount: PAGE_SIZE });
    for (const event of page) {
      await write(out, options.json ? `${toJson(historyRecord(event))}\n` : humanEvent(event));
    }
    count += page.length;
    if (page.length < PAGE_SIZE) return count;
    fromRevision = page[page.length - 1]!.streamRevision + 1n;
  }
}

export function historyRecord(event: RecordedEvent): Record<string, unknown> {
  return {
    stream: event.streamName,
    revision: event.streamRevision,
    position: event.globalPosition,
    recordedAt: event.recordedAt,
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  };
}

function humanEvent(event: RecordedEvent): string {
  return (
    `#${event.streamRevision.toString()}  position ${event.globalPosition.toString()}  ${event.recordedAt.toISOString()}  ${event.type}  id ${event.id}\n` +
    `    data      ${toJson(event.data)}\n` +
    `    metadata  ${toJson(event.metadata)}\n`
  );
}
