import { parseCallbackBody } from './callback-payload';
import { CallbackRejectedError } from './errors';

const valid = {
  type: 'payout.failed',
  timestamp: '2026-11-23T10:15:00.000Z',
  data: {
    idempotencyKey: 'wd-1:1',
    withdrawalId: 'wd-1',
    attempt: 1,
    providerReference: 'psp_abc',
    amount: '1050',
    currency: 'EUR',
    reason: 'beneficiary_account_closed',
  },
};

function body(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

function rejectionOf(raw: Buffer): CallbackRejectedError {
  try {
    parseCallbackBody(raw);
  } catch (error) {
    if (error instanceof CallbackRejectedError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('parseCallbackBody', () => {
  it('reads the documented shape: amounts as bigint, times as Dates', () => {
    expect(parseCallbackBody(body(valid))).toEqual({
      type: 'payout.failed',
      idempotencyKey: 'wd-1:1',
      withdrawalId: 'wd-1',
      attempt: 1,
      providerReference: 'psp_abc',
      amount: 1050n,
      currency: 'EUR',
      reason: 'beneficiary_account_closed',
      occurredAt: new Date('2026-11-23T10:15:00.000Z'),
    });
  });

  it('treats a null or absent reason as none, and ignores fields it does not know', () => {
    const parsed = parseCallbackBody(body({ ...valid, type: 'payout.settled', extra: 1, data: { ...valid.data, reason: null, more: true } }));
    expect(parsed).not.toHaveProperty('reason');
    expect(parsed.type).toBe('payout.settled');
  });

  it.each([
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'body_not_utf8', undefined],
    ['not JSON', body('{"type":'), 'body_not_json', undefined],
    ['an array', body([valid]), 'body_not_an_object', undefined],
    ['an unknown type', body({ ...valid, type: 'payout.created' }), 'unknown_event_type', 'type'],
    ['a number amount', body({ ...valid, data: { ...valid.data, amount: 1050 } }), 'invalid_field', 'data.amount'],
    ['a decimal amount', body({ ...valid, data: { ...valid.data, amount: '10.50' } }), 'invalid_field', 'data.amount'],
    ['a zero amount', body({ ...valid, data: { ...valid.data, amount: '0' } }), 'invalid_field', 'data.amount'],
    ['an unknown currency', body({ ...valid, data: { ...valid.data, currency: 'XXX' } }), 'invalid_field', 'data.currency'],
    ['attempt 0', body({ ...valid, data: { ...valid.data, attempt: 0 } }), 'invalid_field', 'data.attempt'],
    ['a missing reference', body({ ...valid, data: { ...valid.data, providerReference: undefined } }), 'invalid_field', 'data.providerReference'],
    ['a control character in an id', body({ ...valid, data: { ...valid.data, withdrawalId: 'wd\n1' } }), 'invalid_field', 'data.withdrawalId'],
    ['a bad timestamp', body({ ...valid, timestamp: 'yesterday' }), 'invalid_field', 'timestamp'],
    ['no data', body({ type: valid.type, timestamp: valid.timestamp }), 'invalid_field', 'data'],
  ])('rejects %s as malformed_callback (400)', (_name, raw, reason, field) => {
    const error = rejectionOf(raw);
    expect(error).toMatchObject({ code: 'malformed_callback', status: 400, reason });
    if (field) expect(error.details).toMatchObject({ field });
  });
});
