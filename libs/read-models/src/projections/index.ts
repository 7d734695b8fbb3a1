import { UnknownProjection } from '../errors';
import type { Projection } from '../projection';
import { AccountBalancesProjection } from './account-balances.projection';
import { JournalProjection } from './journal.projection';
import { RECONCILIATION_PROJECTION, ReconciliationProjection } from './reconciliation.projection';
import { WithdrawalsProjection } from './withdrawals.projection';

export { AccountBalancesProjection, JournalProjection, ReconciliationProjection, RECONCILIATION_PROJECTION, WithdrawalsProjection };
export { parseUserLedgerAccount } from './decode';

/**
 * The read models' projections by name; each name is also its checkpoint key in
 * `projection_checkpoints` and its advisory-lock name. `withdrawals` writes three tables
 * (withdrawals, withdrawal_status_history, review_queue) in one transaction, so one
 * checkpoint covers all three; `reconciliation` writes reconciliation_statements and
 * reconciliation_items the same way.
 */
export const PROJECTION_NAMES = ['balances', 'journal', 'withdrawals', 'reconciliation'] as const;

export type ProjectionName = (typeof PROJECTION_NAMES)[number];

/** Fresh instances of every read-model projection (they hold no state between batches). */
export function createProjections(names: readonly string[] = PROJECTION_NAMES): Projection[] {
  return names.map((name) => {
    switch (name) {
      case 'balances':
        return new AccountBalancesProjection();
      case 'journal':
        return new JournalProjection();
      case 'withdrawals':
        return new WithdrawalsProjection();
      case 'reconciliation':
        return new ReconciliationProjection();
      default:
        throw new UnknownProjection(name, PROJECTION_NAMES);
    }
  });
}
