import {
  assertCommandMetadata,
  assertNever,
  requireChannel,
  requireEntityId,
  requireText,
  type Decider,
  type DomainCommand,
} from './decider';
import { DomainRejection, InvariantViolation, type RejectionDetails } from './errors';
import type {
  DiscrepancyFound,
  DiscrepancyKind,
  DiscrepancyResolved,
  ItemMatched,
  ReconciliationEvent,
  StatementImported,
} from './events';
import { isIsoDate } from './ids';
import { encodeAmount } from './money';
import { matchStatement, type Finding, type LedgerPayout, type StatementLine } from './reconciliation-matching';

/**
 * The reconciliation decider, stream `reconciliation-<channel>-<YYYY-MM-DD>`: one provider
 * statement per channel and day, matched against the ledger (`matchStatement`), and the
 * operators' resolutions of what did not match.
 *
 * - Importing a statement whose id (the digest of its content) the stream already holds is
 *   a no-op: re-importing the same file changes nothing, whether it is the current
 *   statement or one replaced since.
 * - Importing another statement replaces the current one: the new findings are computed
 *   from scratch and every discrepancy still open is closed as superseded, in the same
 *   append. The stream keeps both imports and every finding: the audit trail.
 * - A discrepancy is resolved once, by an operator with a reason. A superseded one cannot
 *   be resolved; its counterpart in the new statement can.
 *
 * The ledger's side arrives on the command (`ledger`), read by the caller from the event
 * store: the decider stays pure and the same command always decides the same events.
 */

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

export type ImportStatement = DomainCommand<
  'ImportStatement',
  {
    readonly channel: string;
    readonly statementDate: string;
    /** SHA-256 (64 lower-case hex digits) of the statement's normalised content. */
    readonly statementId: string;
    readonly lines: readonly StatementLine[];
    readonly ledger: readonly LedgerPayout[];
  }
>;

/** The deciding operator is `metadata.principal`; it is stored as `resolvedBy`. */
export type ResolveDiscrepancy = DomainCommand<
  'ResolveDiscrepancy',
  {
    readonly channel: string;
    readonly statementDate: string;
    readonly discrepancyId: string;
    readonly reason: string;
  }
>;

export type ReconciliationCommand = ImportStatement | ResolveDiscrepancy;

// ---------------------------------------------------------------------------------------
// Rejections
// ---------------------------------------------------------------------------------------

/**
 * The rules of the reconciliation stream, each with a stable code (ADR 0004). They are not
 * in `REJECTION_CODES` yet because that list and its HTTP table belong to other slices;
 * the reconciliation endpoints map these codes themselves (404 for not found, 409 for the
 * rest), and folding them into `REJECTION_CODES` later changes no code.
 */
export const RECONCILIATION_REJECTION_CODES = [
  'discrepancy_not_found',
  'discrepancy_already_resolved',
  'discrepancy_superseded',
] as const;

export type ReconciliationRejectionCode = (typeof RECONCILIATION_REJECTION_CODES)[number];

export class ReconciliationRejection extends Error {
  override readonly name = 'ReconciliationRejection';

  constructor(
    readonly code: ReconciliationRejectionCode,
    message: string,
    readonly details: RejectionDetails = {},
  ) {
    super(message);
  }
}

export function isReconciliationRejection(error: unknown, code?: ReconciliationRejectionCode): error is ReconciliationRejection {
  return error instanceof ReconciliationRejection && (code === undefined || error.code === code);
}

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

export type DiscrepancyState = 'open' | 'resolved' | 'superseded';

export interface DiscrepancyRecord {
  readonly statementId: string;
  readonly kind: DiscrepancyKind;
  readonly state: DiscrepancyState;
}

export interface ReconciliationState {
  /** Null until the first statement. */
  readonly channel: string | null;
  readonly statementDate: string | null;
  /** The statement the stream's findings currently stand on. */
  readonly currentStatementId: string | null;
  /** Every statement imported, oldest first. */
  readonly statementIds: readonly string[];
  readonly discrepancies: ReadonlyMap<string, DiscrepancyRecord>;
}

export function initialReconciliationState(): ReconciliationState {
  return { channel: null, statementDate: null, currentStatementId: null, statementIds: [], discrepancies: new Map() };
}

/** 64 lower-case hex digits: a SHA-256 digest. */
export const STATEMENT_ID_PATTERN = /^[0-9a-f]{64}$/;

/** The id of a statement line's item: unique in its stream across every statement imported there. */
export function statementItemId(statementId: string, line: number): string {
  return `${statementId.slice(0, 16)}-L${line}`;
}

