import { randomUUID } from 'node:crypto';
import { accountDecider, accountStream, type AccountEvent, type AccountState } from '@ledger/domain';
import { destination, fundedAccount, post, startLedgerApi, type Harness } from './testing/ledger-api-harness';

let api: Harness;

beforeAll(async () => {
  api = await startLedgerApi();
});
afterAll(async () => {
  await api?.close();
});

async function accountState(accountId: string): Promise<AccountState & { status: 'open' }> {
  const events = await api.store.readStream(accountStream(accountId));
  const state = events.reduce(
    (s, e) => accountDecider.evolve(s, e as unknown as AccountEvent),
    accountDecider.initialState(),
  );
  if (state.status !== 'open') throw new Error('account not open');
  return state;
}

function withdrawal(accountId: string, amount: string, extra: Record<string, unknown> = {}) {
  return { accountId, amount, currency: 'EUR', destination, ...extra };
}

describe('command API over HTTP', () => {
  describe('accounts and deposits', () => {
    it('opens an account with 201 and the position of its event', async () => {
      const accountId = `acc-${randomUUID()}`;
      const answer = await post(api.baseUrl, '/v1/accounts', { accountId, ownerId: 'o-1', currency: 'EUR' }, { key: api.keys.writer });
      expect(answer.status).toBe(201);
      expect(answer.body).toEqual({ accountId, currency: 'EUR', position: expect.stringMatching(/^[0-9]+$/) });
      const events = await api.store.readStream(accountStream(accountId));
      expect(events.map((e) => e.type)).toEqual(['AccountOpened']);
      expect(events[0]!.globalPosition.toString()).toBe(answer.body.position);
    });

    it('derives the account id from the idempotency key when none is given', async () => {
      const idempotencyKey = randomUUID();
      const first = await post(api.baseUrl, '/v1/accounts', { ownerId: 'o-2', currency: 'USD' }, { key: api.keys.writer, idempotencyKey });
      expect(first.status).toBe(201);
      expect(first.body.accountId).toMatch(/^[0-9a-f-]{36}$/);
      const again = await post(api.baseUrl, '/v1/accounts', { ownerId: 'o-2', currency: 'USD' }, { key: api.keys.writer, idempotencyKey });
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });

    it('opening an existing account is 409 account_already_open', async () => {
      const accountId = await fundedAccount(api, '0');
      const answer = await post(api.baseUrl, '/v1/accounts', { accountId, ownerId: 'o', currency: 'EUR' }, { key: api.keys.writer });
      expect(answer.status).toBe(409);
      expect(answer.body.error!.code).toBe('account_already_open');
    });

    it('deposits credit the available balance; a deposit in another currency is 422 currency_mismatch', async () => {
      const accountId = await fundedAccount(api, '1000');
      expect((await accountState(accountId)).amountAvailable).toBe(1000n);
      const wrong = await post(
        api.baseUrl,
        `/v1/accounts/${accountId}/deposits`,
        { amount: '5', currency: 'USD', reference: 'r' },
        { key: api.keys.writer },
      );
      expect(wrong.status).toBe(422);
      expect(wrong.body.error!.code).toBe('currency_mismatch');
      const missing = await post(
        api.baseUrl,
        `/v1/accounts/acc-nope-${randomUUID()}/deposits`,
        { amount: '5', currency: 'EUR', reference: 'r' },
        { key: api.keys.writer },
      );
      expect(missing.status).toBe(404);
      expect(missing.body.error!.code).toBe('account_not_open');
    });
  });

  describe('withdrawals', () => {
    it('holds the amount: WithdrawalRequested and Debited in one append, 202 requested', async () => {
      const accountId = await fundedAccount(api, '1000');
      const answer = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '250'), { key: api.keys.writer });
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({
        withdrawalId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'requested',
        position: expect.stringMatching(/^[0-9]+$/),
      });
      const events = await api.store.readStream(accountStream(accountId));
      expect(events.map((e) => e.type)).toEqual(['AccountOpened', 'FundsDeposited', 'WithdrawalRequested', 'Debited']);
      // One append: consecutive positions, the answer names the last.
      expect(events[3]!.globalPosition - events[2]!.globalPosition).toBe(1n);
      expect(events[3]!.globalPosition.toString()).toBe(answer.body.position);
      const state = await accountState(accountId);
      expect([state.amountAvailable, state.amountPending]).toEqual([750n, 250n]);
    });

    it('every appended event carries correlation, causation, traceparent and principal', async () => {
      const accountId = await fundedAccount(api, '100');
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const answer = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), {
        key: api.keys.writer,
        headers: { 'x-correlation-id': 'corr-123', traceparent },
      });
      expect(answer.status).toBe(202);
      const events = await api.store.readStream(accountStream(accountId));
      for (const event of events.slice(-2)) {
        expect(event.metadata).toMatchObject({
          correlationId: 'corr-123',
          causationId: answer.headers.get('x-request-id'),
          principal: 'api-key:writer',
        });
        expect(String(event.metadata.traceparent)).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      }
    });

    it('200 concurrent withdrawals of 10 against 1,000: exactly 100 accepted, balance 0, never negative', async () => {
      const accountId = await fundedAccount(api, '1000');
      const answers = await Promise.all(
        Array.from({ length: 200 }, () => post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), { key: api.keys.writer })),
      );
      const accepted = answers.filter((a) => a.status === 202);
      const refused = answers.filter((a) => a.status === 422);
      expect(accepted).toHaveLength(100);
      expect(refused).toHaveLength(100);
      expect(refused.every((a) => a.body.error!.code === 'insufficient_funds')).toBe(true);
      expect(new Set(accepted.map((a) => a.body.withdrawalId)).size).toBe(100);

      const state = await accountState(accountId);
      expect(state.amountAvailable).toBe(0n);
      expect(state.amountPending).toBe(1000n);
      expect(state.holdsOpen.size).toBe(100);
      // Never negative at any point: replay the stream and check after every event.
      const events = await api.store.readStream(accountStream(accountId));
      let running: AccountState = accountDecider.initialState();
      for (const event of events) {
        running = accountDecider.evolve(running, event as unknown as AccountEvent);
        if (running.status === 'open') expect(running.amountAvailable >= 0n).toBe(true);
      }
    });

    it('the same withdrawal sent 20 times concurrently with one key makes one withdrawal', async () => {
      const accountId = await fundedAccount(api, '1000');
      const idempotencyKey = randomUUID();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey }),
        ),
      );
      const ok = answers.filter((a) => a.status === 202);
      const inUse = answers.filter((a) => a.status === 409);
      expect(ok.length + inUse.length).toBe(20);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(inUse.every((a) => a.body.error!.code === 'idempotency_key_in_use')).toBe(true);
      expect(new Set(ok.map((a) => a.body.withdrawalId)).size).toBe(1);

      const replay = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey });
      expect(replay.status).toBe(202);
      expect(replay.body).toEqual(ok[0]!.body);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');

      const state = await accountState(accountId);
      expect(state.holdsOpen.size).toBe(1);
      expect([state.amountAvailable, state.amountPending]).toEqual([900n, 100n]);
    });

    it('reusing a key with another body is 422 idempotency_key_reused and writes nothing', async () => {
      const accountId = await fundedAccount(api, '1000');
      const idempotencyKey = randomUUID();
      const first = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey });
      expect(first.status).toBe(202);
      const reused = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '200'), { key: api.keys.writer, idempotencyKey });
      expect(reused.status).toBe(422);
      expect(reused.body.error!.code).toBe('idempotency_key_reused');
      expect((await accountState(accountId)).amountPending).toBe(100n);
    });

    it('keys are scoped per API key: the same key under another API key is another request', async () => {
      const accountId = await fundedAccount(api, '1000');
      const idempotencyKey = randomUUID();
      const a = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey });
      const b = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.all, idempotencyKey });
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(a.body.withdrawalId).not.toBe(b.body.withdrawalId);
      expect((await accountState(accountId)).amountPending).toBe(200n);
    });

    it('a refusal is stored with its key: the retry gets the same 422 even after funds arrive', async () => {
      const accountId = await fundedAccount(api, '50');
      const idempotencyKey = randomUUID();
      const first = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey });
      expect(first.status).toBe(422);
      await post(api.baseUrl, `/v1/accounts/${accountId}/deposits`, { amount: '100', currency: 'EUR', reference: 'top-up' }, { key: api.keys.writer });
      const retry = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '100'), { key: api.keys.writer, idempotencyKey });
      expect(retry.status).toBe(422);
      expect(retry.body.error).toEqual(first.body.error);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
    });

    it('refuses with the rule that was broken: currency_mismatch, account_frozen, amount_exceeds_limit', async () => {
      const accountId = await fundedAccount(api, '1000');
      const mismatch = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10', { currency: 'USD' }), { key: api.keys.writer });
      expect([mismatch.status, mismatch.body.error!.code]).toEqual([422, 'currency_mismatch']);

      const limited = await startLedgerApi({ withdrawalAmountLimits: new Map([['EUR', 500n]]) });
      try {
        const account = await fundedAccount(limited, '1000');
        const over = await post(limited.baseUrl, '/v1/withdrawals', { accountId: account, amount: '501', currency: 'EUR', destination }, { key: limited.keys.writer });
        expect([over.status, over.body.error!.code]).toEqual([422, 'amount_exceeds_limit']);
      } finally {
        await limited.close();
      }

      const frozen = await post(api.baseUrl, `/v1/accounts/${accountId}/freeze`, { reason: 'fraud check' }, { key: api.keys.ops });
      expect(frozen.status).toBe(200);
      expect(frozen.body).toMatchObject({ accountId, frozen: true });
      const refused = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), { key: api.keys.writer });
      expect([refused.status, refused.body.error!.code]).toEqual([422, 'account_frozen']);
      const again = await post(api.baseUrl, `/v1/accounts/${accountId}/freeze`, { reason: 'twice' }, { key: api.keys.ops });
      expect([again.status, again.body.error!.code]).toEqual([409, 'account_already_frozen']);
      const unfrozen = await post(api.baseUrl, `/v1/accounts/${accountId}/unfreeze`, { reason: 'cleared' }, { key: api.keys.ops });
      expect(unfrozen.status).toBe(200);
      const allowed = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), { key: api.keys.writer });
      expect(allowed.status).toBe(202);
    });
  });

  describe('cancel', () => {
    it('cancels a requested withdrawal and returns the hold; a second cancel is 409; an unknown one 404', async () => {
      const accountId = await fundedAccount(api, '1000');
      const requested = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '300'), { key: api.keys.writer });
      const withdrawalId = requested.body.withdrawalId as string;

      const cancelled = await post(api.baseUrl, `/v1/withdrawals/${withdrawalId}/cancel`, { reason: 'customer asked' }, { key: api.keys.writer });
      expect(cancelled.status).toBe(202);
      expect(cancelled.body).toMatchObject({ withdrawalId, status: 'cancelled' });
      const state = await accountState(accountId);
      expect([state.amountAvailable, state.amountPending]).toEqual([1000n, 0n]);
      expect((await api.store.readStream(`withdrawal-${withdrawalId}`)).map((e) => e.type)).toEqual(['WithdrawalCancelled']);

      const twice = await post(api.baseUrl, `/v1/withdrawals/${withdrawalId}/cancel`, {}, { key: api.keys.writer });
      expect([twice.status, twice.body.error!.code]).toEqual([409, 'withdrawal_not_cancellable']);
      const unknown = await post(api.baseUrl, `/v1/withdrawals/${randomUUID()}/cancel`, {}, { key: api.keys.writer });
      expect([unknown.status, unknown.body.error!.code]).toEqual([404, 'withdrawal_not_found']);
      expect((await accountState(accountId)).amountAvailable).toBe(1000n);
    });
  });

  describe('authentication and scopes', () => {
    const cases: Array<[string, Record<string, string>]> = [
      ['no Authorization header', {}],
      ['a forged key', { authorization: 'Bearer lk_forgedforgedforgedforgedforgedforgedforged0' }],
      ['a malformed header', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['an empty bearer', { authorization: 'Bearer ' }],
    ];
    it.each(cases)('%s is 401 unauthenticated and writes nothing', async (_name, headers) => {
      const accountId = `acc-${randomUUID()}`;
      const answer = await post(api.baseUrl, '/v1/accounts', { accountId, ownerId: 'o', currency: 'EUR' }, { headers });
      expect(answer.status).toBe(401);
      expect(answer.body.error!.code).toBe('unauthenticated');
      expect(answer.body.requestId).toEqual(expect.any(String));
      expect(await api.store.readStream(accountStream(accountId))).toEqual([]);
    });

    it('a key without the scope is 403 insufficient_scope', async () => {
      const accountId = await fundedAccount(api, '100');
      const read = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), { key: api.keys.reader });
      expect([read.status, read.body.error!.code]).toEqual([403, 'insufficient_scope']);
      const writerFreezes = await post(api.baseUrl, `/v1/accounts/${accountId}/freeze`, { reason: 'x' }, { key: api.keys.writer });
      expect([writerFreezes.status, writerFreezes.body.error!.code]).toEqual([403, 'insufficient_scope']);
      expect((await accountState(accountId)).frozen).toBe(false);
    });

    it('rate limits per key with 429 and Retry-After', async () => {
      const limited = await startLedgerApi({ rateLimit: { perSecond: 1, burst: 3 } });
      try {
        const answers = [];
        for (let i = 0; i < 5; i += 1) {
          answers.push(await post(limited.baseUrl, '/v1/accounts', { ownerId: 'o', currency: 'EUR' }, { key: limited.keys.writer }));
        }
        expect(answers.slice(0, 3).map((a) => a.status)).toEqual([201, 201, 201]);
        expect(answers[4]!.status).toBe(429);
        expect(answers[4]!.body.error!.code).toBe('rate_limited');
        expect(Number(answers[4]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        // Another key has its own bucket.
        const other = await post(limited.baseUrl, '/v1/accounts', { ownerId: 'o', currency: 'EUR' }, { key: limited.keys.all });
        expect(other.status).toBe(201);
      } finally {
        await limited.close();
      }
    });
  });

  describe('validation: every bad input is 400 with the field, and nothing is appended', () => {
    const good = () => ({ ...withdrawal('acc-valid', '10') });
    const cases: Array<[string, (body: Record<string, unknown>) => unknown, string]> = [
      ['amount as a JSON number', (b) => ({ ...b, amount: 10 }), 'amount'],
      ['amount with a decimal point', (b) => ({ ...b, amount: '10.50' }), 'amount'],
      ['amount with a sign', (b) => ({ ...b, amount: '-10' }), 'amount'],
      ['amount with a leading zero', (b) => ({ ...b, amount: '010' }), 'amount'],
      ['amount with an exponent', (b) => ({ ...b, amount: '1e3' }), 'amount'],
      ['amount with spaces', (b) => ({ ...b, amount: ' 10' }), 'amount'],
      ['amount over 18 digits', (b) => ({ ...b, amount: '1000000000000000000' }), 'amount'],
      ['empty amount', (b) => ({ ...b, amount: '' }), 'amount'],
      ['missing amount', ({ amount: _a, ...b }) => b, 'amount'],
      ['lower-case currency', (b) => ({ ...b, currency: 'eur' }), 'currency'],
      ['unknown currency', (b) => ({ ...b, currency: 'XXX' }), 'currency'],
      ['malformed account id', (b) => ({ ...b, accountId: 'acc with spaces' }), 'accountId'],
      ['missing destination', ({ destination: _d, ...b }) => b, 'destination'],
      ['destination of another type', (b) => ({ ...b, destination: { ...destination, type: 'card' } }), 'destination.type'],
      ['account number with spaces', (b) => ({ ...b, destination: { ...destination, accountNumber: 'DE89 3704' } }), 'destination.accountNumber'],
      ['account number too short', (b) => ({ ...b, destination: { ...destination, accountNumber: '12345' } }), 'destination.accountNumber'],
      ['lower-case bank code', (b) => ({ ...b, destination: { ...destination, bankCode: 'cobadeff' } }), 'destination.bankCode'],
      ['empty holder name', (b) => ({ ...b, destination: { ...destination, holderName: '' } }), 'destination.holderName'],
      ['holder name with a control character', (b) => ({ ...b, destination: { ...destination, holderName: 'Ada\u0000' } }), 'destination.holderName'],
      ['holder name over 140 characters', (b) => ({ ...b, destination: { ...destination, holderName: 'x'.repeat(141) } }), 'destination.holderName'],
      ['unknown destination field', (b) => ({ ...b, destination: { ...destination, iban: 'x' } }), 'destination.iban'],
      ['unknown top-level field', (b) => ({ ...b, priority: 'high' }), 'priority'],
      ['malformed channel', (b) => ({ ...b, channel: 'Bank One' }), 'channel'],
    ];

    it.each(cases)('%s', async (_name, mutate, field) => {
      const head = await api.store.headPosition();
      const answer = await post(api.baseUrl, '/v1/withdrawals', mutate(good()), { key: api.keys.writer });
      expect(answer.status).toBe(400);
      expect(answer.body.error!.code).toBe('validation_failed');
      const fields = (answer.body.error!.details.fields as Array<{ field: string }>).map((f) => f.field);
      expect(fields).toContain(field);
      expect(await api.store.headPosition()).toBe(head);
    });

    it('deposits and accounts validate too', async () => {
      const head = await api.store.headPosition();
      const badAccount = await post(api.baseUrl, '/v1/accounts', { ownerId: '', currency: 'EURO' }, { key: api.keys.writer });
      expect(badAccount.status).toBe(400);
      expect((badAccount.body.error!.details.fields as Array<{ field: string }>).map((f) => f.field).sort()).toEqual(['currency', 'ownerId']);
      const badDeposit = await post(api.baseUrl, '/v1/accounts/acc-1/deposits', { amount: '1.5', currency: 'EUR', reference: '' }, { key: api.keys.writer });
      expect(badDeposit.status).toBe(400);
      const badPath = await post(api.baseUrl, '/v1/accounts/bad%20id/deposits', { amount: '1', currency: 'EUR', reference: 'r' }, { key: api.keys.writer });
      expect([badPath.status, badPath.body.error!.code]).toEqual([400, 'validation_failed']);
      expect(await api.store.headPosition()).toBe(head);
    });

    it('a validation failure is not stored: the corrected body may reuse the key', async () => {
      const accountId = await fundedAccount(api, '100');
      const idempotencyKey = randomUUID();
      const bad = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10.0'), { key: api.keys.writer, idempotencyKey });
      expect(bad.status).toBe(400);
      const fixed = await post(api.baseUrl, '/v1/withdrawals', withdrawal(accountId, '10'), { key: api.keys.writer, idempotencyKey });
      expect(fixed.status).toBe(202);
    });

    it('malformed JSON, a non-JSON body, an oversized body and a missing key are refused with their codes', async () => {
      const head = await api.store.headPosition();
      const malformed = await post(api.baseUrl, '/v1/withdrawals', undefined, { key: api.keys.writer, raw: '{"accountId": ' });
      expect([malformed.status, malformed.body.error!.code]).toEqual([400, 'malformed_json']);
      const text = await post(api.baseUrl, '/v1/withdrawals', undefined, {
        key: api.keys.writer,
        raw: 'amount=10',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      const huge = await post(api.baseUrl, '/v1/withdrawals', { ...good(), padding: 'x'.repeat(100_000) }, { key: api.keys.writer });
      expect([huge.status, huge.body.error!.code]).toEqual([413, 'payload_too_large']);
      const noKey = await post(api.baseUrl, '/v1/withdrawals', good(), { key: api.keys.writer, idempotencyKey: null });
      expect([noKey.status, noKey.body.error!.code]).toEqual([400, 'idempotency_key_missing']);
      expect(await api.store.headPosition()).toBe(head);
    });
  });

  it('serves OpenAPI generated from the DTOs at /docs-json', async () => {
    const response = await fetch(`${api.baseUrl}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/accounts', '/v1/accounts/{id}/deposits', '/v1/withdrawals', '/v1/withdrawals/{id}/cancel', '/v1/accounts/{id}/freeze']),
    );
    expect(document.components.schemas).toHaveProperty('WithdrawalRequest');
    expect(document.components.schemas).toHaveProperty('BankAccountDestinationRequest');
  });
});
