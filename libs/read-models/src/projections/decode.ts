import { isLedgerEventType, type LedgerEvent } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

/**
 * The domain event inside a recorded event, or null for a type the ledger does not define
 * (a test's marker, a later schema version without an upcaster yet). Projections skip
 * those: they cannot know what such an event means, and every money event type is known.
 */
export function ledgerEventOf(recorded: RecordedEvent): LedgerEvent | null {
  if (!isLedgerEventType(recorded.type)) return null;
  return { type: recorded.type, data: recorded.data } as LedgerEvent;
}

const USER_PREFIX = 'user:';
const USER_SUFFIXES = [':available', ':pending'] as const;

export type UserLedgerAccountKind = 'available' | 'pending';

/**
 * Splits `user:<accountId>:available|pending` into its account id and kind; null for
 * system ledger accounts. Account ids may contain `:`, so the kind is cut from the end.
 */
export function parseUserLedgerAccount(account: string): { accountId: string; kind: UserLedgerAccountKind } | null {
  if (!account.startsWith(USER_PREFIX)) return null;
  for (const suffix of USER_SUFFIXES) {
    if (account.endsWith(suffix) && account.length > USER_PREFIX.length + suffix.length) {
      return {
        accountId: account.slice(USER_PREFIX.length, account.length - suffix.length),
        kind: suffix === ':available' ? 'available' : 'pending',
      };
    }
  }
  return null;
}

/** The id part of `account-<id>`, or null for a stream of another category. */
export function accountIdOfStream(streamName: string): string | null {
  return streamName.startsWith('account-') ? streamName.slice('account-'.length) : null;
}

let lastMs = Number.NaN;
let lastIso = '';

/**
 * `date.toISOString()`, remembering the last one: events arrive in log order and the events
 * of one append (or one group commit) share their recorded time, so most calls repeat the
 * previous instant, and a rebuild converts a few hundred thousand of them.
 */
export function iso(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastMs) {
    lastIso = date.toISOString();
    lastMs = ms;
  }
  return lastIso;
}
