import { randomUUID } from 'node:crypto';
import { eventIdFor } from '@ledger/commands';
import {
  accountDecider,
  accountStream,
  withdrawalStream,
  type AccountEvent,
  type AccountState,
  type PayoutDestination,
} from '@ledger/domain';
import { deriveId } from '@ledger/platform';
import { AccountCommands, WithdrawalCommands } from './shared/tokens';
import { destination, fundedAccount, post, startLedgerApi, type Harness } from './testing/ledger-api-harness';
import { holdCommandSeed } from './withdrawals/hold-command-seed';

let api: Harness;
// Writers of their own, standing in for the payout process manager: the app's per-stream
// caches are not told about these appends and must find them through the expected revision.
let withdrawals: WithdrawalCommands;
let accounts: AccountCommands;

beforeAll(async () => {
  api = await startLedgerApi();
  withdrawals = new WithdrawalCommands(api.store);
  accounts = new AccountCommands(api.store);
});
afterAll(async () => {
  await api?.close();
});

const processManager = { principal: 'process:payout-manager' };

async function accountState(accountId: string): Promise<AccountState & { status: 'open' }> {
  const events = await api.store.readStream(accountStream(accountId));
  const state = events.reduce((s, e) => accountDecider.evolve(s, e as unknown as AccountEvent), accountDecider.initialState());
  if (state.status !== 'open') throw new Error('account not open');
  return state;
}

/**
 * A withdrawal of 250 from an account of 1,000, put into manual review the way the process
 * manager does it: with a payout attempt first (`attempted`), or straight from `requested`.
 */
async function withdrawalInReview(options: { attempted: boolean }): Promise<{ accountId: string; withdrawalId: string }> {
  const accountId = await fundedAccount(api, '1000');
  const requested = await post(
    api.baseUrl,
    '/v1/withdrawals',
    { accountId, amount: '250', currency: 'EUR', destination },
    { key: api.keys.writer },
  );
  expect(requested.status).toBe(202);
  const withdrawalId = requested.body.withdrawalId as string;
  const facts = { withdrawalId, accountId, amount: 250n, currency: 'EUR' };
  const now = new Date().toISOString();
  if (options.attempted) {
    await withdrawals.execute(withdrawalId, {
      command: {
        type: 'InitiatePayout',
        data: { ...facts, channel: 'sandbox', destination: destination as PayoutDestination },
        metadata: { now, ...processManager },
      },
      eventIdSeed: randomUUID(),
      metadata: processManager,
    });
  }
  await withdrawals.execute(withdrawalId, {
    command: { type: 'RequestManualReview', data: { ...facts, reason: 'three attempts failed' }, metadata: { now, ...processManager } },
    eventIdSeed: randomUUID(),
    metadata: processManager,
  });
  return { accountId, withdrawalId };
}

function review(withdrawalId: string, body: unknown, options: { key?: string; idempotencyKey?: string } = {}) {
  return post(api.baseUrl, `/v1/withdrawals/${withdrawalId}/review`, body, { key: api.keys.ops, ...options });
}

