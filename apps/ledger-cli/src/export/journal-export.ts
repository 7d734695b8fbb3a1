import { decodeAmount, isLedgerEventType, MalformedEventData, postingsOf, type LedgerEvent } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { parseUserLedgerAccount } from '@ledger/read-models';
import type { Writable } from 'node:stream';
import { CliError, EXIT } from '../cli/cli-error';
import { readLog, resolveLogPoint } from '../cli/log-position';
import { toJson, write } from '../cli/output';
import type { LogPoint } from '../cli/parse';

export const JOURNAL_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type JournalFormat = (typeof JOURNAL_FORMATS)[number];

/** One posting of one money event: a `journal_entries` row, with the amount as a digit string. */
export interface JournalLine {
  position: string;
  postingIndex: number;
  recordedAt: string;
  streamName: string;
  eventType: string;
  eventId: string;
  ledgerAccount: string;
  accountId: string | null;
  side: 'debit' | 'credit';
  amount: string;
  currency: string;
}

/** CSV columns: the `journal_entries` column names, in its order. */
const CSV_COLUMNS: ReadonlyArray<[string, keyof JournalLine]> = [
  ['position', 'position'],
  ['posting_index', 'postingIndex'],
  ['recorded_at', 'recordedAt'],
  ['stream_name', 'streamName'],
  ['event_type', 'eventType'],
  ['event_id', 'eventId'],
  ['ledger_account', 'ledgerAccount'],
  ['account_id', 'accountId'],
  ['side', 'side'],
  ['amount', 'amount'],
  ['currency', 'currency'],
];

export interface JournalExportOptions {
  format: JournalFormat;
  from?: LogPoint;
  to?: LogPoint;
  /** Only the postings to this user account's ledger accounts. */
  accountId?: string;
  out: Writable;
  signal?: AbortSignal;
  onProgress?: (position: bigint, events: number, until: bigint) => void;
}

export interface JournalExportResult {
  /** The positions exported: strictly after `after`, up to and including `until`. */
  after: bigint;
  until: bigint;
  events: number;
  lines: number;
}

/**
 * Streams the double-entry journal for a range of the log: every posting of every money
 * event, in log order.
 *
 * The lines are folded from the event log, not read from the `journal_entries` read model.
 * The log is the record an export stands on: it is complete up to the head whatever the
 * projector's lag, it cannot have been edited the way a table can (`ledger verify` would
 * flag such an edit, but an export must not depend on someone having run it), and it is
 * there when the read models are being rebuilt. The lines are exactly the rows the journal
 * projection writes (same key, same columns), so when `verify` passes the two agree. Each
 * line depends on one event only, so nothing is kept between pages.
 *
 * Bounds are inclusive. A position is taken as given; a time selects by the events'
 * recorded time: `--from` starts at the first event recorded at or after it, `--to` ends at
 * the last event recorded at or before it (`positionAtTime`).
 */
export async function exportJournal(store: EventStore, options: JournalExportOptions): Promise<JournalExportResult> {
  const head = await store.headPosition();
  const headPosition = head < 0n ? 0n : head;
  const after =
    options.from === undefined ? 0n : options.from.kind === 'position' ? (options.from.position > 0n ? options.from.position - 1n : 0n) : await resolveLogPoint(store, options.from, false);
  const to = options.to === undefined ? headPosition : await resolveLogPoint(store, options.to, true);
  const until = to < headPosition ? to : headPosition;

  const out = options.out;
  let lines = 0;
  let events = 0;
  if (options.format === 'csv') await write(out, `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n`);
  if (options.format === 'json') await write(out, '[');

  for await (const page of readLog(store, { after, until, signal: options.signal })) {
    let chunk = '';
    for (const recorded of page) {
      events += 1;
      if (!isLedgerEventType(recorded.type)) continue;
      const postings = postingsOf({ type: recorded.type, data: recorded.data } as LedgerEvent);
      postings.forEach((posting, index) => {
        const accountId = parseUserLedgerAccount(posting.account)?.accountId ?? null;
        if (options.accountId !== undefined && accountId !== options.accountId) return;
        let amount: bigint;
        try {
          amount = decodeAmount(posting.amount);
        } catch (error) {
          if (error instanceof MalformedEventData) {
            throw new CliError(
              `position ${recorded.globalPosition.toString()} (${recorded.type}) has a malformed posting amount ${JSON.stringify(posting.amount)}: the export stops rather than write it; run ledger verify`,
            );
          }
          throw error;
        }
        const line: JournalLine = {
          position: recorded.globalPosition.toString(),
          postingIndex: index,
          recordedAt: recorded.recordedAt.toISOString(),
          streamName: recorded.streamName,
          eventType: recorded.type,
          eventId: recorded.id,
          ledgerAccount: posting.account,
          accountId,
          side: posting.side,
          amount: amount.toString(),
          currency: posting.currency,
        };
        chunk += formatLine(options.format, line, lines === 0);
        lines += 1;
      });
    }
    if (chunk.length > 0) await write(out, chunk);
    options.onProgress?.(page[page.length - 1]!.globalPosition, events, until);
  }
  if (options.signal?.aborted) throw new CliError('export interrupted', EXIT.interrupted);
  if (options.format === 'json') await write(out, lines === 0 ? ']\n' : '\n]\n');
  return { after, until, events, lines };
}

function formatLine(format: JournalFormat, line: JournalLine, first: boolean): string {
  switch (format) {
    case 'csv':
      return `${CSV_COLUMNS.map(([, field]) => csvField(line[field])).join(',')}\r\n`;
    case 'json':
      return `${first ? '\n' : ',\n'}${toJson(line)}`;
    case 'ndjson':
      return `${toJson(line)}\n`;
  }
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; null is empty. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
