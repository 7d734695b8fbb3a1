import { eventIdFor } from '@ledger/commands';
import { createPaymentChannels, paymentMetrics, sandboxChannelConfig, type PaymentChannelConfig } from '@ledger/payments';
import { Registry } from 'prom-client';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createPayoutProcessManager, type PayoutProcessManager } from './payout-process-manager';
import { CompiledApps } from './testing/compiled-apps';
import { PayoutLedger, until } from './testing/payout-ledger';
import { SANDBOX_ENTRY, SandboxProcess } from './testing/sandbox-process';

/**
 * The payout process manager against real sandbox providers over HTTP and a real
 * PostgreSQL event store. Two provider processes stand behind three channels:
 *
 *   alpha (priority 1) -> sandbox A, pays out EUR only
 *   beta  (priority 2) -> sandbox B, pays out EUR and USD
 *   gamma (priority 3) -> sandbox A again
 *
 * while every channel claims EUR, USD and GBP, so a USD payout is refused by alpha and
 * taken by beta, and a GBP payout is refused by all three. Callbacks are recorded as the
 * callback endpoint records them (`ProviderCallbackReceived`); the sandboxes send none.
 */
describe('payout process manager', () => {
  let apps: CompiledApps;
  let sandboxA: SandboxProcess;
  let sandboxB: SandboxProcess;
  let ledger: PayoutLedger;
  let registry: Registry;
  let routing: ReturnType<typeof createPaymentChannels>['router'];
  const dataSources: DataSource[] = [];
  let pm: PayoutProcessManager;
  // The process managers' clock runs this far ahead of the wall clock, so a test can make
  // a give-up time pass without waiting for it.
  let clockAheadMs = 0;

  const CHANNEL_TIMEOUT_MS = 800;
  const timers = {
    unknownFirstCheckMs: 100,
    pendingFirstCheckMs: 150,
    checkIntervalMaxMs: 400,
    unknownGiveUpMs: 600_000,
    submitDeadlineMarginMs: 200,
  };

  function startManager(): PayoutProcessManager {
    const dataSource = ledger.dataSource();
    dataSources.push(dataSource);
    return createPayoutProcessManager({
      store: ledger.store,
      dataSource,
      routing,
      registry,
      clock: () => new Date(Date.now() + clockAheadMs),
      options: { timers, timerScanMs: 50, standbyRetryMs: 100, concurrency: 8 },
    });
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const found = (await registry.getSingleMetric(name)?.get())?.values.find((value) =>
      Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted),
    );
    return found?.value ?? 0;
  }

  beforeAll(async () => {
    apps = CompiledApps.build([SANDBOX_ENTRY]);
    [sandboxA, sandboxB] = await Promise.all([
      SandboxProcess.start(apps, { seed: 11, currencies: ['EUR'] }),
      SandboxProcess.start(apps, { seed: 12, currencies: ['EUR', 'USD'] }),
    ]);
    ledger = await PayoutLedger.open('payouts_pm');
    const channel = (name: string, sandbox: SandboxProcess, priority: number): PaymentChannelConfig =>
      sandboxChannelConfig({
        name,
        baseUrl: sandbox.url,
        apiKey: sandbox.apiKey,
        webhookSecrets: sandbox.webhookSecret,
        currencies: ['EUR', 'USD', 'GBP'],
        priority,
        timeoutMs: CHANNEL_TIMEOUT_MS,
        retry: { maxAttempts: 1 },
        breaker: { consecutiveFailures: 1_000 },
      });
    registry = new Registry();
    ({ router: routing } = createPaymentChannels([channel('alpha', sandboxA, 1), channel('beta', sandboxB, 2), channel('gamma', sandboxA, 3)], {
      metrics: paymentMetrics(registry),
    }));
    pm = startManager();
    await pm.start();
  }, 120_000);

  afterAll(async () => {
    await pm?.stop();
    for (const dataSource of dataSources) if (dataSource.isInitialized) await dataSource.destroy();
    await Promise.all([sandboxA?.stop(), sandboxB?.stop()]);
    await ledger?.close();
    apps?.remove();
  });

  afterEach(async () => {
    clockAheadMs = 0;
    await Promise.all([sandboxA.setBehaviour(DEFAULTS), sandboxB.setBehaviour(DEFAULTS)]);
  });
  const DEFAULTS = { settleDelayMs: 50, failureRate: 0, timeoutRate: 0, unavailable: false };

  it('pays a withdrawal out: Debited -> PayoutInitiated -> PayoutSubmitted -> Settled -> DebitSettled', async () => {
    const settledBefore = await metric('ledger_payouts_total', { channel: 'alpha', outcome: 'settled' });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 1_050n, currency: 'EUR' });
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');

    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'Settled']);
    expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitSettled']);
    const [initiated, submitted, settled] = await ledger.withdrawalEvents(withdrawalId);
    expect(initiated!.data).toMatchObject({ channel: 'alpha', attempt: 1, amount: '1050', currency: 'EUR' });
    expect(submitted!.metadata).toMatchObject({ causationId: initiated!.id, principal: 'payout-process-manager' });
    const payouts = await sandboxA.payoutsOf(withdrawalId);
    // Attempt 1 is paid under the withdrawal id itself (ARCHITECTURE.md §6).
    expect(payouts).toEqual([expect.objectContaining({ idempotencyKey: withdrawalId, status: 'settled', timesPaid: 1, submissions: 1 })]);
    expect(settled!.data).toMatchObject({ providerReference: payouts[0]!.providerReference });
    // The channel counted the submit; the process manager counts the outcome it recorded.
    expect(await metric('ledger_payouts_total', { channel: 'alpha', outcome: 'accepted' })).toBeGreaterThanOrEqual(1);
    expect(await metric('ledger_payouts_total', { channel: 'alpha', outcome: 'settled' })).toBe(settledBefore + 1);
  });

  it('reverses the hold when the provider fails the payout: PayoutFailed -> DebitReversed', async () => {
    await sandboxA.setBehaviour({ failureRate: 1 });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 700n, currency: 'EUR' });
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitReversed'), 'DebitReversed');

    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'PayoutFailed']);
    const account = await ledger.store.readStream(`account-${accountId}`);
    expect(account.at(-1)!.data).toMatchObject({ reason: 'payout_failed', amount: '700' });
  });

  it('fails over to the next channel when the first refuses the payout outright', async () => {
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 2_000n, currency: 'USD' });
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');

    const events = await ledger.withdrawalEvents(withdrawalId);
    expect(events.map((event) => event.type)).toEqual(['PayoutInitiated', 'PayoutAttemptFailed', 'PayoutInitiated', 'PayoutSubmitted', 'Settled']);
    expect(events[0]!.data).toMatchObject({ channel: 'alpha', attempt: 1 });
    expect(events[1]!.data).toMatchObject({ channel: 'alpha', attempt: 1, code: 'unsupported_currency' });
    expect(events[2]!.data).toMatchObject({ channel: 'beta', attempt: 2 });
    expect(events[4]!.data).toMatchObject({ channel: 'beta', attempt: 2 });
    expect(await sandboxA.payoutsOf(withdrawalId)).toEqual([]);
    // A later attempt has a key of its own.
    expect(await sandboxB.payoutsOf(withdrawalId)).toEqual([
      expect.objectContaining({ idempotencyKey: `${withdrawalId}:2`, attempt: 2, status: 'settled', timesPaid: 1 }),
    ]);
  });

  it('resolves a timed-out submit by status queries, and the payout it finds is the one that settles', async () => {
    // The provider takes the payout but answers after the channel's deadline.
    await sandboxA.setBehaviour({ timeoutRate: 1, hangMs: 5_000 });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 900n, currency: 'EUR' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('PayoutOutcomeUnknown'), 'PayoutOutcomeUnknown');
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');

    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutOutcomeUnknown', 'Settled']);
    expect(await sandboxA.payoutsOf(withdrawalId)).toEqual([
      expect.objectContaining({ idempotencyKey: withdrawalId, status: 'settled', timesPaid: 1, submissions: 1 }),
    ]);
    expect(await metric('ledger_payout_status_queries_total', { channel: 'alpha', result: 'settled' })).toBeGreaterThanOrEqual(1);
  });

  it('fails over after a timeout only once a status query finds no payout after the submit deadline', async () => {
    // The provider is down: the submit gets a 503 (it may have reached the provider, so the
    // outcome is unknown), and so do the status queries until it comes back.
    await sandboxA.setBehaviour({ unavailable: true });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 1_200n, currency: 'EUR' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('PayoutOutcomeUnknown'), 'PayoutOutcomeUnknown');
    await new Promise((done) => setTimeout(done, 300));
    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutOutcomeUnknown']);
    await sandboxA.setBehaviour({ unavailable: false });
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');

    const events = await ledger.withdrawalEvents(withdrawalId);
    expect(events.map((event) => event.type)).toEqual([
      'PayoutInitiated',
      'PayoutOutcomeUnknown',
      'PayoutAttemptFailed',
      'PayoutInitiated',
      'PayoutSubmitted',
      'Settled',
    ]);
    expect(events[2]!.data).toMatchObject({ channel: 'alpha', attempt: 1, code: 'not_found_after_unknown' });
    // Not before the deadline: the first submit's time plus the channel's timeout and the margin.
    const failedAt = Date.parse((events[2]!.data as { failedAt: string }).failedAt);
    const initiatedAt = Date.parse((events[0]!.data as { initiatedAt: string }).initiatedAt);
    expect(failedAt - initiatedAt).toBeGreaterThanOrEqual(CHANNEL_TIMEOUT_MS + timers.submitDeadlineMarginMs);
    expect(events[3]!.data).toMatchObject({ channel: 'beta', attempt: 2 });
    expect(await sandboxA.payoutsOf(withdrawalId)).toEqual([]);
    expect(await sandboxB.payoutsOf(withdrawalId)).toEqual([expect.objectContaining({ idempotencyKey: `${withdrawalId}:2`, timesPaid: 1 })]);
  });

  it('asks a person when an outcome stays unknown past the give-up time, and goes on asking the provider', async () => {
    await sandboxA.setBehaviour({ unavailable: true });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 1_250n, currency: 'EUR' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('PayoutOutcomeUnknown'), 'PayoutOutcomeUnknown');
    await until(async () => (await metric('ledger_payout_attempts_unresolved', { status: 'unknown' })) >= 1, 'the unknown attempt gauge');
    const reviewsBefore = await metric('ledger_manual_reviews_requested_total', { reason: 'outcome_unknown_too_long' });
    clockAheadMs = timers.unknownGiveUpMs + 60_000;
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');

    const review = (await ledger.withdrawalEvents(withdrawalId)).at(-1)!;
    expect(review.data).toMatchObject({
      fromStatus: 'unknown',
      reason: expect.stringMatching(new RegExp(`^outcome_unknown_too_long: attempt 1 on channel alpha \\(key ${withdrawalId}\\)`)),
    });
    expect(await metric('ledger_manual_reviews_requested_total', { reason: 'outcome_unknown_too_long' })).toBe(reviewsBefore + 1);
    // One review, however many more queries find nothing.
    await new Promise((done) => setTimeout(done, 300));
    expect((await ledger.withdrawalTypes(withdrawalId)).filter((type) => type === 'ManualReviewRequested')).toHaveLength(1);
    // The provider never got it (it was down): once it answers again, the finding is logged
    // for the person deciding, and the attempt needs no more queries.
    await sandboxA.setBehaviour({ unavailable: false });
    await until(async () => (await metric('ledger_payout_attempts_unresolved', { status: 'unknown' })) === 0, 'the attempt to be resolved');
    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutOutcomeUnknown', 'ManualReviewRequested']);
    expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited']);
  });

  it('asks a person after three failed attempts, naming them', async () => {
    const reviewsBefore = await metric('ledger_manual_reviews_requested_total', { reason: 'attempts_exhausted' });
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 500n, currency: 'GBP' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');

    const events = await ledger.withdrawalEvents(withdrawalId);
    expect(events.map((event) => event.type)).toEqual([
      'PayoutInitiated',
      'PayoutAttemptFailed',
      'PayoutInitiated',
      'PayoutAttemptFailed',
      'PayoutInitiated',
      'PayoutAttemptFailed',
      'ManualReviewRequested',
    ]);
    expect(events.filter((event) => event.type === 'PayoutInitiated').map((event) => (event.data as { channel: string }).channel)).toEqual([
      'alpha',
      'beta',
      'gamma',
    ]);
    const reason = (events.at(-1)!.data as { reason: string }).reason;
    expect(reason).toMatch(/^payout_attempts_exhausted: attempt 1 on alpha failed \(unsupported_currency: .*attempt 2 on beta.*attempt 3 on gamma/);
    expect(await metric('ledger_manual_reviews_requested_total', { reason: 'attempts_exhausted' })).toBe(reviewsBefore + 1);
    // The hold stays: a person decides what happens to the money.
    expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited']);
  });

  it('asks a person when no channel can take the payout at all', async () => {
    const { withdrawalId } = await ledger.requestWithdrawal({ amount: 500n, currency: 'JPY' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');
    const [review] = await ledger.withdrawalEvents(withdrawalId);
    expect(review!.data).toMatchObject({ fromStatus: 'requested', reason: expect.stringMatching(/^no_channel: /) });
  });

  it('starts a new count of attempts after a retry decision', async () => {
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 800n, currency: 'GBP' });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');
    // Beta learns GBP; the operator retries. The same review decision as the ops endpoint writes.
    await ledger.withdrawals.execute(withdrawalId, {
      command: { type: 'ResolveManualReview', data: { decision: 'retry', reason: 'beta pays GBP now' }, metadata: { now: new Date().toISOString(), principal: 'ops' } },
      eventIdSeed: `review-decision:${withdrawalId}`,
      metadata: { principal: 'ops' },
    });
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).filter((type) => type === 'PayoutAttemptFailed').length >= 6, 'a second count of attempts');
    await until(async () => (await ledger.withdrawalTypes(withdrawalId)).filter((type) => type === 'ManualReviewRequested').length === 2, 'second review');
    const initiated = (await ledger.withdrawalEvents(withdrawalId)).filter((event) => event.type === 'PayoutInitiated');
    expect(initiated.map((event) => (event.data as { attempt: number }).attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    // The channels that refused before the retry are tried again in the new count.
    expect(initiated.slice(3).map((event) => (event.data as { channel: string }).channel)).toEqual(['alpha', 'beta', 'gamma']);
    expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited']);
  });

  describe('callbacks', () => {
    beforeEach(async () => {
      // Payouts stay pending at the provider: only the callbacks below decide them.
      await sandboxA.setBehaviour({ settleDelayMs: 600_000 });
    });

    async function submittedWithdrawal(amount: bigint): Promise<{ withdrawalId: string; accountId: string; reference: string }> {
      const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount, currency: 'EUR' });
      await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('PayoutSubmitted'), 'PayoutSubmitted');
      const submitted = (await ledger.withdrawalEvents(withdrawalId)).find((event) => event.type === 'PayoutSubmitted')!;
      return { withdrawalId, accountId, reference: (submitted.data as { providerReference: string }).providerReference };
    }

    it('applies a settlement once, whatever the duplicates and late acknowledgements', async () => {
      const { withdrawalId, accountId, reference } = await submittedWithdrawal(1_000n);
      const callback = { channel: 'alpha', withdrawalId, attempt: 1, providerReference: reference, amount: 1_000n, currency: 'EUR' };
      await ledger.recordCallback({ ...callback, type: 'payout.processing' });
      await ledger.recordCallback({ ...callback, type: 'payout.settled' });
      // The provider's own retry has the same webhook-id and is refused by the endpoint; a
      // second message about the same settlement has another.
      await ledger.recordCallback({ ...callback, type: 'payout.settled' });
      await ledger.recordCallback({ ...callback, type: 'payout.processing' });
      await pm.waitForIdle();

      expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'Settled']);
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitSettled']);
    });

    it('records a settlement then a return from one returned callback, and returns the money', async () => {
      const { withdrawalId, accountId, reference } = await submittedWithdrawal(1_100n);
      await ledger.recordCallback({
        channel: 'alpha',
        type: 'payout.returned',
        withdrawalId,
        attempt: 1,
        providerReference: reference,
        amount: 1_100n,
        currency: 'EUR',
        reason: 'beneficiary_account_closed',
      });
      await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitReturned'), 'DebitReturned');
      expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'Settled', 'PayoutReturned']);
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitSettled', 'DebitReturned']);
    });

    it('records a contradicting outcome after settlement as a conflict, and moves no money', async () => {
      const { withdrawalId, accountId, reference } = await submittedWithdrawal(1_200n);
      const callback = { channel: 'alpha', withdrawalId, attempt: 1, providerReference: reference, amount: 1_200n, currency: 'EUR' };
      await ledger.recordCallback({ ...callback, type: 'payout.settled' });
      await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');
      const conflictsBefore = await metric('ledger_payout_conflicts_total', { kind: 'conflicting_report' });
      const failed = await ledger.recordCallback({ ...callback, type: 'payout.failed', reason: 'beneficiary_bank_rejected' });
      await pm.waitForIdle();

      expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'Settled']);
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitSettled']);
      expect(await metric('ledger_payout_conflicts_total', { kind: 'conflicting_report' })).toBe(conflictsBefore + 1);
      const client = new Client({ connectionString: ledger.database.url });
      await client.connect();
      try {
        const { rows } = await client.query('select kind, code, withdrawal_id, detail from payouts.conflicts where cause_event_id = $1', [failed.id]);
        expect(rows).toEqual([
          expect.objectContaining({ kind: 'conflicting_report', code: 'illegal_transition', withdrawal_id: withdrawalId, detail: expect.objectContaining({ status: 'settled' }) }),
        ]);
      } finally {
        await client.end();
      }
    });

    it('sends a settlement naming another payout to manual review', async () => {
      const { withdrawalId, accountId } = await submittedWithdrawal(1_300n);
      const reviewsBefore = await metric('ledger_manual_reviews_requested_total', { reason: 'conflicting_callback' });
      await ledger.recordCallback({
        channel: 'alpha',
        type: 'payout.settled',
        withdrawalId,
        attempt: 1,
        providerReference: 'psp_someone_else',
        amount: 1_300n,
        currency: 'EUR',
      });
      await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');
      const review = (await ledger.withdrawalEvents(withdrawalId)).at(-1)!;
      expect(review.data).toMatchObject({ fromStatus: 'processing', reason: expect.stringMatching(/^provider_reference_mismatch: payout.settled callback/) });
      expect(await metric('ledger_manual_reviews_requested_total', { reason: 'conflicting_callback' })).toBe(reviewsBefore + 1);
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited']);
    });

    it('lets a callback resolve an outcome the submit left unknown', async () => {
      await sandboxA.setBehaviour({ timeoutRate: 1, hangMs: 5_000 });
      const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 1_400n, currency: 'EUR' });
      await until(async () => (await sandboxA.payoutsOf(withdrawalId)).length === 1, 'the provider to take the payout');
      const [payout] = await sandboxA.payoutsOf(withdrawalId);
      // The callback comes while the submit still waits for its answer; the process manager
      // handles it after the submit's reaction, in the withdrawal's order.
      await ledger.recordCallback({
        channel: 'alpha',
        type: 'payout.settled',
        withdrawalId,
        attempt: 1,
        providerReference: payout!.providerReference,
        amount: 1_400n,
        currency: 'EUR',
      });
      await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled'), 'DebitSettled');
      expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutOutcomeUnknown', 'Settled']);
    });

    it('sends a late settlement of an attempt that was failed over to manual review: money could move twice', async () => {
      await sandboxB.setBehaviour({ settleDelayMs: 600_000 });
      // Alpha refuses USD, beta takes it and keeps it pending.
      const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 1_500n, currency: 'USD' });
      await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('PayoutSubmitted'), 'attempt 2 submitted');
      await ledger.recordCallback({
        channel: 'alpha',
        type: 'payout.settled',
        withdrawalId,
        attempt: 1,
        providerReference: 'psp_alpha_says_paid',
        amount: 1_500n,
        currency: 'USD',
      });
      await until(async () => (await ledger.withdrawalTypes(withdrawalId)).includes('ManualReviewRequested'), 'ManualReviewRequested');
      const review = (await ledger.withdrawalEvents(withdrawalId)).at(-1)!;
      expect(review.data).toMatchObject({ fromStatus: 'processing', reason: expect.stringMatching(/^illegal_transition: payout.settled callback for attempt 1 from alpha/) });
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited']);
    });

    it('skips a callback about a withdrawal the ledger does not know', async () => {
      const before = await metric('ledger_payout_reactions_total', { type: 'ProviderCallbackReceived', outcome: 'unknown_withdrawal' });
      await ledger.recordCallback({
        channel: 'alpha',
        type: 'payout.settled',
        withdrawalId: 'wd-nobody',
        attempt: 1,
        providerReference: 'psp_x',
        amount: 1n,
        currency: 'EUR',
      });
      await pm.waitForIdle();
      expect(await ledger.withdrawalTypes('wd-nobody')).toEqual([]);
      expect(await metric('ledger_payout_reactions_total', { type: 'ProviderCallbackReceived', outcome: 'unknown_withdrawal' })).toBe(before + 1);
    });
  });

  it('reverses a cancelled withdrawal with the very event the cancel endpoint writes', async () => {
    // The process manager is down while the user cancels, and the endpoint dies between its
    // two appends: the withdrawal is cancelled, the hold not yet released.
    await pm.stop();
    const { withdrawalId, accountId } = await ledger.requestWithdrawal({ amount: 300n, currency: 'EUR' });
    const cancelledAt = new Date().toISOString();
    await ledger.withdrawals.execute(withdrawalId, {
      command: {
        type: 'CancelWithdrawal',
        data: { withdrawalId, accountId, amount: 300n, currency: 'EUR', reason: 'changed my mind' },
        metadata: { now: cancelledAt, principal: 'api-key:test' },
      },
      eventIdSeed: `cancel:${withdrawalId}`,
      metadata: { principal: 'api-key:test' },
    });
    const [cancelled] = await ledger.withdrawalEvents(withdrawalId);
    pm = startManager();
    await pm.start();
    await until(async () => (await ledger.holdTypes(accountId, withdrawalId)).includes('DebitReversed'), 'DebitReversed');

    const reversal = (await ledger.store.readStream(`account-${accountId}`)).at(-1)!;
    expect(reversal.id).toBe(eventIdFor(`reverse:${cancelled!.id}`, 0));
    expect(reversal.data).toMatchObject({ reason: 'withdrawal_cancelled', reversedAt: cancelledAt });
    // The endpoint's retry completes its second append: the same id, type and data, so the
    // store answers with the original position (ADR 0005) and writes nothing new. (With other
    // data it would be an EventIdConflict.)
    const retry = await ledger.accounts.executeOnce(
      accountId,
      {
        command: { type: 'ReverseDebit', data: { withdrawalId, reason: 'withdrawal_cancelled' }, metadata: { now: cancelledAt, principal: 'api-key:test' } },
        eventIdSeed: `reverse:${cancelled!.id}`,
        metadata: { principal: 'api-key:test' },
      },
      'hold_already_resolved',
    );
    expect(retry.position).toBe(reversal.globalPosition);
    expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitReversed']);
    // Nothing was submitted for a cancelled withdrawal.
    expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['WithdrawalCancelled']);
    expect(await sandboxA.payoutsOf(withdrawalId)).toEqual([]);
  });

  it('has one active instance: a second one stands by and takes over when the first stops', async () => {
    const standby = startManager();
    await standby.start();
    try {
      expect(standby.status().state).toBe('standby');
      const first = await ledger.requestWithdrawal({ amount: 400n, currency: 'EUR' });
      await until(async () => (await ledger.holdTypes(first.accountId, first.withdrawalId)).includes('DebitSettled'), 'DebitSettled (leader)');
      expect(standby.status().reactionsCompleted).toBe(0);

      await pm.stop();
      await until(() => standby.status().state === 'leading', 'the standby to lead', 5_000);
      const second = await ledger.requestWithdrawal({ amount: 450n, currency: 'EUR' });
      await until(async () => (await ledger.holdTypes(second.accountId, second.withdrawalId)).includes('DebitSettled'), 'DebitSettled (new leader)');
      expect(standby.status().reactionsCompleted).toBeGreaterThan(0);
    } finally {
      await standby.stop();
      pm = startManager();
      await pm.start();
    }
  });

  it('appends nothing and pays nothing again when replayed from checkpoint 0', async () => {
    await pm.waitForIdle();
    await pm.stop();
    const countsBefore = await ledger.eventCounts();
    const requestsBefore = [(await sandboxA.ledger()).requests['POST /payouts'], (await sandboxB.ledger()).requests['POST /payouts']];
    const client = new Client({ connectionString: ledger.database.url });
    await client.connect();
    try {
      await client.query(`update read_models.projection_checkpoints set position = 0 where projection = 'payout_process_manager'`);
    } finally {
      await client.end();
    }

    pm = startManager();
    await pm.start();
    await pm.waitForIdle();
    expect(BigInt(pm.status().checkpoint)).toBe(await ledger.store.headPosition());
    expect(await ledger.eventCounts()).toEqual(countsBefore);
    expect([(await sandboxA.ledger()).requests['POST /payouts'], (await sandboxB.ledger()).requests['POST /payouts']]).toEqual(requestsBefore);
    for (const payout of [...(await sandboxA.ledger()).payouts, ...(await sandboxB.ledger()).payouts]) {
      expect(payout.timesPaid).toBeLessThanOrEqual(1);
    }
  });
});
