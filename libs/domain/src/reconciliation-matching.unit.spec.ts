import fc from 'fast-check';
import type { StatementLineStatus } from './events';
import { matchStatement, type Finding, type LedgerPayout, type StatementLine } from './reconciliation-matching';

const CHANNEL = 'bank_one';
const DATE = '2026-11-23';

const payout = (withdrawalId: string, overrides: Partial<LedgerPayout> = {}): LedgerPayout => ({
  withdrawalId,
  channels: [CHANNEL],
  amount: 2_500n,
  currency: 'EUR',
  status: 'settled',
  providerReference: `psp_${withdrawalId}`,
  settled: { channel: CHANNEL, date: DATE },
  returned: null,
  ...overrides,
});

let nextLine = 2;
const line = (withdrawalId: string, overrides: Partial<StatementLine> = {}): StatementLine => ({
  line: nextLine++,
  providerReference: `psp_${withdrawalId}`,
  withdrawalId,
  amount: 2_500n,
  currency: 'EUR',
  settledDate: DATE,
  status: 'settled',
  ...overrides,
});

beforeEach(() => {
  nextLine = 2;
});

/** The findings in a form a table can state: outcome or kind, line, withdrawal. */
const summary = (findings: Finding[]) =>
  findings.map((finding) => [finding.outcome === 'matched' ? 'matched' : finding.kind, finding.line?.line ?? null, finding.line?.withdrawalId ?? finding.payout?.withdrawalId]);

describe('matchStatement', () => {
  it('a statement with each kind of discrepancy yields exactly those, and the matched lines', () => {
    const ledger = [
      payout('wd-1'),
      payout('wd-2', { amount: 1_000n }),
      payout('wd-3'),
      payout('wd-4', { status: 'failed', settled: null }),
      payout('wd-6'),
      payout('wd-7', { status: 'returned', returned: { channel: CHANNEL, date: DATE } }),
    ];
    const lines = [
      line('wd-1'), // 2: matched
      line('wd-2', { amount: 1_200n }), // 3: amount_mismatch
      line('wd-3', { currency: 'USD' }), // 4: currency_mismatch
      line('wd-4'), // 5: status_mismatch (ledger failed)
      line('wd-5'), // 6: missing_in_ledger
      line('wd-1', { providerReference: 'psp_other' }), // 7: duplicate_line (withdrawal id)
      line('wd-7'), // 8: matched (settled line)
      line('wd-7', { status: 'returned' }), // 9: matched (returned line, same ids, other status)
      line('wd-8', { providerReference: 'psp_wd-7', status: 'returned' }), // 10: duplicate_line (reference)
    ];
    const findings = matchStatement({ channel: CHANNEL, statementDate: DATE, lines, ledger });
    expect(summary(findings)).toEqual([
      ['matched', 2, 'wd-1'],
      ['amount_mismatch', 3, 'wd-2'],
      ['currency_mismatch', 4, 'wd-3'],
      ['status_mismatch', 5, 'wd-4'],
      ['missing_in_ledger', 6, 'wd-5'],
      ['duplicate_line', 7, 'wd-1'],
      ['matched', 8, 'wd-7'],
      ['matched', 9, 'wd-7'],
      ['duplicate_line', 10, 'wd-8'],
      ['missing_in_statement', null, 'wd-6'],
    ]);
    const notes = findings.map((finding) => (finding.outcome === 'discrepancy' ? finding.note : null));
    expect(notes).toEqual([
      null,
      'the statement says 1200; the ledger paid 1000 minor units of EUR',
      'the statement says USD; the ledger paid EUR',
      "the statement says settled; the ledger's withdrawal is failed",
      'the ledger has no withdrawal wd-5',
      'duplicates line 2 (same withdrawal id and status settled)',
      null,
      null,
      'duplicates line 9 (same provider reference and status returned)',
      'the ledger booked this payout settled on 2026-11-23; the statement has no settled line for it',
    ]);
  });

  it('compares the booking of the line: a settled line matches a payout returned since, a returned line wants the return', () => {
    const ledger = [
      payout('wd-1', { status: 'returned', returned: { channel: CHANNEL, date: '2026-11-25' } }),
      payout('wd-2'),
    ];
    const findings = matchStatement({
      channel: CHANNEL,
      statementDate: DATE,
      lines: [line('wd-1'), line('wd-2', { status: 'returned' })],
      ledger,
    });
    expect(summary(findings)).toEqual([
      ['matched', 2, 'wd-1'],
      ['status_mismatch', 3, 'wd-2'],
    ]);
    // The status mismatch names the disagreement once: wd-2's settlement is not also missing.
    expect(findings[1]).toMatchObject({ statusLedger: 'settled' });
  });

  it('a booking on another date or channel is missing in the ledger for this statement, and says where it is', () => {
    const ledger = [
      payout('wd-1', { settled: { channel: CHANNEL, date: '2026-11-24' } }),
      payout('wd-2', { channels: [CHANNEL, 'bank_two'], settled: { channel: 'bank_two', date: DATE } }),
      payout('wd-3', { channels: ['bank_two'], status: 'failed', settled: null }),
    ];
    const findings = matchStatement({ channel: CHANNEL, statementDate: DATE, lines: [line('wd-1'), line('wd-2'), line('wd-3')], ledger });
    expect(findings.map((f) => (f.outcome === 'discrepancy' ? [f.kind, f.note] : f.outcome))).toEqual([
      ['missing_in_ledger', 'the ledger booked this settled payout on 2026-11-24, not 2026-11-23'],
      ['missing_in_ledger', 'the ledger booked this settled payout through bank_two, not bank_one'],
      ['missing_in_ledger', 'the ledger never sent withdrawal wd-3 through bank_one (it used bank_two)'],
    ]);
  });

  it('reports a currency mismatch rather than comparing amounts in two currencies', () => {
    const findings = matchStatement({
      channel: CHANNEL,
      statementDate: DATE,
      lines: [line('wd-1', { currency: 'USD', amount: 1n })],
      ledger: [payout('wd-1')],
    });
    expect(summary(findings)).toEqual([['currency_mismatch', 2, 'wd-1']]);
  });

  it('ignores ledger payouts of other channels and dates, and an empty statement of a quiet day is clean', () => {
    const ledger = [payout('wd-1', { settled: { channel: 'bank_two', date: DATE } }), payout('wd-2', { settled: { channel: CHANNEL, date: '2026-11-22' } })];
    expect(matchStatement({ channel: CHANNEL, statementDate: DATE, lines: [], ledger })).toEqual([]);
  });

  it('refuses a ledger view that lists a withdrawal twice', () => {
    expect(() => matchStatement({ channel: CHANNEL, statementDate: DATE, lines: [], ledger: [payout('wd-1'), payout('wd-1')] })).toThrow(
      'the ledger view lists withdrawal wd-1 twice',
    );
  });
});

