import * as domain from './index';

describe('the public API of @ledger/domain', () => {
  it('exports the deciders, the state machine, money and postings helpers', () => {
    for (const name of [
      'accountDecider',
      'withdrawalDecider',
      'holdCommandForWithdrawalEvent',
      'WITHDRAWAL_TRANSITIONS',
      'canTransition',
      'classifyTransition',
      'withdrawalStatusAfter',
      'parseAmount',
      'parseCurrency',
      'encodeAmount',
      'decodeAmount',
      'postingsBalance',
      'applyPostings',
      'accountStream',
      'withdrawalStream',
      'reconciliationStream',
      'EVENT_SCHEMA_VERSIONS',
      'DomainRejection',
      'REJECTION_CODES',
    ]) {
      expect(domain).toHaveProperty(name);
    }
  });

  it('keeps decider helpers internal', () => {
    expect(domain).not.toHaveProperty('requireText');
    expect(domain).not.toHaveProperty('assertNever');
    expect(domain).not.toHaveProperty('success');
  });
});
