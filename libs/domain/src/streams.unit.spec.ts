import { DomainRejection } from './errors';
import { accountStream, parseStreamName, reconciliationStream, STREAM_NAME_PATTERN, withdrawalStream } from './streams';

describe('stream names', () => {
  it('builds the documented names, all matching the store pattern', () => {
    const names = [
      accountStream('acc-1'),
      withdrawalStream('7f3c9e2a-0b1d-4c8e-9f00-123456789abc'),
      reconciliationStream('sandbox', '2026-11-23'),
    ];
    expect(names).toEqual([
      'account-acc-1',
      'withdrawal-7f3c9e2a-0b1d-4c8e-9f00-123456789abc',
      'reconciliation-sandbox-2026-11-23',
    ]);
    for (const name of names) expect(name).toMatch(STREAM_NAME_PATTERN);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(200);
  });

  it.each(['', 'acc 1', '-acc', 'acc/1', '$all', 'ä', 'a'.repeat(101)])('refuses the id %p', (id) => {
    expect(() => accountStream(id)).toThrow(DomainRejection);
    expect(() => withdrawalStream(id)).toThrow(expect.objectContaining({ code: 'malformed_id' }));
  });

  it('accepts an id of 100 characters', () => {
    expect(accountStream('a'.repeat(100))).toBe(`account-${'a'.repeat(100)}`);
  });

  it.each([
    ['Sandbox', '2026-11-23', 'malformed_channel'],
    ['sand-box', '2026-11-23', 'malformed_channel'],
    ['sandbox', '2026-13-01', 'malformed_date'],
    ['sandbox', '2026-02-29', 'malformed_date'],
    ['sandbox', '2026-11-23T00:00:00Z', 'malformed_date'],
  ])('refuses reconciliation stream parts %p %p', (channel, date, code) => {
    expect(() => reconciliationStream(channel, date)).toThrow(expect.objectContaining({ code }));
  });

  it('accepts a leap day', () => {
    expect(reconciliationStream('sandbox', '2028-02-29')).toBe('reconciliation-sandbox-2028-02-29');
  });

  it('splits a stream name at its first dash', () => {
    expect(parseStreamName('reconciliation-sandbox-2026-11-23')).toEqual({
      category: 'reconciliation',
      id: 'sandbox-2026-11-23',
    });
    expect(parseStreamName('$all')).toBeNull();
  });
});
