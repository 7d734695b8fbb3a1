import { randomUUID } from 'node:crypto';
import { failedFields, get, seedBalance, seedEntries, setAllCheckpoints, startReadApi, walk, type EntrySeed, type ReadHarness } from './testing/read-api-harness';

let api: ReadHarness;

beforeAll(async () => {
  api = await startReadApi();
  await setAllCheckpoints(api.pool, 1_000_000);
});
afterAll(async () => {
  await api?.close();
});

const accountId = () => `acc-${randomUUID()}`;
// Positions are global: every test takes fresh ones, as events from one log would have.
let nextPosition = 1_000;
const positions = (count: number) => {
  const first = nextPosition;
  nextPosition += count;
  return first;
};

describe('GET /v1/accounts/{id}/balance', () => {
  it('answers the balance with amounts and position as digit strings', async () => {
    const id = accountId();
    // Beyond 2^53: a JSON number would lose the last digits.
    await seedBalance(api.pool, { accountId: id, available: '9007199254740993', pending: '1050', position: '9007199254740995' });
    const answer = await get(api, `/v1/accounts/${id}/balance`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ accountId: id, currency: 'EUR', available: '9007199254740993', pending: '1050', position: '9007199254740995' });
  });

  it('an unknown account is 404 account_not_found', async () => {
    const id = accountId();
    const answer = await get(api, `/v1/accounts/${id}/balance`);
    expect(answer.status).toBe(404);
    expect(answer.body.error).toMatchObject({ code: 'account_not_found', details: { accountId: id } });
    expect(answer.body.requestId).toEqual(expect.any(String));
  });

  it.each([
    ['an id with a space', '/v1/accounts/bad%20id/balance', 'id'],
    ['an id starting with a dash', '/v1/accounts/-acc/balance', 'id'],
    ['an id over 100 characters', `/v1/accounts/${'a'.repeat(101)}/balance`, 'id'],
    ['a malformed minPosition', '/v1/accounts/acc-1/balance?minPosition=-1', 'minPosition'],
    ['a minPosition with a leading zero', '/v1/accounts/acc-1/balance?minPosition=01', 'minPosition'],
    ['a minPosition over 2^63-1', '/v1/accounts/acc-1/balance?minPosition=9223372036854775808', 'minPosition'],
    ['a repeated minPosition', '/v1/accounts/acc-1/balance?minPosition=1&minPosition=2', 'minPosition'],
    ['an unknown query parameter', '/v1/accounts/acc-1/balance?verbose=1', 'verbose'],
  ])('%s is 400 validation_failed', async (_name, path, field) => {
    const answer = await get(api, path);
    expect(answer.status).toBe(400);
    expect(answer.body.error!.code).toBe('validation_failed');
    expect(failedFields(answer)).toContain(field);
  });
});

