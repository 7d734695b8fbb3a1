import { FULL_ACCOUNT_NUMBER } from './apps';
import { operationName, type Operation } from './openapi';

/**
 * A body the operation accepts, so that whatever refuses a request built on it is the one
 * thing the test changed (the key, a header, one field) and nothing else.
 */
export function validBody(operation: Operation, ids: { accountId: string }): Record<string, unknown> {
  switch (operationName(operation)) {
    case 'POST /v1/accounts':
      return { ownerId: 'owner-walk', currency: 'EUR' };
    case 'POST /v1/accounts/{id}/deposits':
      return { amount: '100', currency: 'EUR', reference: 'walk' };
    case 'POST /v1/withdrawals':
      return {
        accountId: ids.accountId,
        amount: '1',
        currency: 'EUR',
        destination: { type: 'bank_account', accountNumber: FULL_ACCOUNT_NUMBER, bankCode: 'COBADEFFXXX', holderName: 'Ada Lovelace' },
      };
    case 'POST /v1/withdrawals/{id}/review':
      return { decision: 'fail', reason: 'walk' };
    case 'POST /v1/callbacks/{channel}':
      return {
        type: 'payout.settled',
        timestamp: '2026-11-23T10:15:00.000Z',
        data: {
          idempotencyKey: 'wd-1:1',
          withdrawalId: 'wd-1',
          attempt: 1,
          providerReference: 'psp_1',
          amount: '1050',
          currency: 'EUR',
          reason: null,
        },
      };
    default:
      return operation.bodyFields?.includes('reason') ? { reason: 'walk' } : {};
  }
}
