import { isIsoDate } from '@ledger/domain';

/** The statement's columns, in order (docs/payments.md, "Statement CSV"). */
export const STATEMENT_COLUMNS = ['provider_reference', 'withdrawal_id', 'amount_minor', 'currency', 'settled_date', 'status'] as const;

/** What a statement needs to know of a payout. */
export interface StatementPayout {
  readonly providerReference: string;
  readonly withdrawalId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly settledAt: Date | undefined;
  readonly returnedAt: Date | undefined;
}

/**
 * The settlement statement of one UTC day: one line per money movement booked that day.
 * A payout that settled that day is a `settled` line; a payout the bank returned that day
 * is a `returned` line (booked on the day of the return, so a past statement never changes).
 * Failed payouts moved no money and are not on it. `settled_date` is the booking day, the
 * statement's own date. Lines are ordered by booking time, then reference.
 */
export function statementCsv(payouts: readonly StatementPayout[], date: string): string {
  if (!isIsoDate(date)) throw new RangeError(`a statement date is YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const lines: Array<{ atMs: number; reference: string; cells: string[] }> = [];
  for (const payout of payouts) {
    const entries: Array<[Date | undefined, 'settled' | 'returned']> = [
      [payout.settledAt, 'settled'],
      [payout.returnedAt, 'returned'],
    ];
    for (const [bookedAt, status] of entries) {
      if (bookedAt === undefined || bookedAt.toISOString().slice(0, 10) !== date) continue;
      lines.push({
        atMs: bookedAt.getTime(),
        reference: payout.providerReference,
        cells: [payout.providerReference, payout.withdrawalId, payout.amount.toString(), payout.currency, date, status],
      });
    }
  }
  lines.sort((a, b) => a.atMs - b.atMs || (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  return [STATEMENT_COLUMNS.join(','), ...lines.map((line) => line.cells.map(csvCell).join(','))].join('\n') + '\n';
}

/** RFC 4180 quoting: a cell with a comma, quote or line break is quoted, its quotes doubled. */
function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
