import { DomainRejection, InvariantViolation } from './errors';
import type { DiscrepancyFound, DiscrepancyResolved, ItemMatched, ReconciliationEvent, StatementImported } from './events';
import {
  discrepancyIdFor,
  isReconciliationRejection,
  reconciliationDecider,
  statementItemId,
  type ReconciliationCommand,
  type ReconciliationRejectionCode,
} from './reconciliation-decider';
import type { LedgerPayout, StatementLine } from './reconciliation-matching';
import { DeciderSpecification } from './testing/decider-specification';
import { metadata, NOW, operator } from './testing/fixtures';

const spec = DeciderSpecification.for(reconciliationDecider);

const CHANNEL = 'bank_one';
const DATE = '2026-11-23';
const FIRST = 'a1'.repeat(32);
const CORRECTED = 'b2'.repeat(32);
const stream = { channel: CHANNEL, statementDate: DATE };

const settledPayout = (withdrawalId: string, amount = 2_500n): LedgerPayout => ({
  withdrawalId,
  channels: [CHANNEL],
  amount,
  currency: 'EUR',
  status: 'settled',
  providerReference: `psp_${withdrawalId}`,
  settled: { channel: CHANNEL, date: DATE },
  returned: null,
});

const line = (lineNumber: number, withdrawalId: string, amount = 2_500n): StatementLine => ({
  line: lineNumber,
  providerReference: `psp_${withdrawalId}`,
  withdrawalId,
  amount,
  currency: 'EUR',
  settledDate: DATE,
  status: 'settled',
});

const LEDGER = [settledPayout('wd-1'), settledPayout('wd-2')];

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

const importStatement = (statementId: string, lines: StatementLine[], ledger: LedgerPayout[] = LEDGER): ReconciliationCommand => ({
  type: 'ImportStatement',
  data: { ...stream, statementId, lines, ledger },
  metadata,
});

const resolve = (discrepancyId: string, reason = 'the provider confirmed the amount'): ReconciliationCommand => ({
  type: 'ResolveDiscrepancy',
  data: { ...stream, discrepancyId, reason },
  metadata: operator,
});

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

const imported = (statementId: string, counts: { items: number; matched: number; discrepancies: number }, supersedes: string | null = null): StatementImported => ({
  type: 'StatementImported',
  data: {
    ...stream,
    statementId,
    itemCount: counts.items,
    matchedCount: counts.matched,
    discrepancyCount: counts.discrepancies,
    supersedes,
    importedAt: NOW,
    importedBy: 'api-key:test',
  },
});

const matched = (statementId: string, lineNumber: number, withdrawalId: string): ItemMatched => ({
  type: 'ItemMatched',
  data: {
    ...stream,
    statementId,
    itemId: statementItemId(statementId, lineNumber),
    line: lineNumber,
    withdrawalId,
    providerReference: `psp_${withdrawalId}`,
    status: 'settled',
    amount: '2500',
    currency: 'EUR',
    matchedAt: NOW,
  },
});

const amountMismatch = (statementId: string, sequence: number, lineNumber: number): DiscrepancyFound => ({
  type: 'DiscrepancyFound',
  data: {
    ...stream,
    statementId,
    discrepancyId: discrepancyIdFor(statementId, sequence),
    kind: 'amount_mismatch',
    itemId: statementItemId(statementId, lineNumber),
    line: lineNumber,
    withdrawalId: 'wd-2',
    providerReference: 'psp_wd-2',
    amountStatement: '2600',
    amountLedger: '2500',
    currency: 'EUR',
    currencyLedger: 'EUR',
    statusStatement: 'settled',
    statusLedger: 'settled',
    note: 'the statement says 2600; the ledger paid 2500 minor units of EUR',
    foundAt: NOW,
  },
});

const missingInStatement = (statementId: string, sequence: number): DiscrepancyFound => ({
  type: 'DiscrepancyFound',
  data: {
    ...stream,
    statementId,
    discrepancyId: discrepancyIdFor(statementId, sequence),
    kind: 'missing_in_statement',
    itemId: null,
    line: null,
    withdrawalId: 'wd-2',
    providerReference: 'psp_wd-2',
    amountStatement: null,
    amountLedger: '2500',
    currency: 'EUR',
    currencyLedger: 'EUR',
    statusStatement: null,
    statusLedger: 'settled',
    note: 'the ledger booked this payout settled on 2026-11-23; the statement has no settled line for it',
    foundAt: NOW,
  },
});

