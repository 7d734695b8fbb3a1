/**
 * `@ledger/domain`: the pure core of the ledger. Money, events, postings, the withdrawal
 * state machine and the deciders. It imports nothing outside this folder; time, ids and the
 * acting principal arrive on commands.
 */
export type { ParseFailure, Result } from './result';
export * from './errors';
export * from './ids';
export * from './money';
export * from './postings';
export * from './streams';
export * from './withdrawal-status';
export * from './events';
export {
  assertCommandMetadata,
  foldEvents,
  TEXT_LENGTH_MAX,
  type CommandMetadata,
  type Decider,
  type DomainCommand,
} from './decider';
export * from './withdrawal-state-machine';
export * from './account-decider';
export * from './withdrawal-decider';
export * from './reconciliation-matching';
export * from './reconciliation-decider';
