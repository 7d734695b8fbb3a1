import { ENTITY_ID_PATTERN, isIsoTimestamp } from '@ledger/domain';

/**
 * Keyset cursors: the sort key of the last item of a page, as base64url JSON. They are
 * opaque to clients (the contract is "pass nextCursor back unchanged"), so the encoding may
 * change; each carries a kind tag so that a cursor of one list is refused by another.
 */
export type CursorKind = 'entries' | 'withdrawals' | 'review-queue';

/** After the journal entry at (position, postingIndex). */
export interface EntriesCursor {
  position: bigint;
  postingIndex: number;
}

/** After the row at (at, id), `at` being a timestamp at microsecond precision. */
export interface TimeCursor {
  at: string;
  id: string;
}

type CursorOf<K extends CursorKind> = K extends 'entries' ? EntriesCursor : TimeCursor;

const TAG: Readonly<Record<CursorKind, string>> = { entries: 'e', withdrawals: 'w', 'review-queue': 'r' };
const BASE64URL = /^[A-Za-z0-9_-]{1,512}$/;
const POSITION = /^(0|[1-9][0-9]{0,18})$/;
const MICROS_TIMESTAMP = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;
const POSITION_MAX = 9_223_372_036_854_775_807n;
const POSTING_INDEX_MAX = 2_147_483_647;

export function encodeCursor<K extends CursorKind>(kind: K, cursor: CursorOf<K>): string {
  const payload =
    kind === 'entries'
      ? [TAG[kind], (cursor as EntriesCursor).position.toString(), (cursor as EntriesCursor).postingIndex]
      : [TAG[kind], (cursor as TimeCursor).at, (cursor as TimeCursor).id];
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

/**
 * The cursor, or undefined when `text` is not one this API made for `kind`. Every check is
 * here, before any SQL: a cursor is client input and a bad one must be a 400, never a
 * database error.
 */
export function decodeCursor<K extends CursorKind>(kind: K, text: string): CursorOf<K> | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Node ignores stray bits at the end; a re-encoding that differs means it was not ours.
  if (bytes.toString('base64url') !== text) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(payload) || payload.length !== 3 || payload[0] !== TAG[kind]) return undefined;
  const [, first, second] = payload as [unknown, unknown, unknown];
  if (kind === 'entries') {
    if (typeof first !== 'string' || !POSITION.test(first) || BigInt(first) > POSITION_MAX) return undefined;
    if (typeof second !== 'number' || !Number.isInteger(second) || second < 0 || second > POSTING_INDEX_MAX) return undefined;
    return { position: BigInt(first), postingIndex: second } as CursorOf<K>;
  }
  if (typeof first !== 'string' || !MICROS_TIMESTAMP.test(first) || !isIsoTimestamp(first)) return undefined;
  if (typeof second !== 'string' || !ENTITY_ID_PATTERN.test(second)) return undefined;
  return { at: first, id: second } as CursorOf<K>;
}
