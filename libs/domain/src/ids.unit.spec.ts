import { isChannel, isEntityId, isIsoDate, isIsoTimestamp } from './ids';

describe('isIsoTimestamp', () => {
  it.each(['2026-11-23T10:41:00Z', '2026-11-23T10:41:00.1Z', '2026-11-23T10:41:00.123456789Z', '2028-02-29T23:59:59Z'])(
    'accepts %s',
    (value) => expect(isIsoTimestamp(value)).toBe(true),
  );

  it.each([
    '2026-11-23',
    '2026-11-23T10:41:00',
    '2026-11-23T10:41:00+01:00',
    '2026-11-23 10:41:00Z',
    '2026-11-23T24:00:00Z',
    '2026-11-23T10:60:00Z',
    '2026-11-23T10:41:60Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2026-11-23T10:41:00.1234567890Z',
    1_700_000_000_000,
    null,
  ])('refuses %p', (value) => expect(isIsoTimestamp(value)).toBe(false));
});

describe('isIsoDate', () => {
  it('knows the Gregorian leap years', () => {
    expect(isIsoDate('2000-02-29')).toBe(true);
    expect(isIsoDate('2024-02-29')).toBe(true);
    expect(isIsoDate('1900-02-29')).toBe(false);
    expect(isIsoDate('2026-02-29')).toBe(false);
    expect(isIsoDate('2026-12-31')).toBe(true);
    expect(isIsoDate('2026-00-10')).toBe(false);
    expect(isIsoDate('2026-1-10')).toBe(false);
  });
});

describe('isEntityId and isChannel', () => {
  it('accept UUIDs and readable ids, refuse separators the stream and ledger names rely on', () => {
    expect(isEntityId('7f3c9e2a-0b1d-4c8e-9f00-123456789abc')).toBe(true);
    expect(isEntityId('acc_1.2:3')).toBe(true);
    expect(isEntityId('acc/1')).toBe(false);
    expect(isEntityId('_acc')).toBe(false);
    expect(isEntityId('a'.repeat(101))).toBe(false);
    expect(isChannel('sandbox')).toBe(true);
    expect(isChannel('bank_2')).toBe(true);
    expect(isChannel('bank-2')).toBe(false);
    expect(isChannel('2bank')).toBe(false);
    expect(isChannel('Bank')).toBe(false);
  });
});