interface Generated {
  id: number;
  amount: bigint;
  currency: 'EUR' | 'USD' | 'JPY';
  settledDay: string;
  returnedDay: string | null;
  channel: string;
}

describe('matchStatement, properties', () => {
  const statuses: readonly StatementLineStatus[] = ['settled', 'returned'];
  const arbitraryPayout: fc.Arbitrary<Generated> = fc.record({
    id: fc.integer({ min: 1, max: 1_000_000 }),
    amount: fc.bigInt({ min: 1n, max: 999_999_999_999_999_999n }),
    currency: fc.constantFrom('EUR' as const, 'USD' as const, 'JPY' as const),
    settledDay: fc.constantFrom('2026-11-22', DATE, '2026-11-24'),
    returnedDay: fc.option(fc.constantFrom(DATE, '2026-11-24'), { nil: null }),
    channel: fc.constantFrom(CHANNEL, 'bank_two'),
  });

  const ledgerOf = (generated: ReadonlyArray<Generated>) => {
    const unique = new Map(generated.map((g) => [g.id, g]));
    return [...unique.values()].map((g) =>
      payout(`wd-${g.id}`, {
        channels: [g.channel],
        amount: g.amount,
        currency: g.currency,
        status: g.returnedDay === null ? 'settled' : 'returned',
        settled: { channel: g.channel, date: g.settledDay },
        returned: g.returnedDay === null ? null : { channel: g.channel, date: g.returnedDay },
      }),
    );
  };

  /** The statement the provider would send: one line per booking on the channel that day, in any order. */
  const statementOf = (ledger: readonly LedgerPayout[], order: number[]): StatementLine[] => {
    const bookings = ledger.flatMap((p) =>
      statuses
        .filter((status) => {
          const booking = status === 'settled' ? p.settled : p.returned;
          return booking !== null && booking.channel === CHANNEL && booking.date === DATE;
        })
        .map((status) => ({ p, status })),
    );
    const shuffled = bookings.map((b, i) => ({ b, key: order[i % Math.max(order.length, 1)] ?? 0 })).sort((x, y) => x.key - y.key);
    return shuffled.map(({ b }, i) => ({
      line: i + 2,
      providerReference: b.p.providerReference!,
      withdrawalId: b.p.withdrawalId,
      amount: b.p.amount,
      currency: b.p.currency,
      settledDate: DATE,
      status: b.status,
    }));
  };

  it("a statement generated from the ledger's own bookings matches fully", () => {
    fc.assert(
      fc.property(fc.array(arbitraryPayout, { maxLength: 40 }), fc.array(fc.integer(), { maxLength: 80 }), (generated, order) => {
        const ledger = ledgerOf(generated);
        const lines = statementOf(ledger, order);
        const findings = matchStatement({ channel: CHANNEL, statementDate: DATE, lines, ledger });
        expect(findings.every((finding) => finding.outcome === 'matched')).toBe(true);
        expect(findings).toHaveLength(lines.length);
      }),
      { numRuns: 300 },
    );
  });

  it('every line yields exactly one finding, and dropping a line makes exactly its booking missing in the statement', () => {
    fc.assert(
      fc.property(fc.array(arbitraryPayout, { minLength: 1, maxLength: 30 }), fc.nat(), (generated, pick) => {
        const ledger = ledgerOf(generated);
        const lines = statementOf(ledger, []);
        fc.pre(lines.length > 0);
        const dropped = lines[pick % lines.length]!;
        const rest = lines.filter((l) => l !== dropped);
        const findings = matchStatement({ channel: CHANNEL, statementDate: DATE, lines: rest, ledger });
        expect(findings.filter((f) => f.line !== null)).toHaveLength(rest.length);
        const discrepancies = findings.filter((f) => f.outcome === 'discrepancy');
        expect(discrepancies).toEqual([
          expect.objectContaining({ kind: 'missing_in_statement', statusLedger: dropped.status, payout: expect.objectContaining({ withdrawalId: dropped.withdrawalId }) }),
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
