import { InvariantViolation } from './errors';
import type { DiscrepancyKind, StatementLineStatus } from './events';
import type { CurrencyCode } from './money';
import type { WithdrawalStatus } from './withdrawal-status';

/**
 * Matching a provider's settlement statement against the ledger: pure, so the same
 * statement and the same ledger always give the same findings, in the same order, and a
 * property test can run it thousands of times.
 *
 * The match key is the withdrawal id: it is the idempotency key the ledger sent the
 * provider with the payout, so the provider knows it for every payout it holds. A line
 * and a ledger booking are the same item when they name the same withdrawal and the same
 * kind of booking (`settled` or `returned`) on the same channel and date.
 *
 * The ledger's date of a booking is the UTC date of the ledger's own event (`Settled`, or
 * the review decision that settled it; `PayoutReturned`), never the provider's: it is the
 * one time every settlement carries, however it was learned (callback, status query,
 * operator). docs/reconciliation.md explains what that means around midnight.
 */

/** One line of a statement, already parsed and checked (`@ledger/reconciliation`'s parser). */
export interface StatementLine {
  /** The line of the file where the record starts; the header is line 1. */
  readonly line: number;
  readonly providerReference: string;
  readonly withdrawalId: string;
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly settledDate: string;
  readonly status: StatementLineStatus;
}

/** A booking the ledger made for a payout: through which channel, on which UTC date. */
export interface LedgerBooking {
  readonly channel: string;
  readonly date: string;
}

/** What the ledger knows of one withdrawal, folded from its events. */
export interface LedgerPayout {
  readonly withdrawalId: string;
  /** Every channel the withdrawal was requested for or attempted on, in first-use order. */
  readonly channels: readonly string[];
  readonly amount: bigint;
  readonly currency: CurrencyCode;
  readonly status: WithdrawalStatus;
  /** The provider's name for the latest attempt, once known. */
  readonly providerReference: string | null;
  readonly settled: LedgerBooking | null;
  readonly returned: LedgerBooking | null;
}

export interface MatchInput {
  readonly channel: string;
  readonly statementDate: string;
  /** In file order. */
  readonly lines: readonly StatementLine[];
  /** At least every withdrawal the lines name and every withdrawal booked on the channel that date; others are ignored. */
  readonly ledger: readonly LedgerPayout[];
}

export type Finding =
  | { readonly outcome: 'matched'; readonly line: StatementLine; readonly payout: LedgerPayout }
  | {
      readonly outcome: 'discrepancy';
      readonly kind: DiscrepancyKind;
      /** Null for `missing_in_statement`. */
      readonly line: StatementLine | null;
      /** Null when the ledger does not know the withdrawal. */
      readonly payout: LedgerPayout | null;
      /** The ledger's side of the comparison: a booking kind, or the withdrawal's status. */
      readonly statusLedger: string | null;
      readonly note: string;
    };

const BOOKING_KINDS: readonly StatementLineStatus[] = ['settled', 'returned'];

/**
 * The findings of one statement, lines first in file order, then what the ledger booked
 * that the statement lacks, by withdrawal id. Each line yields exactly one finding:
 *
 *   duplicate_line        an earlier line has the same status and the same withdrawal id or
 *                         provider reference; the earlier line is matched, this one is not
 *   missing_in_ledger     the ledger does not know the withdrawal, or made this booking
 *                         through another channel or on another date
 *   status_mismatch       the ledger knows the withdrawal on this channel but never made
 *                         this booking (the statement says settled, the ledger says failed)
 *   currency_mismatch     same booking, other currency (amounts in two currencies are not compared)
 *   amount_mismatch       same booking and currency, other amount
 *   matched               same booking, currency and amount
 *
 * Then every ledger booking on this channel and date that no line matched is
 * `missing_in_statement`, except bookings of a withdrawal whose line is already a
 * `status_mismatch` (that finding names the disagreement once).
 */
