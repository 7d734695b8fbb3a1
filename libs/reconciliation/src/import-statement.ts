import {
  reconciliationDecider,
  reconciliationStream,
  type DiscrepancyKind,
  type ReconciliationEvent,
  type StatementLineStatus,
} from '@ledger/domain';
import { EVENT_STORE_LIMITS, EventIdConflict, WrongExpectedVersion, type EventMetadata, type EventStore } from '@ledger/event-store';
import { ReconciliationConflict, StatementMalformed, StatementTooLarge } from './errors';
import { readLedgerPayouts } from './ledger-view';
import { importEventId, loadReconciliationStream, toNewEvents, type LoadedStream } from './reconciliation-stream';
import { parseStatement } from './statement';

export interface ImportStatementOptions {
  store: EventStore;
  channel: string;
  /** The statement's date, `YYYY-MM-DD`: every line's `settled_date` must be this day. */
  date: string;
  /** The file as read: bytes (checked to be UTF-8) or text. */
  csv: string | Uint8Array;
  /** Who imports: stored as `importedBy` and in event metadata. */
  principal: string;
  /** The instant of the import, ISO-8601 UTC; it becomes the events' business time. */
  now: string;
  /** Correlation, causation and trace ids for the events' metadata. */
  metadata?: EventMetadata;
  /** Appends tried against a stream that other writers keep changing before giving up. Default 5. */
  maxAttempts?: number;
}

/** One discrepancy as the import reports it; every field is JSON-safe (amounts are digit strings). */
export interface ImportedDiscrepancy {
  readonly discrepancyId: string;
  readonly kind: DiscrepancyKind;
  /** The statement line, or null when the statement lacks the item. */
  readonly line: number | null;
  readonly withdrawalId: string | null;
  readonly providerReference: string | null;
  readonly amountStatement: string | null;
  readonly amountLedger: string | null;
  readonly currency: string | null;
  readonly currencyLedger: string | null;
  readonly statusStatement: StatementLineStatus | null;
  readonly statusLedger: string | null;
  readonly note: string;
}

export interface ImportStatementResult {
  readonly channel: string;
  readonly date: string;
  readonly streamName: string;
  readonly statementId: string;
  /** True when the stream already held this statement: nothing was written, the original result is reported. */
  readonly replayed: boolean;
  /** The statement this import replaced, or null. */
  readonly supersedes: string | null;
  /** For a replayed statement that a later import replaced: that statement; otherwise null. */
  readonly supersededBy: string | null;
  /** Statement lines. */
  readonly items: number;
  readonly matched: number;
  readonly discrepancies: readonly ImportedDiscrepancy[];
  /** Global position of the import's last event: pass it as `minPosition` to read the report. */
  readonly position: bigint;
}

/**
 * Imports a provider settlement statement for one channel and day (docs/reconciliation.md):
 *
 * 1. Parse the file strictly. Any malformed line throws `StatementMalformed` listing every
 *    error with its line number; nothing is written.
 * 2. Read the reconciliation stream. A statement with the same digest is already there:
 *    return its original result (`replayed: true`) and write nothing.
 * 3. Read the ledger's payouts from the event store and decide the findings
 *    (`reconciliationDecider`).
 * 4. Append every event of the import in ONE append, with the stream's expected revision
 *    and event ids derived from the statement, so a retry after a crash writes nothing twice.
 *    When another writer got there first, reload and decide again (a concurrent import of the
 *    same file becomes a replay; of another file, a supersession), up to `maxAttempts`.
 */
