import type { HoldCommand } from '@ledger/domain';

/** The verb of each account command that resolves a hold, as it appears in event-id seeds. */
const HOLD_COMMAND_VERBS: { readonly [Type in HoldCommand['command']['type']]: string } = Object.freeze({
  SettleDebit: 'settle',
  ReverseDebit: 'reverse',
  ReturnDebit: 'return',
});

/**
 * The event-id seed of the account command that a withdrawal event calls for
 * (`holdCommandForWithdrawalEvent`): `<verb>:<id of the withdrawal event>`, with the verb
 * `settle`, `reverse` or `return`. For a review resolved as `settled` that is
 * `settle:<ManualReviewResolved event id>`; its account event id is then
 * `eventIdFor(seed, 0)` = UUIDv5(`${seed}/0`, COMMAND_EVENT_ID_NAMESPACE).
 *
 * The review endpoint and the payout process manager both react to the same withdrawal
 * event and both may write the money event. Deriving the seed from that event alone, never
 * from the request or the reacting process, gives both writers the same event id, so the
 * second write is the store's idempotent no-op and money moves once. For the same reason the
 * command's `metadata.now` is the withdrawal event's own time (`resolvedAt`): the money event
 * carries it (`settledAt`, `reversedAt`), and the store compares data when it dedupes.
 *
 * Pure and small on purpose: it belongs in `@ledger/commands`, beside `eventIdFor`, where
 * the process manager can import the same function.
 */
export function holdCommandSeed(commandType: HoldCommand['command']['type'], withdrawalEventId: string): string {
  return `${HOLD_COMMAND_VERBS[commandType]}:${withdrawalEventId}`;
}
