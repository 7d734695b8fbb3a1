import {
  accountDecider,
  accountStream,
  withdrawalDecider,
  withdrawalStream,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type WithdrawalCommand,
  type WithdrawalEvent,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { StreamCommands } from '@ledger/commands';

/** Injection tokens of the command side. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const DATABASE_POOL = Symbol('DATABASE_POOL');

export class AccountCommands extends StreamCommands<AccountState, AccountCommand, AccountEvent> {
  constructor(store: EventStore) {
    super(store, accountDecider, accountStream);
  }
}

export class WithdrawalCommands extends StreamCommands<WithdrawalState, WithdrawalCommand, WithdrawalEvent> {
  constructor(store: EventStore) {
    super(store, withdrawalDecider, withdrawalStream);
  }
}