const resolved = (discrepancyId: string, reason = 'the provider confirmed the amount'): DiscrepancyResolved => ({
  type: 'DiscrepancyResolved',
  data: { ...stream, discrepancyId, resolution: reason, supersededBy: null, resolvedAt: NOW, resolvedBy: 'operator:alice' },
});

const superseded = (discrepancyId: string, by: string): DiscrepancyResolved => ({
  type: 'DiscrepancyResolved',
  data: {
    ...stream,
    discrepancyId,
    resolution: `superseded by statement ${by}`,
    supersededBy: by,
    resolvedAt: NOW,
    resolvedBy: 'api-key:test',
  },
});

/** The first statement: wd-1 matches, wd-2 is on it with the wrong amount. */
const firstImport: ReconciliationEvent[] = [
  imported(FIRST, { items: 2, matched: 1, discrepancies: 1 }),
  matched(FIRST, 2, 'wd-1'),
  amountMismatch(FIRST, 1, 3),
];

function thenRejects(events: ReconciliationEvent[], command: ReconciliationCommand, code: ReconciliationRejectionCode): void {
  const state = events.reduce(reconciliationDecider.evolve, reconciliationDecider.initialState());
  let thrown: unknown;
  try {
    reconciliationDecider.decide(command, state);
  } catch (error) {
    thrown = error;
  }
  expect(isReconciliationRejection(thrown, code)).toBe(true);
}