/** The id of the n-th discrepancy (from 1) of a statement, zero-padded so ids sort in finding order. */
export function discrepancyIdFor(statementId: string, sequence: number): string {
  return `${statementId.slice(0, 16)}-D${String(sequence).padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------

export function decideReconciliation(command: ReconciliationCommand, state: ReconciliationState): ReconciliationEvent[] {
  assertCommandMetadata(command.metadata);
  requireStream(command.data.channel, command.data.statementDate, state);
  switch (command.type) {
    case 'ImportStatement':
      return importStatement(command, state);
    case 'ResolveDiscrepancy':
      return resolveDiscrepancy(command, state);
    default:
      return assertNever(command, 'reconciliation command');
  }
}

function importStatement(command: ImportStatement, state: ReconciliationState): ReconciliationEvent[] {
  const { channel, statementDate, statementId, lines, ledger } = command.data;
  const { now, principal } = command.metadata;
  if (!STATEMENT_ID_PATTERN.test(statementId)) {
    throw new DomainRejection('malformed_id', 'statementId must be a SHA-256 digest in lower-case hex', { field: 'statementId' });
  }
  requireLines(lines, statementDate);
  // The same content again: the stream already holds its findings.
  if (state.statementIds.includes(statementId)) return [];

  const findings = matchStatement({ channel, statementDate, lines, ledger });
  const matchedCount = findings.filter((finding) => finding.outcome === 'matched').length;
  const imported: StatementImported = {
    type: 'StatementImported',
    data: {
      channel,
      statementDate,
      statementId,
      itemCount: lines.length,
      matchedCount,
      discrepancyCount: findings.length - matchedCount,
      supersedes: state.currentStatementId,
      importedAt: now,
      importedBy: principal,
    },
  };
  const closed: DiscrepancyResolved[] = [...state.discrepancies]
    .filter(([, record]) => record.state === 'open')
    .map(([discrepancyId]) => ({
      type: 'DiscrepancyResolved',
      data: {
        channel,
        statementDate,
        discrepancyId,
        resolution: `superseded by statement ${statementId}`,
        supersededBy: statementId,
        resolvedAt: now,
        resolvedBy: principal,
      },
    }));
  let sequence = 0;
  const found = findings.map((finding): ItemMatched | DiscrepancyFound => {
    if (finding.outcome === 'matched') {
      const { line } = finding;
      return {
        type: 'ItemMatched',
        data: {
          channel,
          statementDate,
          statementId,
          itemId: statementItemId(statementId, line.line),
          line: line.line,
          withdrawalId: line.withdrawalId,
          providerReference: line.providerReference,
          status: line.status,
          amount: encodeAmount(line.amount),
          currency: line.currency,
          matchedAt: now,
        },
      };
    }
    sequence += 1;
    return discrepancyFound(finding, { channel, statementDate, statementId, discrepancyId: discrepancyIdFor(statementId, sequence), foundAt: now });
  });
  return [imported, ...closed, ...found];
}

function discrepancyFound(
  finding: Extract<Finding, { outcome: 'discrepancy' }>,
  ids: { channel: string; statementDate: string; statementId: string; discrepancyId: string; foundAt: string },
): DiscrepancyFound {
  const { line, payout } = finding;
  return {
    type: 'DiscrepancyFound',
    data: {
      channel: ids.channel,
      statementDate: ids.statementDate,
      statementId: ids.statementId,
      discrepancyId: ids.discrepancyId,
      kind: finding.kind,
      itemId: line === null ? null : statementItemId(ids.statementId, line.line),
      line: line?.line ?? null,
      withdrawalId: line?.withdrawalId ?? payout?.withdrawalId ?? null,
      providerReference: line?.providerReference ?? payout?.providerReference ?? null,
      amountStatement: line === null ? null : encodeAmount(line.amount),
      amountLedger: payout === null ? null : encodeAmount(payout.amount),
      currency: line?.currency ?? payout?.currency ?? null,
      currencyLedger: payout?.currency ?? null,
      statusStatement: line?.status ?? null,
      statusLedger: finding.statusLedger,
      note: finding.note,
      foundAt: ids.foundAt,
    },
  };
}

function resolveDiscrepancy(command: ResolveDiscrepancy, state: ReconciliationState): ReconciliationEvent[] {
  const { channel, statementDate, discrepancyId, reason } = command.data;
  requireEntityId(discrepancyId, 'discrepancyId');
  requireText(reason, 'reason');
  const record = state.discrepancies.get(discrepancyId);
  const details = { channel, statementDate, discrepancyId };
  if (record === undefined) {
    throw new ReconciliationRejection('discrepancy_not_found', `no discrepancy ${discrepancyId} in the reconciliation of ${channel} on ${statementDate}`, details);
  }
  if (record.state === 'resolved') {
    throw new ReconciliationRejection('discrepancy_already_resolved', `discrepancy ${discrepancyId} is already resolved`, details);
  }
  if (record.state === 'superseded') {
    throw new ReconciliationRejection(
      'discrepancy_superseded',
      `discrepancy ${discrepancyId} belongs to a statement that a corrected one replaced; resolve the new statement's findings`,
      { ...details, statementId: record.statementId },
    );
  }
  return [
    {
      type: 'DiscrepancyResolved',
      data: {
        channel,
        statementDate,
        discrepancyId,
        resolution: reason,
        supersededBy: null,
        resolvedAt: command.metadata.now,
        resolvedBy: command.metadata.principal,
      },
    },
  ];
}

