import { DomainRejection } from './errors';
import { isChannel, isEntityId, isIsoDate } from './ids';

/**
 * Stream names are `<category>-<id>`, the event store's rule (`STREAM_NAME_PATTERN` in
 * `@ledger/event-store`, repeated here because the domain imports nothing). The helpers
 * refuse malformed parts with a `DomainRejection`, so an id taken from a URL becomes a 4xx
 * and never reaches the store.
 */
export const STREAM_NAME_PATTERN = /^[a-z][a-z0-9]*-[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

export const STREAM_CATEGORIES = {
  account: 'account',
  withdrawal: 'withdrawal',
  reconciliation: 'reconciliation',
  callback: 'callback',
} as const;

export type StreamCategory = (typeof STREAM_CATEGORIES)[keyof typeof STREAM_CATEGORIES];

/** `account-<accountId>`: the account's balance, holds and freeze flag. */
export function accountStream(accountId: string): string {
  requireId(accountId, 'accountId');
  return `${STREAM_CATEGORIES.account}-${accountId}`;
}

/** `withdrawal-<withdrawalId>`: the payout's life with the provider. */
export function withdrawalStream(withdrawalId: string): string {
  requireId(withdrawalId, 'withdrawalId');
  return `${STREAM_CATEGORIES.withdrawal}-${withdrawalId}`;
}

/** `reconciliation-<channel>-<YYYY-MM-DD>`: one provider statement and its matching. */
export function reconciliationStream(channel: string, statementDate: string): string {
  if (!isChannel(channel)) {
    throw new DomainRejection('malformed_channel', 'a channel is lower-case letters, digits and _', {
      field: 'channel',
    });
  }
  if (!isIsoDate(statementDate)) {
    throw new DomainRejection('malformed_date', 'a statement date is a calendar date YYYY-MM-DD', {
      field: 'statementDate',
    });
  }
  return `${STREAM_CATEGORIES.reconciliation}-${channel}-${statementDate}`;
}

/** `callback-<callbackId>`: one provider callback as received (`callbackId` is derived from channel and webhook-id). */
export function callbackStream(callbackId: string): string {
  requireId(callbackId, 'callbackId');
  return `${STREAM_CATEGORIES.callback}-${callbackId}`;
}

/** Splits a stream name at its first dash, or returns null when it is not a stream name. */
export function parseStreamName(streamName: string): { category: string; id: string } | null {
  if (!STREAM_NAME_PATTERN.test(streamName)) return null;
  const dash = streamName.indexOf('-');
  return { category: streamName.slice(0, dash), id: streamName.slice(dash + 1) };
}

function requireId(id: string, field: string): void {
  if (!isEntityId(id)) {
    throw new DomainRejection('malformed_id', `${field} must be 1-100 letters, digits or _.:- characters`, {
      field,
    });
  }
}