describe('GET /v1/accounts/{id}/entries', () => {
  function postings(id: string, count: number): EntrySeed[] {
    // Two postings per event, one of them on a system account, as a deposit makes.
    const seeds: EntrySeed[] = [];
    const first = positions(count);
    for (let i = 0; i < count; i += 1) {
      seeds.push({ position: first + i, postingIndex: 0, accountId: null, ledgerAccount: 'external:deposits', side: 'debit', amount: String(i + 1) });
      seeds.push({ position: first + i, postingIndex: 1, accountId: id, ledgerAccount: `user:${id}:available`, side: 'credit', amount: String(i + 1) });
    }
    return seeds;
  }

  it('lists the account postings in log order, with every field', async () => {
    const id = accountId();
    await seedBalance(api.pool, { accountId: id });
    await seedEntries(api.pool, [
      { position: 7, postingIndex: 0, accountId: id, ledgerAccount: `user:${id}:available`, side: 'credit', amount: '1000', eventType: 'FundsDeposited', recordedAt: '2026-11-23T10:00:00.123456Z' },
      { position: 9, postingIndex: 0, accountId: id, ledgerAccount: `user:${id}:available`, side: 'debit', amount: '250', eventType: 'Debited' },
      { position: 9, postingIndex: 1, accountId: id, ledgerAccount: `user:${id}:pending`, side: 'credit', amount: '250', eventType: 'Debited' },
      { position: 8, postingIndex: 0, accountId: 'someone-else', ledgerAccount: 'user:someone-else:available', side: 'credit', amount: '5' },
    ]);
    const answer = await get(api, `/v1/accounts/${id}/entries`);
    expect(answer.status).toBe(200);
    expect(answer.body.nextCursor).toBeNull();
    expect(answer.body.items).toEqual([
      { position: '7', postingIndex: 0, ledgerAccount: `user:${id}:available`, side: 'credit', amount: '1000', currency: 'EUR', eventType: 'FundsDeposited', recordedAt: '2026-11-23T10:00:00.123Z' },
      { position: '9', postingIndex: 0, ledgerAccount: `user:${id}:available`, side: 'debit', amount: '250', currency: 'EUR', eventType: 'Debited', recordedAt: '2026-11-23T10:00:00.000Z' },
      { position: '9', postingIndex: 1, ledgerAccount: `user:${id}:pending`, side: 'credit', amount: '250', currency: 'EUR', eventType: 'Debited', recordedAt: '2026-11-23T10:00:00.000Z' },
    ]);
  });

  it.each([1, 2, 7, 100, 500])('pages of %i walk every posting exactly once, in order', async (limit) => {
    const id = accountId();
    await seedBalance(api.pool, { accountId: id });
    // Several postings of the account in one event, so pages split inside an event.
    const seeds = postings(id, 60);
    for (let i = 0; i < 20; i += 1) {
      seeds.push({ position: Number(seeds[0]!.position) + i, postingIndex: 2, accountId: id, ledgerAccount: `user:${id}:pending`, side: 'debit', amount: '1' });
    }
    await seedEntries(api.pool, seeds);
    const pages = await walk(api, `/v1/accounts/${id}/entries?limit=${limit}`);
    const keys = pages.flat().map((e) => `${e.position as string}/${e.postingIndex as number}`);
    const expected = seeds
      .filter((s) => s.accountId === id)
      .sort((a, b) => Number(a.position) - Number(b.position) || a.postingIndex - b.postingIndex)
      .map((s) => `${s.position}/${s.postingIndex}`);
    expect(keys).toEqual(expected);
    expect(pages.every((page) => page.length <= limit)).toBe(true);
    expect(pages.length).toBe(Math.max(1, Math.ceil(expected.length / limit)));
  });

  it('the default page is 100 entries', async () => {
    const id = accountId();
    await seedBalance(api.pool, { accountId: id });
    await seedEntries(api.pool, postings(id, 150));
    const answer = await get(api, `/v1/accounts/${id}/entries`);
    expect((answer.body.items as unknown[]).length).toBe(100);
    expect(answer.body.nextCursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
  });

  it('an account without postings yet is an empty page; an unknown one is 404 account_not_found', async () => {
    const opened = accountId();
    await seedBalance(api.pool, { accountId: opened });
    const empty = await get(api, `/v1/accounts/${opened}/entries`);
    expect([empty.status, empty.body.items, empty.body.nextCursor]).toEqual([200, [], null]);
    const unknown = await get(api, `/v1/accounts/${accountId()}/entries`);
    expect([unknown.status, unknown.body.error!.code]).toEqual([404, 'account_not_found']);
  });

  it('a cursor of another list is refused', async () => {
    const other = Buffer.from(JSON.stringify(['w', '2026-11-23T10:00:00.000000Z', 'w-1'])).toString('base64url');
    const answer = await get(api, `/v1/accounts/acc-1/entries?cursor=${other}`);
    expect([answer.status, failedFields(answer)]).toEqual([400, ['cursor']]);
  });

  const badCursors: Array<[string, string]> = [
    ['not base64url', 'abc$def'],
    ['base64 of not JSON', Buffer.from('hello').toString('base64url')],
    ['JSON of the wrong shape', Buffer.from(JSON.stringify({ position: '1' })).toString('base64url')],
    ['a negative position', Buffer.from(JSON.stringify(['e', '-1', 0])).toString('base64url')],
    ['a position over bigint', Buffer.from(JSON.stringify(['e', '9223372036854775808', 0])).toString('base64url')],
    ['a fractional posting index', Buffer.from(JSON.stringify(['e', '5', 0.5])).toString('base64url')],
    ['trailing bits', `${Buffer.from(JSON.stringify(['e', '5', 0])).toString('base64url')}x`],
    ['padding', `${Buffer.from(JSON.stringify(['e', '5', 0])).toString('base64url')}=`],
    ['too long', 'A'.repeat(600)],
  ];
  it.each(badCursors)('a malformed cursor (%s) is 400 validation_failed', async (_name, cursor) => {
    const answer = await get(api, `/v1/accounts/acc-1/entries?cursor=${encodeURIComponent(cursor)}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error!.code).toBe('validation_failed');
    expect(failedFields(answer)).toEqual(['cursor']);
  });

  it.each(['0', '501', '-1', '1.5', '01', 'ten', ''])('limit=%s is 400 validation_failed', async (limit) => {
    const answer = await get(api, `/v1/accounts/acc-1/entries?limit=${limit}`);
    expect([answer.status, failedFields(answer)]).toEqual([400, ['limit']]);
  });
});
