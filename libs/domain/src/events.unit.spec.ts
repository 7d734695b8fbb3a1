import {
  ACCOUNT_EVENT_TYPES,
  EVENT_SCHEMA_VERSIONS,
  isLedgerEventType,
  isMoneyEvent,
  LEDGER_EVENT_TYPES,
  MONEY_EVENT_TYPES,
  postingsOf,
  WITHDRAWAL_EVENT_TYPES,
  type LedgerEvent,
} from './events';

/** The store's event-type rule (`EVENT_TYPE_PATTERN` in `@ledger/event-store`). */
const EVENT_TYPE_PATTERN = /^[A-Z][A-Za-z0-9]*(\.v[1-9][0-9]*)?$/;

describe('the event catalogue', () => {
  it('lists every event of the architecture, plus DebitReturned, PayoutAttemptFailed and ProviderCallbackReceived (ADR 0008)', () => {
    expect([...LEDGER_EVENT_TYPES].sort()).toEqual(
      [
        'AccountOpened', 'FundsDeposited', 'WithdrawalRequested', 'Debited', 'DebitSettled', 'DebitReversed',
        'DebitReturned', 'AccountFrozen', 'AccountUnfrozen', 'PayoutInitiated', 'PayoutSubmitted',
        'PayoutOutcomeUnknown', 'Settled', 'PayoutFailed', 'WithdrawalCancelled', 'ManualReviewRequested',
        'ManualReviewResolved', 'PayoutReturned', 'StatementImported', 'ItemMatched', 'DiscrepancyFound',
        'DiscrepancyResolved', 'PayoutAttemptFailed', 'ProviderCallbackReceived',
      ].sort(),
    );
  });

  it('names every type in PascalCase the store accepts, at schema version 1', () => {
    for (const type of LEDGER_EVENT_TYPES) {
      expect(type).toMatch(EVENT_TYPE_PATTERN);
      expect(EVENT_SCHEMA_VERSIONS[type]).toBe(1);
    }
  });

  it('puts each type on exactly one stream kind', () => {
    const both = ACCOUNT_EVENT_TYPES.filter((type) => (WITHDRAWAL_EVENT_TYPES as readonly string[]).includes(type));
    expect(both).toEqual([]);
    expect(ACCOUNT_EVENT_TYPES).toHaveLength(9);
    expect(WITHDRAWAL_EVENT_TYPES).toHaveLength(10);
  });

  it('recognises only catalogue names', () => {
    expect(isLedgerEventType('Debited')).toBe(true);
    expect(isLedgerEventType('debited')).toBe(false);
    expect(isLedgerEventType('constructor')).toBe(false);
    expect(isLedgerEventType(42)).toBe(false);
  });

  it('has postings on money events only, all of them on the account stream', () => {
    for (const type of MONEY_EVENT_TYPES) expect(ACCOUNT_EVENT_TYPES).toContain(type);
    const deposit = { type: 'FundsDeposited', data: { postings: [{ account: 'x' }] } } as unknown as LedgerEvent;
    const frozen = { type: 'AccountFrozen', data: {} } as unknown as LedgerEvent;
    expect(isMoneyEvent(deposit)).toBe(true);
    expect(postingsOf(deposit)).toHaveLength(1);
    expect(isMoneyEvent(frozen)).toBe(false);
    expect(postingsOf(frozen)).toEqual([]);
  });
});
