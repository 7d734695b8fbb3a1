import {
  accountDecider,
  accountStream,
  DomainRejection,
  formatMoney,
  InvariantViolation,
  MalformedEventData,
  isAccountEvent,
  decodeAmount,
  isCurrencyCode,
  isLedgerEventType,
  postingsOf,
  type AccountEvent,
  type AccountState,
  type LedgerEvent,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { parseUserLedgerAccount } from '@ledger/read-models';
import { CliError, EXIT, usageError } from '../cli/cli-error';
import { positionAtTime } from '../cli/log-position';
import type { LogPoint } from '../cli/parse';

export interface BalanceAsOf {
  accountId: string;
  ownerId: string;
  currency: string;
  /** Spendable minor units. */
  available: bigint;
  /** Minor units held for withdrawals in flight. */
  pending: bigint;
  frozen: boolean;
  holdsOpen: number;
  /** The global position of the last event of the account applied: what the read model's `position` shows. */
  position: bigint;
  /** The point asked for, resolved to a global position (a time becomes the last event at or before it). */
  asOf: { position: bigint; time: Date | null };
  /** Events of the account's stream folded. */
  events: number;
}

const PAGE_SIZE = 1_000;

/**
 * An account's balance at a point of the log, folded from its stream with the domain's
 * account decider (`evolve`), the same fold the command side decides with. All money of a
 * user account moves on its own stream (withdrawal streams carry no postings), so the
 * account's stream up to position P is everything that decides its balance at P.
 *
 * Two sums of one truth are compared on the way: the decider's amounts and the postings to
 * `user:<id>:available|pending` (what the read model and the journal add up). They must be
 * equal (invariant M6); when they are not, or when `evolve` refuses an event, the stream is
 * corrupt and the answer is an error that names the event, never a number.
 */
export async function balanceAsOf(store: EventStore, accountId: string, point: LogPoint | null): Promise<BalanceAsOf> {
  let stream: string;
  try {
    stream = accountStream(accountId);
  } catch (error) {
    if (error instanceof DomainRejection) throw usageError(`${JSON.stringify(accountId)} is not an account id: ${error.message}`);
    throw error;
  }
  const head = await store.headPosition();
  const target =
    point === null ? (head < 0n ? 0n : head) : point.kind === 'position' ? point.position : await positionAtTime(store, point.time);

  let state: AccountState = accountDecider.initialState();
  let postedAvailable = 0n;
  let postedPending = 0n;
  let position = 0n;
  let events = 0;
  for (let fromRevision = 0n, done = false; !done; ) {
    const page = await store.readStream(stream, { fromRevision, maxCount: PAGE_SIZE });
    for (const recorded of page) {
      if (recorded.globalPosition > target) {
        done = true;
        break;
      }
      if (!isLedgerEventType(recorded.type)) continue;
      const event = { type: recorded.type, data: recorded.data } as LedgerEvent;
      if (!isAccountEvent(event)) continue;
      try {
        state = accountDecider.evolve(state, event as AccountEvent);
        for (const posting of postingsOf(event)) {
          const user = parseUserLedgerAccount(posting.account);
          if (user === null || user.accountId !== accountId) continue;
          const amount = decodeAmount(posting.amount);
          const signed = posting.side === 'credit' ? amount : -amount;
          if (user.kind === 'available') postedAvailable += signed;
          else postedPending += signed;
        }
      } catch (error) {
        if (error instanceof InvariantViolation || error instanceof MalformedEventData || error instanceof DomainRejection) {
          throw new CliError(
            `the stream ${stream} is corrupt at revision ${recorded.streamRevision.toString()} (position ${recorded.globalPosition.toString()}, ${recorded.type}): ${error.message}`,
          );
        }
        throw error;
      }
      position = recorded.globalPosition;
      events += 1;
    }
    if (page.length < PAGE_SIZE) done = true;
    else fromRevision = page[page.length - 1]!.streamRevision + 1n;
  }

  const asOf = { position: target, time: point?.kind === 'time' ? point.time : null };
  if (state.status !== 'open') {
    const where = point === null ? 'in the log' : `at or before position ${target.toString()}${asOf.time ? ` (${asOf.time.toISOString()})` : ''}`;
    throw new CliError(`account ${accountId} was not open ${where}`, EXIT.failed);
  }
  if (postedAvailable !== state.amountAvailable || postedPending !== state.amountPending) {
    throw new CliError(
      `the stream ${stream} is inconsistent up to position ${position.toString()} (invariant M6): ` +
        `the decider folds available ${state.amountAvailable.toString()} / pending ${state.amountPending.toString()}, ` +
        `the postings add up to ${postedAvailable.toString()} / ${postedPending.toString()}`,
    );
  }
  return {
    accountId: state.accountId,
    ownerId: state.ownerId,
    currency: state.currency,
    available: state.amountAvailable,
    pending: state.amountPending,
    frozen: state.frozen,
    holdsOpen: state.holdsOpen.size,
    position,
    asOf,
    events,
  };
}

export function formatBalance(balance: BalanceAsOf): string {
  const money = (amount: bigint) => (isCurrencyCode(balance.currency) ? formatMoney({ amount, currency: balance.currency }) : balance.currency);
  const asOf =
    balance.asOf.time === null
      ? `position ${balance.asOf.position.toString()}`
      : `${balance.asOf.time.toISOString()} (position ${balance.asOf.position.toString()}, the last event recorded at or before it)`;
  return [
    `account     ${balance.accountId}  (owner ${balance.ownerId})`,
    `currency    ${balance.currency}`,
    `available   ${balance.available.toString()}  (${money(balance.available)})`,
    `pending     ${balance.pending.toString()}  (${money(balance.pending)}, ${balance.holdsOpen} open hold${balance.holdsOpen === 1 ? '' : 's'})`,
    `frozen      ${balance.frozen ? 'yes' : 'no'}`,
    `position    ${balance.position.toString()}  (the account's last event applied; ${balance.events} events folded)`,
    `as of       ${asOf}`,
  ]
    .map((line) => `${line}\n`)
    .join('');
}

export function balanceRecord(balance: BalanceAsOf): Record<string, unknown> {
  return {
    accountId: balance.accountId,
    ownerId: balance.ownerId,
    currency: balance.currency,
    available: balance.available,
    pending: balance.pending,
    frozen: balance.frozen,
    holdsOpen: balance.holdsOpen,
    position: balance.position,
    asOf: { position: balance.asOf.position, time: balance.asOf.time },
    events: balance.events,
  };
}