export function matchStatement(input: MatchInput): Finding[] {
  const { channel, statementDate } = input;
  const ledger = new Map<string, LedgerPayout>();
  for (const payout of input.ledger) {
    if (ledger.has(payout.withdrawalId)) {
      throw new InvariantViolation(`the ledger view lists withdrawal ${payout.withdrawalId} twice`);
    }
    ledger.set(payout.withdrawalId, payout);
  }

  const findings: Finding[] = [];
  const firstByWithdrawal = new Map<string, StatementLine>();
  const firstByReference = new Map<string, StatementLine>();
  const covered = new Set<string>();
  const statusMismatched = new Set<string>();

  for (const line of input.lines) {
    const byWithdrawal = firstByWithdrawal.get(bookingKey(line.withdrawalId, line.status));
    const byReference = firstByReference.get(bookingKey(line.providerReference, line.status));
    const payout = ledger.get(line.withdrawalId) ?? null;
    if (byWithdrawal !== undefined || byReference !== undefined) {
      const first = (byWithdrawal ?? byReference)!;
      const same = byWithdrawal !== undefined ? 'withdrawal id' : 'provider reference';
      findings.push(discrepancy('duplicate_line', line, payout, null, `duplicates line ${first.line} (same ${same} and status ${line.status})`));
      continue;
    }
    firstByWithdrawal.set(bookingKey(line.withdrawalId, line.status), line);
    firstByReference.set(bookingKey(line.providerReference, line.status), line);

    if (payout === null) {
      findings.push(discrepancy('missing_in_ledger', line, null, null, `the ledger has no withdrawal ${line.withdrawalId}`));
      continue;
    }
    const booking = line.status === 'settled' ? payout.settled : payout.returned;
    if (booking === null) {
      if (payout.channels.includes(channel)) {
        statusMismatched.add(payout.withdrawalId);
        findings.push(
          discrepancy('status_mismatch', line, payout, payout.status, `the statement says ${line.status}; the ledger's withdrawal is ${payout.status}`),
        );
      } else {
        findings.push(
          discrepancy(
            'missing_in_ledger',
            line,
            payout,
            payout.status,
            `the ledger never sent withdrawal ${payout.withdrawalId} through ${channel} (it used ${payout.channels.join(', ') || 'no channel'})`,
          ),
        );
      }
      continue;
    }
    if (booking.channel !== channel) {
      findings.push(
        discrepancy('missing_in_ledger', line, payout, line.status, `the ledger booked this ${line.status} payout through ${booking.channel}, not ${channel}`),
      );
      continue;
    }
    if (booking.date !== statementDate) {
      findings.push(
        discrepancy('missing_in_ledger', line, payout, line.status, `the ledger booked this ${line.status} payout on ${booking.date}, not ${statementDate}`),
      );
      continue;
    }
    covered.add(bookingKey(payout.withdrawalId, line.status));
    if (line.currency !== payout.currency) {
      findings.push(
        discrepancy('currency_mismatch', line, payout, line.status, `the statement says ${line.currency}; the ledger paid ${payout.currency}`),
      );
    } else if (line.amount !== payout.amount) {
      findings.push(
        discrepancy(
          'amount_mismatch',
          line,
          payout,
          line.status,
          `the statement says ${line.amount.toString()}; the ledger paid ${payout.amount.toString()} minor units of ${payout.currency}`,
        ),
      );
    } else {
      findings.push({ outcome: 'matched', line, payout });
    }
  }

  const booked = [...ledger.values()].sort((a, b) => compareText(a.withdrawalId, b.withdrawalId));
  for (const payout of booked) {
    if (statusMismatched.has(payout.withdrawalId)) continue;
    for (const kind of BOOKING_KINDS) {
      const booking = kind === 'settled' ? payout.settled : payout.returned;
      if (booking === null || booking.channel !== channel || booking.date !== statementDate) continue;
      if (covered.has(bookingKey(payout.withdrawalId, kind))) continue;
      findings.push(
        discrepancy('missing_in_statement', null, payout, kind, `the ledger booked this payout ${kind} on ${statementDate}; the statement has no ${kind} line for it`),
      );
    }
  }
  return findings;
}

function discrepancy(
  kind: DiscrepancyKind,
  line: StatementLine | null,
  payout: LedgerPayout | null,
  statusLedger: string | null,
  note: string,
): Finding {
  return { outcome: 'discrepancy', kind, line, payout, statusLedger, note };
}

// Withdrawal ids and references are printable text without line breaks, so a newline keeps
// the two parts of the key apart.
function bookingKey(id: string, status: StatementLineStatus): string {
  return `${id}\n${status}`;
}

/** Code-unit order, the same on every machine (no locale). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