describe('the reconciliation decider', () => {
  describe('ImportStatement', () => {
    it('records the statement, then one finding per line and per ledger booking the statement lacks', () => {
      const state = spec
        .given([])
        .when(importStatement(FIRST, [line(2, 'wd-1'), line(3, 'wd-2', 2_600n)]))
        .then(firstImport);
      expect(state.currentStatementId).toBe(FIRST);
      expect([...state.discrepancies]).toEqual([[discrepancyIdFor(FIRST, 1), { statementId: FIRST, kind: 'amount_mismatch', state: 'open' }]]);
    });

    it('numbers discrepancies in finding order, lines first, then what the statement lacks', () => {
      spec
        .given([])
        .when(importStatement(FIRST, [line(2, 'wd-1')]))
        .then([imported(FIRST, { items: 1, matched: 1, discrepancies: 1 }), matched(FIRST, 2, 'wd-1'), missingInStatement(FIRST, 1)]);
    });

    it('changes nothing when the same statement is imported again', () => {
      spec.given(firstImport).when(importStatement(FIRST, [line(2, 'wd-1'), line(3, 'wd-2', 2_600n)])).thenNothing();
    });

    it('changes nothing when a statement that was replaced since is imported again', () => {
      const corrected = [
        imported(CORRECTED, { items: 2, matched: 2, discrepancies: 0 }, FIRST),
        superseded(discrepancyIdFor(FIRST, 1), CORRECTED),
        matched(CORRECTED, 2, 'wd-1'),
        matched(CORRECTED, 3, 'wd-2'),
      ];
      spec.given([...firstImport, ...corrected]).when(importStatement(FIRST, [line(2, 'wd-1'), line(3, 'wd-2', 2_600n)])).thenNothing();
    });

    it('a corrected statement supersedes the current one: its open discrepancies close, new findings start from scratch', () => {
      const state = spec
        .given(firstImport)
        .when(importStatement(CORRECTED, [line(2, 'wd-1'), line(3, 'wd-2')]))
        .then([
          imported(CORRECTED, { items: 2, matched: 2, discrepancies: 0 }, FIRST),
          superseded(discrepancyIdFor(FIRST, 1), CORRECTED),
          matched(CORRECTED, 2, 'wd-1'),
          matched(CORRECTED, 3, 'wd-2'),
        ]);
      expect(state.statementIds).toEqual([FIRST, CORRECTED]);
      expect(state.discrepancies.get(discrepancyIdFor(FIRST, 1))?.state).toBe('superseded');
    });

    it('does not reopen or re-close a discrepancy an operator resolved before the correction', () => {
      spec
        .given([...firstImport, resolved(discrepancyIdFor(FIRST, 1))])
        .when(importStatement(CORRECTED, [line(2, 'wd-1'), line(3, 'wd-2', 2_600n)]))
        .then([
          imported(CORRECTED, { items: 2, matched: 1, discrepancies: 1 }, FIRST),
          matched(CORRECTED, 2, 'wd-1'),
          amountMismatch(CORRECTED, 1, 3),
        ]);
    });

    it('refuses a statement id that is not a SHA-256 digest', () => {
      spec.given([]).when(importStatement('ABC', [])).thenThrows('malformed_id', { field: 'statementId' });
    });

    it('refuses a line dated other than the statement', () => {
      spec
        .given([])
        .when(importStatement(FIRST, [{ ...line(2, 'wd-1'), settledDate: '2026-11-22' }]))
        .thenThrows('malformed_date', { line: 2 });
    });

    it('refuses a malformed channel or date before anything else', () => {
      const command = importStatement(FIRST, []);
      spec
        .given([])
        .when({ ...command, data: { ...command.data, channel: 'Bank-One' } } as ReconciliationCommand)
        .thenThrows('malformed_channel');
      spec
        .given([])
        .when({ ...command, data: { ...command.data, statementDate: '2026-02-30' } } as ReconciliationCommand)
        .thenThrows('malformed_date');
    });

    it('treats a command for another stream as a wiring bug', () => {
      const command = importStatement(CORRECTED, []);
      const state = firstImport.reduce(reconciliationDecider.evolve, reconciliationDecider.initialState());
      expect(() => reconciliationDecider.decide({ ...command, data: { ...command.data, statementDate: '2026-11-24' } } as ReconciliationCommand, state)).toThrow(
        InvariantViolation,
      );
    });
  });

  describe('ResolveDiscrepancy', () => {
    it('closes an open discrepancy with the reason and the operator', () => {
      const state = spec.given(firstImport).when(resolve(discrepancyIdFor(FIRST, 1))).then([resolved(discrepancyIdFor(FIRST, 1))]);
      expect(state.discrepancies.get(discrepancyIdFor(FIRST, 1))?.state).toBe('resolved');
    });

    it('rejects an unknown discrepancy', () => {
      thenRejects(firstImport, resolve(discrepancyIdFor(FIRST, 2)), 'discrepancy_not_found');
      thenRejects([], resolve(discrepancyIdFor(FIRST, 1)), 'discrepancy_not_found');
    });

    it('rejects a second resolution', () => {
      thenRejects([...firstImport, resolved(discrepancyIdFor(FIRST, 1))], resolve(discrepancyIdFor(FIRST, 1)), 'discrepancy_already_resolved');
    });

    it('rejects resolving a discrepancy of a superseded statement', () => {
      const corrected = [imported(CORRECTED, { items: 0, matched: 0, discrepancies: 0 }, FIRST), superseded(discrepancyIdFor(FIRST, 1), CORRECTED)];
      thenRejects([...firstImport, ...corrected], resolve(discrepancyIdFor(FIRST, 1)), 'discrepancy_superseded');
    });

    it('requires a reason', () => {
      spec.given(firstImport).when(resolve(discrepancyIdFor(FIRST, 1), '  ')).thenThrows('field_required', { field: 'reason' });
    });
  });

  describe('evolve', () => {
    it('refuses a stream whose statements do not chain', () => {
      const orphan = imported(CORRECTED, { items: 0, matched: 0, discrepancies: 0 }, FIRST);
      expect(() => reconciliationDecider.evolve(reconciliationDecider.initialState(), orphan)).toThrow(InvariantViolation);
    });

    it('refuses a resolution of a discrepancy that is not open', () => {
      const state = [...firstImport, resolved(discrepancyIdFor(FIRST, 1))].reduce(reconciliationDecider.evolve, reconciliationDecider.initialState());
      expect(() => reconciliationDecider.evolve(state, resolved(discrepancyIdFor(FIRST, 1)))).toThrow(InvariantViolation);
    });

    it('rejections are typed and carry where the discrepancy was looked for', () => {
      const state = reconciliationDecider.initialState();
      expect(() => reconciliationDecider.decide(resolve('x'), state)).toThrow(expect.objectContaining({ code: 'discrepancy_not_found', details: { ...stream, discrepancyId: 'x' } }));
      expect(() => reconciliationDecider.decide(resolve('x'), state)).not.toThrow(DomainRejection);
    });
  });
});