export async function importStatement(options: ImportStatementOptions): Promise<ImportStatementResult> {
  const { store, channel, date, principal, now } = options;
  const streamName = reconciliationStream(channel, date);
  const parsed = parseStatement(options.csv, date);
  if (!parsed.ok) throw new StatementMalformed(parsed.errors);
  const { statementId, lines } = parsed.statement;

  let loaded = await loadReconciliationStream(store, streamName);
  if (loaded.state.statementIds.includes(statementId)) return reportFromStream(loaded, channel, date, statementId);

  const ledger = await readLedgerPayouts(store, { channel, statementDate: date, withdrawalIds: new Set(lines.map((line) => line.withdrawalId)) });
  const attempts = options.maxAttempts ?? 5;
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    if (attempt > 1) {
      loaded = await loadReconciliationStream(store, streamName);
      if (loaded.state.statementIds.includes(statementId)) return reportFromStream(loaded, channel, date, statementId);
    }
    const events = reconciliationDecider.decide(
      { type: 'ImportStatement', data: { channel, statementDate: date, statementId, lines, ledger }, metadata: { now, principal } },
      loaded.state,
    );
    if (events.length > EVENT_STORE_LIMITS.maxEventsPerAppend) throw new StatementTooLarge(events.length, EVENT_STORE_LIMITS.maxEventsPerAppend);
    const newEvents = toNewEvents(events, (index) => importEventId(streamName, statementId, index), { ...options.metadata, principal });
    try {
      const appended = await store.append(streamName, newEvents, { expectedRevision: loaded.expectedRevision });
      return { ...report(events, channel, date, streamName, statementId, appended.position), replayed: appended.idempotent };
    } catch (error) {
      // Someone else appended first, possibly this very import from another process (its
      // events carry our ids with another import time): reload and decide again.
      if (!(error instanceof WrongExpectedVersion) && !(error instanceof EventIdConflict)) throw error;
    }
  }
  throw new ReconciliationConflict(streamName, attempts);
}

/** The result of a statement the stream already holds, rebuilt from its recorded events. */
function reportFromStream(loaded: LoadedStream, channel: string, date: string, statementId: string): ImportStatementResult {
  const mine: ReconciliationEvent[] = [];
  let position = -1n;
  let supersededBy: string | null = null;
  for (const { recorded, event } of loaded.entries) {
    if (belongsTo(event, statementId)) {
      mine.push(event);
      if (recorded.globalPosition > position) position = recorded.globalPosition;
    }
    if (event.type === 'StatementImported' && event.data.supersedes === statementId) supersededBy = event.data.statementId;
  }
  return { ...report(mine, channel, date, loaded.streamName, statementId, position), replayed: true, supersededBy };
}

function belongsTo(event: ReconciliationEvent, statementId: string): boolean {
  switch (event.type) {
    case 'StatementImported':
    case 'ItemMatched':
    case 'DiscrepancyFound':
      return event.data.statementId === statementId;
    case 'DiscrepancyResolved':
      // The closures an import writes belong to it; an operator's resolution is later and not.
      return event.data.supersededBy === statementId;
  }
}

function report(
  events: readonly ReconciliationEvent[],
  channel: string,
  date: string,
  streamName: string,
  statementId: string,
  position: bigint,
): ImportStatementResult {
  const imported = events.find((event) => event.type === 'StatementImported');
  if (imported === undefined || imported.type !== 'StatementImported') throw new Error(`no StatementImported for ${statementId} in ${streamName}`);
  const discrepancies: ImportedDiscrepancy[] = [];
  for (const event of events) {
    if (event.type !== 'DiscrepancyFound') continue;
    const { data } = event;
    discrepancies.push({
      discrepancyId: data.discrepancyId,
      kind: data.kind,
      line: data.line,
      withdrawalId: data.withdrawalId,
      providerReference: data.providerReference,
      amountStatement: data.amountStatement,
      amountLedger: data.amountLedger,
      currency: data.currency,
      currencyLedger: data.currencyLedger,
      statusStatement: data.statusStatement,
      statusLedger: data.statusLedger,
      note: data.note,
    });
  }
  return {
    channel,
    date,
    streamName,
    statementId,
    replayed: false,
    supersedes: imported.data.supersedes,
    supersededBy: null,
    items: imported.data.itemCount,
    matched: imported.data.matchedCount,
    discrepancies,
    position,
  };
}
