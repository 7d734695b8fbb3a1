import type { CommandMetadata } from '../decider';
import type { PayoutDestination } from '../events';

/** Shared test data. Test-only; not exported from the library's index. */

export const NOW = '2026-11-23T10:41:00.000Z';

export const metadata: CommandMetadata = { now: NOW, principal: 'api-key:test' };

export const operator: CommandMetadata = { now: NOW, principal: 'operator:alice' };

export const destination: PayoutDestination = {
  type: 'bank_account',
  accountNumber: 'DE89370400440532013000',
  bankCode: 'COBADEFFXXX',
  holderName: 'Ada Lovelace',
};