describe('POST /v1/withdrawals/{id}/review', () => {
  it('settled: ManualReviewResolved by the operator, then DebitSettled keyed by the review event', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    const answer = await review(withdrawalId, { decision: 'settled', reason: 'provider statement shows it paid' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ withdrawalId, status: 'settled', position: expect.stringMatching(/^[0-9]+$/) });

    const withdrawalEvents = await api.store.readStream(withdrawalStream(withdrawalId));
    expect(withdrawalEvents.map((e) => e.type)).toEqual(['PayoutInitiated', 'ManualReviewRequested', 'ManualReviewResolved']);
    const resolved = withdrawalEvents[2]!;
    expect(resolved.data).toMatchObject({
      withdrawalId,
      decision: 'settled',
      fromStatus: 'processing',
      toStatus: 'settled',
      reason: 'provider statement shows it paid',
      resolvedBy: 'api-key:ops',
    });
    expect(resolved.metadata).toMatchObject({ principal: 'api-key:ops', causationId: answer.headers.get('x-request-id') });

    const accountEvents = await api.store.readStream(accountStream(accountId));
    expect(accountEvents.map((e) => e.type)).toEqual(['AccountOpened', 'FundsDeposited', 'WithdrawalRequested', 'Debited', 'DebitSettled']);
    const settled = accountEvents[4]!;
    expect(settled.id).toBe(eventIdFor(`settle:${resolved.id}`, 0));
    expect(settled.data).toMatchObject({ withdrawalId, channel: 'sandbox', amount: '250', settledAt: (resolved.data as { resolvedAt: string }).resolvedAt });
    expect(settled.metadata).toMatchObject({ causationId: resolved.id, principal: 'api-key:ops' });
    expect(settled.globalPosition.toString()).toBe(answer.body.position);
    const state = await accountState(accountId);
    expect([state.amountAvailable, state.amountPending, state.holdsOpen.size]).toEqual([750n, 0n, 0]);
  });

  it('fail: ManualReviewResolved, then DebitReversed returns the hold to available', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    const answer = await review(withdrawalId, { decision: 'fail', reason: 'beneficiary account closed' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ withdrawalId, status: 'failed' });

    const resolved = (await api.store.readStream(withdrawalStream(withdrawalId))).at(-1)!;
    expect(resolved.data).toMatchObject({ decision: 'fail', toStatus: 'failed', resolvedBy: 'api-key:ops' });
    const accountEvents = await api.store.readStream(accountStream(accountId));
    const reversed = accountEvents.at(-1)!;
    expect(reversed.type).toBe('DebitReversed');
    expect(reversed.id).toBe(eventIdFor(`reverse:${resolved.id}`, 0));
    expect(reversed.data).toMatchObject({ withdrawalId, reason: 'review_failed', amount: '250' });
    expect(reversed.globalPosition.toString()).toBe(answer.body.position);
    const state = await accountState(accountId);
    expect([state.amountAvailable, state.amountPending]).toEqual([1000n, 0n]);
  });

  it('retry: ManualReviewResolved back to requested, and no money moves', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    const before = await api.store.readStream(accountStream(accountId));
    const answer = await review(withdrawalId, { decision: 'retry', reason: 'provider confirms nothing was paid' });
    expect(answer.status).toBe(200);
    const resolved = (await api.store.readStream(withdrawalStream(withdrawalId))).at(-1)!;
    expect(resolved.type).toBe('ManualReviewResolved');
    expect(resolved.data).toMatchObject({ decision: 'retry', toStatus: 'requested' });
    expect(answer.body).toEqual({ withdrawalId, status: 'requested', position: resolved.globalPosition.toString() });
    expect(await api.store.readStream(accountStream(accountId))).toHaveLength(before.length);
    const state = await accountState(accountId);
    expect([state.amountAvailable, state.amountPending]).toEqual([750n, 250n]);
  });

  it('the process manager meeting the same ManualReviewResolved writes nothing: the seed is shared', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    expect((await review(withdrawalId, { decision: 'fail', reason: 'closed' })).status).toBe(200);
    const resolved = (await api.store.readStream(withdrawalStream(withdrawalId))).at(-1)!;
    const before = await api.store.readStream(accountStream(accountId));
    const { resolvedAt } = resolved.data as { resolvedAt: string };
    const reaction = await accounts.executeOnce(
      accountId,
      {
        command: { type: 'ReverseDebit', data: { withdrawalId, reason: 'review_failed' }, metadata: { now: resolvedAt, ...processManager } },
        eventIdSeed: holdCommandSeed('ReverseDebit', resolved.id),
        metadata: { ...processManager, causationId: resolved.id },
      },
      'hold_already_resolved',
    );
    expect(reaction.replayed).toBe(true);
    expect(reaction.position).toBe(before.at(-1)!.globalPosition);
    expect(await api.store.readStream(accountStream(accountId))).toHaveLength(before.length);
  });

  it('the same key replays the answer; a second decision under a new key is 409 and moves no money', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    const idempotencyKey = randomUUID();
    const body = { decision: 'settled', reason: 'paid' };
    const first = await review(withdrawalId, body, { idempotencyKey });
    expect(first.status).toBe(200);
    const replay = await review(withdrawalId, body, { idempotencyKey });
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const again = await review(withdrawalId, body, { idempotencyKey: randomUUID() });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'withdrawal_not_in_review', details: { status: 'settled' } });

    const withdrawalEvents = await api.store.readStream(withdrawalStream(withdrawalId));
    expect(withdrawalEvents.filter((e) => e.type === 'ManualReviewResolved')).toHaveLength(1);
    const accountEvents = await api.store.readStream(accountStream(accountId));
    expect(accountEvents.filter((e) => e.type === 'DebitSettled')).toHaveLength(1);
    const state = await accountState(accountId);
    expect([state.amountAvailable, state.amountPending]).toEqual([750n, 0n]);
  });

  it('a retry after a crash between the two appends finds its review event and completes the money step', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: true });
    const idempotencyKey = randomUUID();
    // What the crashed request left: its ManualReviewResolved (ids derived from its key, scope
    // = the ops key's id), no DebitReversed, and no stored answer.
    const reviewSeed = deriveId('ops', idempotencyKey, 'review');
    await withdrawals.execute(withdrawalId, {
      command: { type: 'ResolveManualReview', data: { decision: 'fail', reason: 'closed' }, metadata: { now: new Date().toISOString(), principal: 'api-key:ops' } },
      eventIdSeed: reviewSeed,
      metadata: { principal: 'api-key:ops' },
    });
    const answer = await review(withdrawalId, { decision: 'fail', reason: 'closed' }, { idempotencyKey });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ withdrawalId, status: 'failed' });
    const withdrawalEvents = await api.store.readStream(withdrawalStream(withdrawalId));
    expect(withdrawalEvents.filter((e) => e.type === 'ManualReviewResolved').map((e) => e.id)).toEqual([eventIdFor(reviewSeed, 0)]);
    const reversed = (await api.store.readStream(accountStream(accountId))).at(-1)!;
    expect(reversed.type).toBe('DebitReversed');
    expect(reversed.id).toBe(eventIdFor(`reverse:${eventIdFor(reviewSeed, 0)}`, 0));
    expect(reversed.globalPosition.toString()).toBe(answer.body.position);
  });

  it('a withdrawal not in review is 409 withdrawal_not_in_review; an unknown one is 404', async () => {
    const accountId = await fundedAccount(api, '1000');
    const requested = await post(api.baseUrl, '/v1/withdrawals', { accountId, amount: '100', currency: 'EUR', destination }, { key: api.keys.writer });
    const withdrawalId = requested.body.withdrawalId as string;
    const notInReview = await review(withdrawalId, { decision: 'fail', reason: 'r' });
    expect(notInReview.status).toBe(409);
    expect(notInReview.body.error).toMatchObject({ code: 'withdrawal_not_in_review', details: { status: 'requested' } });
    expect(await api.store.readStream(withdrawalStream(withdrawalId))).toHaveLength(0);

    const unknown = await review(`wd-${randomUUID()}`, { decision: 'fail', reason: 'r' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error!.code).toBe('withdrawal_not_found');
  });

  it('settled with no attempt that could have paid is 422 review_decision_not_allowed, and nothing is written', async () => {
    const { accountId, withdrawalId } = await withdrawalInReview({ attempted: false });
    const before = await api.store.readStream(withdrawalStream(withdrawalId));
    const answer = await review(withdrawalId, { decision: 'settled', reason: 'paid' });
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({ code: 'review_decision_not_allowed', details: { decision: 'settled' } });
    expect(await api.store.readStream(withdrawalStream(withdrawalId))).toHaveLength(before.length);
    expect((await accountState(accountId)).amountPending).toBe(250n);
  });

  it('needs the ops scope: a ledger:write key is 403 insufficient_scope, and nothing is written', async () => {
    const { withdrawalId } = await withdrawalInReview({ attempted: true });
    const answer = await review(withdrawalId, { decision: 'fail', reason: 'r' }, { key: api.keys.writer });
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: 'insufficient_scope', details: { required: ['ops'] } });
    expect((await api.store.readStream(withdrawalStream(withdrawalId))).at(-1)!.type).toBe('ManualReviewRequested');
  });

  it('validates the body (decision, reason, no unknown fields) and requires an Idempotency-Key', async () => {
    const { withdrawalId } = await withdrawalInReview({ attempted: true });
    const cases: Array<[unknown, string]> = [
      [{ decision: 'maybe', reason: 'r' }, 'decision'],
      [{ decision: 'fail' }, 'reason'],
      [{ decision: 'fail', reason: '' }, 'reason'],
      [{ decision: 'fail', reason: 'line\nbreak' }, 'reason'],
      [{ decision: 'fail', reason: 'r', resolvedBy: 'someone-else' }, 'resolvedBy'],
    ];
    for (const [body, field] of cases) {
      const answer = await review(withdrawalId, body);
      expect(answer.status).toBe(400);
      expect(answer.body.error!.code).toBe('validation_failed');
      expect((answer.body.error!.details.fields as Array<{ field: string }>).map((f) => f.field)).toContain(field);
    }
    const noKey = await post(api.baseUrl, `/v1/withdrawals/${withdrawalId}/review`, { decision: 'fail', reason: 'r' }, { key: api.keys.ops, idempotencyKey: null });
    expect(noKey.status).toBe(400);
    expect(noKey.body.error!.code).toBe('idempotency_key_missing');
    expect((await api.store.readStream(withdrawalStream(withdrawalId))).at(-1)!.type).toBe('ManualReviewRequested');
  });
});