/** The command's channel and date name this stream; a different pair is a wiring bug, never a user error. */
function requireStream(channel: string, statementDate: string, state: ReconciliationState): void {
  requireChannel(channel);
  if (!isIsoDate(statementDate)) {
    throw new DomainRejection('malformed_date', 'a statement date is a calendar date YYYY-MM-DD', { field: 'statementDate' });
  }
  if (state.channel !== null && (state.channel !== channel || state.statementDate !== statementDate)) {
    throw new InvariantViolation(
      `a command for ${channel} on ${statementDate} reached the reconciliation of ${state.channel} on ${String(state.statementDate)}`,
    );
  }
}

/** The parser already checked every line; these are the facts the findings rely on. */
function requireLines(lines: readonly StatementLine[], statementDate: string): void {
  let previous = 1;
  for (const line of lines) {
    if (!Number.isInteger(line.line) || line.line <= previous) {
      throw new InvariantViolation(`statement lines must come in file order after the header, got line ${line.line} after ${previous}`);
    }
    previous = line.line;
    requireEntityId(line.withdrawalId, 'withdrawalId');
    requireText(line.providerReference, 'providerReference');
    if (line.amount <= 0n) {
      throw new DomainRejection('amount_must_be_positive', `line ${line.line}: a statement amount must be positive`, { line: line.line });
    }
    if (line.settledDate !== statementDate) {
      throw new DomainRejection('malformed_date', `line ${line.line}: settled_date ${line.settledDate} is not the statement date ${statementDate}`, {
        line: line.line,
      });
    }
  }
}

// ---------------------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------------------

export function evolveReconciliation(state: ReconciliationState, event: ReconciliationEvent): ReconciliationState {
  switch (event.type) {
    case 'StatementImported': {
      const { channel, statementDate, statementId, supersedes } = event.data;
      if (supersedes !== state.currentStatementId || state.statementIds.includes(statementId)) {
        throw new InvariantViolation(`StatementImported ${statementId} does not follow the stream's statements`);
      }
      return { ...state, channel, statementDate, currentStatementId: statementId, statementIds: [...state.statementIds, statementId] };
    }
    case 'ItemMatched':
      requireCurrent(state, event.data.statementId, event.type);
      return state;
    case 'DiscrepancyFound': {
      requireCurrent(state, event.data.statementId, event.type);
      if (state.discrepancies.has(event.data.discrepancyId)) {
        throw new InvariantViolation(`discrepancy ${event.data.discrepancyId} was found twice`);
      }
      const discrepancies = new Map(state.discrepancies);
      discrepancies.set(event.data.discrepancyId, { statementId: event.data.statementId, kind: event.data.kind, state: 'open' });
      return { ...state, discrepancies };
    }
    case 'DiscrepancyResolved': {
      const record = state.discrepancies.get(event.data.discrepancyId);
      if (record === undefined || record.state !== 'open') {
        throw new InvariantViolation(`DiscrepancyResolved for ${event.data.discrepancyId}, which is not open`);
      }
      const discrepancies = new Map(state.discrepancies);
      discrepancies.set(event.data.discrepancyId, { ...record, state: event.data.supersededBy === null ? 'resolved' : 'superseded' });
      return { ...state, discrepancies };
    }
    default:
      return assertNever(event, 'reconciliation event');
  }
}

function requireCurrent(state: ReconciliationState, statementId: string, type: string): void {
  if (state.currentStatementId !== statementId) {
    throw new InvariantViolation(`${type} of statement ${statementId} while ${String(state.currentStatementId)} is current`);
  }
}

export const reconciliationDecider: Decider<ReconciliationState, ReconciliationCommand, ReconciliationEvent> = {
  decide: decideReconciliation,
  evolve: evolveReconciliation,
  initialState: initialReconciliationState,
};
