import { InvariantViolation, MalformedEventData } from './errors';
import {
  applyPostings,
  applyPostingsInPlace,
  EXTERNAL_DEPOSITS_ACCOUNT,
  LEDGER_ACCOUNT_PATTERN,
  ledgerBalanceOf,
  ledgerSumsByCurrency,
  payoutsInTransitAccount,
  payoutsSettledAccount,
  postingsAreBalanced,
  postingsBalance,
  transfer,
  userAvailableAccount,
  userPendingAccount,
  validatePostings,
  type Posting,
} from './postings';

describe('ledger account names', () => {
  it('builds the documented names', () => {
    expect(userAvailableAccount('acc-1')).toBe('user:acc-1:available');
    expect(userPendingAccount('acc-1')).toBe('user:acc-1:pending');
    expect(EXTERNAL_DEPOSITS_ACCOUNT).toBe('external:deposits');
    expect(payoutsInTransitAccount('sandbox')).toBe('payouts:in-transit:sandbox');
    expect(payoutsSettledAccount('sandbox')).toBe('payouts:settled:sandbox');
  });

  it.each([
    'user:acc-1:available',
    'user:7f3c9e2a-0b1d-4c8e-9f00-123456789abc:pending',
    'user:a:b:available',
    'external:deposits',
    'payouts:in-transit:sandbox',
    'payouts:settled:bank_two',
  ])('recognises %s', (name) => expect(LEDGER_ACCOUNT_PATTERN.test(name)).toBe(true));

  it.each(['user:acc-1', 'user::available', 'external:withdrawals', 'payouts:settled:', 'payouts:settled:Sandbox', 'cash'])(
    'refuses %s',
    (name) => expect(LEDGER_ACCOUNT_PATTERN.test(name)).toBe(false),
  );
});

describe('transfer', () => {
  it('debits one account and credits another by the same amount', () => {
    expect(transfer('external:deposits', 'user:a:available', 1050n, 'EUR')).toEqual([
      { account: 'external:deposits', side: 'debit', amount: '1050', currency: 'EUR' },
      { account: 'user:a:available', side: 'credit', amount: '1050', currency: 'EUR' },
    ]);
  });

  it('refuses a zero amount or a single account, which would be a bug in a decider', () => {
    expect(() => transfer('external:deposits', 'user:a:available', 0n, 'EUR')).toThrow(InvariantViolation);
    expect(() => transfer('user:a:available', 'user:a:available', 1n, 'EUR')).toThrow(InvariantViolation);
  });
});

describe('postingsBalance and validatePostings', () => {
  const balanced: Posting[] = [
    ...transfer('external:deposits', 'user:a:available', 100n, 'USD'),
    ...transfer('external:deposits', 'user:b:available', 7n, 'JPY'),
  ];

  it('sums debits and credits per currency', () => {
    expect(postingsBalance(balanced)).toEqual(
      new Map([
        ['USD', { debitsTotal: 100n, creditsTotal: 100n }],
        ['JPY', { debitsTotal: 7n, creditsTotal: 7n }],
      ]),
    );
    expect(postingsAreBalanced(balanced)).toBe(true);
    expect(validatePostings(balanced)).toEqual([]);
  });

  it('does not let one currency balance another', () => {
    const crossed: Posting[] = [
      { account: 'external:deposits', side: 'debit', amount: '100', currency: 'USD' },
      { account: 'user:a:available', side: 'credit', amount: '100', currency: 'EUR' },
    ];
    expect(postingsAreBalanced(crossed)).toBe(false);
    expect(validatePostings(crossed)).toEqual(['USD: debits 100 != credits 0', 'EUR: debits 0 != credits 100']);
  });

  it('names every malformed posting', () => {
    const malformed = [
      { account: 'cash', side: 'debit', amount: '1', currency: 'USD' },
      { account: 'user:a:available', side: 'sideways', amount: '1', currency: 'USD' },
      { account: 'user:a:available', side: 'credit', amount: '0', currency: 'USD' },
      { account: 'user:a:available', side: 'credit', amount: '1.5', currency: 'USD' },
      { account: 'user:a:available', side: 'credit', amount: '1', currency: 'XXX' },
    ] as unknown as Posting[];
    expect(validatePostings(malformed)).toEqual([
      'posting 0: unknown ledger account',
      'posting 1: side must be debit or credit',
      'posting 2: amount must be positive',
      'posting 3: amount_not_digits',
      'posting 4: unsupported currency',
    ]);
  });

  it('requires at least one posting', () => {
    expect(validatePostings([])).toEqual(['a money event needs at least one posting']);
  });
});

describe('applyPostings', () => {
  it('uses balance = credits - debits for every account, so the ledger sums to zero', () => {
    const deposit = transfer('external:deposits', 'user:a:available', 1000n, 'USD');
    const hold = transfer('user:a:available', 'user:a:pending', 300n, 'USD');
    const settle = transfer('user:a:pending', 'payouts:settled:sandbox', 300n, 'USD');
    const balances = [deposit, hold, settle].reduce(applyPostings, new Map<string, bigint>());
    expect(ledgerBalanceOf(balances, 'user:a:available', 'USD')).toBe(700n);
    expect(ledgerBalanceOf(balances, 'user:a:pending', 'USD')).toBe(0n);
    expect(ledgerBalanceOf(balances, 'external:deposits', 'USD')).toBe(-1000n);
    expect(ledgerBalanceOf(balances, 'payouts:settled:sandbox', 'USD')).toBe(300n);
    expect(ledgerBalanceOf(balances, 'user:a:available', 'EUR')).toBe(0n);
    expect(ledgerSumsByCurrency(balances)).toEqual(new Map([['USD', 0n]]));
  });

  it('keeps one balance per currency for a shared account', () => {
    const balances = applyPostings(new Map(), [
      ...transfer('external:deposits', 'user:a:available', 5n, 'USD'),
      ...transfer('external:deposits', 'user:b:available', 9n, 'JPY'),
    ]);
    expect(ledgerBalanceOf(balances, 'external:deposits', 'USD')).toBe(-5n);
    expect(ledgerBalanceOf(balances, 'external:deposits', 'JPY')).toBe(-9n);
    expect(ledgerSumsByCurrency(balances)).toEqual(new Map([['USD', 0n], ['JPY', 0n]]));
  });

  it('does not change the balances it is given; the in-place variant does', () => {
    const before = new Map([['USD/user:a:available', 5n]]);
    const after = applyPostings(before, transfer('user:a:available', 'user:a:pending', 5n, 'USD'));
    expect(before).toEqual(new Map([['USD/user:a:available', 5n]]));
    expect(after.get('USD/user:a:available')).toBe(0n);
    applyPostingsInPlace(before, transfer('user:a:available', 'user:a:pending', 5n, 'USD'));
    expect(before).toEqual(after);
  });

  it('refuses a malformed stored amount', () => {
    expect(() =>
      applyPostings(new Map(), [{ account: 'user:a:available', side: 'credit', amount: '-5', currency: 'USD' }]),
    ).toThrow(MalformedEventData);
  });
});
