import { AccountBalanceEntity } from './account-balance.entity';
import { JournalEntryEntity } from './journal-entry.entity';
import { ProjectionCheckpointEntity } from './projection-checkpoint.entity';
import { ReconciliationItemEntity } from './reconciliation-item.entity';
import { ReconciliationStatementEntity } from './reconciliation-statement.entity';
import { ReviewQueueEntity } from './review-queue.entity';
import { WithdrawalStatusHistoryEntity } from './withdrawal-status-history.entity';
import { WithdrawalEntity } from './withdrawal.entity';

export {
  AccountBalanceEntity,
  JournalEntryEntity,
  ProjectionCheckpointEntity,
  ReconciliationItemEntity,
  ReconciliationStatementEntity,
  ReviewQueueEntity,
  WithdrawalEntity,
  WithdrawalStatusHistoryEntity,
};
export { bigintColumn } from './column-transformers';

/** Every read-model entity, for a DataSource's `entities`. */
export const READ_MODEL_ENTITIES = [
  ProjectionCheckpointEntity,
  AccountBalanceEntity,
  JournalEntryEntity,
  WithdrawalEntity,
  WithdrawalStatusHistoryEntity,
  ReviewQueueEntity,
  ReconciliationStatementEntity,
  ReconciliationItemEntity,
] as const;
