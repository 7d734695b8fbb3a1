import { Client } from 'pg';
import { CompiledApps, type RunningApp } from './testing/compiled-apps';
import { PayoutLedger, until } from './testing/payout-ledger';
import { SANDBOX_ENTRY, SandboxProcess } from './testing/sandbox-process';

const PROJECTOR_ENTRY = 'apps/projector/src/main.ts';

/** A seeded generator, so a failing run can be replayed: the seed is in the test's name. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const seed = Number(process.env.PAYOUTS_CRASH_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(seed);

/**
 * The compiled projector process running the payout process manager alone, SIGKILLed where
 * it hurts: right after the provider took a payout and before the ledger recorded it, right
 * after a reaction finished and before the checkpoint moved, and from outside at random.
 * Restarted without fail points, it must finish every payout with the provider holding
 * exactly one payout per withdrawal, paid once, and the ledger holding each event once.
 */
describe(`payout process manager killed mid-flight (seed ${seed})`, () => {
  const WITHDRAWALS = 24;
  let apps: CompiledApps;
  let sandbox: SandboxProcess;
  let ledger: PayoutLedger;
  const withdrawals: Array<{ withdrawalId: string; accountId: string }> = [];
  const children: RunningApp[] = [];

  beforeAll(async () => {
    apps = CompiledApps.build([SANDBOX_ENTRY, PROJECTOR_ENTRY]);
    sandbox = await SandboxProcess.start(apps, { seed, currencies: ['EUR'], behaviour: { settleDelayMs: 20 } });
    ledger = await PayoutLedger.open('payouts_crash');
    for (let index = 0; index < WITHDRAWALS; index += 1) {
      withdrawals.push(await ledger.requestWithdrawal({ amount: BigInt(100 + Math.floor(random() * 10_000)), currency: 'EUR' }));
    }
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.child.kill('SIGKILL');
    await sandbox?.stop();
    await ledger?.close();
    apps?.remove();
  });

  function startPayouts(failpoints: string): RunningApp {
    const channels = [
      {
        name: 'alpha',
        baseUrl: sandbox.url,
        apiKey: sandbox.apiKey,
        webhookSecrets: [sandbox.webhookSecret],
        currencies: ['EUR'],
        minAmount: '1',
        maxAmount: '100000000',
        timeoutMs: 2_000,
      },
    ];
    const app = apps.start(
      PROJECTOR_ENTRY,
      {
        DATABASE_URL: ledger.database.url,
        PROJECTIONS: 'none',
        PAYMENT_CHANNELS: JSON.stringify(channels),
        PAYOUTS_UNKNOWN_FIRST_CHECK_MS: '100',
        PAYOUTS_PENDING_FIRST_CHECK_MS: '100',
        PAYOUTS_CHECK_INTERVAL_MAX_MS: '300',
        LEDGER_FAILPOINTS: failpoints,
        LOG_LEVEL: process.env.PAYOUTS_CRASH_LOG_LEVEL ?? 'silent',
      },
      (line) => line.payouts === true,
    );
    children.push(app);
    return app;
  }

  async function settledCount(): Promise<number> {
    let settled = 0;
    for (const { withdrawalId, accountId } of withdrawals) {
      if ((await ledger.holdTypes(accountId, withdrawalId)).includes('DebitSettled')) settled += 1;
    }
    return settled;
  }

  async function checkpoint(): Promise<bigint> {
    const client = new Client({ connectionString: ledger.database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ position: string }>(
        `select position::text from read_models.projection_checkpoints where projection = 'payout_process_manager'`,
      );
      return BigInt(rows[0]?.position ?? '0');
    } catch {
      return 0n;
    } finally {
      await client.end();
    }
  }

  it('ends with one payout per withdrawal at the provider and each ledger event once', async () => {
    // 1. Killed right after the provider answered the first submit, before the ledger knew.
    //    Other submits were in flight side by side: the provider may hold several payouts
    //    the ledger has not recorded.
    const first = startPayouts('payouts.after-submit=kill');
    expect(await first.exited).toBe('SIGKILL');
    const takenBeforeRecorded = (await sandbox.ledger()).payouts;
    expect(takenBeforeRecorded.length).toBeGreaterThanOrEqual(1);
    for (const payout of takenBeforeRecorded) {
      expect(await ledger.withdrawalTypes(payout.withdrawalId)).toEqual(['PayoutInitiated']);
    }

    // 2. Killed after a reaction finished, before the checkpoint moved past it.
    const beforeSecond = await checkpoint();
    const second = startPayouts('payouts.after-reaction=kill');
    expect(await second.exited).toBe('SIGKILL');
    expect(await checkpoint()).toBe(beforeSecond);

    // 3. Killed from outside at a random moment, possibly mid-submit.
    const third = startPayouts('');
    await third.started;
    await new Promise((done) => setTimeout(done, 50 + Math.floor(random() * 400)));
    third.child.kill('SIGKILL');
    await third.exited;

    // 4. Restarted without fail points and left to finish.
    const last = startPayouts('');
    await last.started;
    await until(async () => (await settledCount()) === WITHDRAWALS, 'every withdrawal to settle', 60_000).catch(async (error: unknown) => {
      const stuck: string[] = [];
      for (const { withdrawalId } of withdrawals) stuck.push(`${withdrawalId}: ${(await ledger.withdrawalTypes(withdrawalId)).join(', ')}`);
      throw new Error(`${(error as Error).message}\n${stuck.join('\n')}\n${last.stderr()}`);
    });
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const provider = await sandbox.ledger();
    for (const { withdrawalId, accountId } of withdrawals) {
      const payouts = provider.payouts.filter((payout) => payout.withdrawalId === withdrawalId);
      expect(payouts).toEqual([expect.objectContaining({ idempotencyKey: withdrawalId, attempt: 1, status: 'settled', timesPaid: 1 })]);
      expect(await ledger.withdrawalTypes(withdrawalId)).toEqual(['PayoutInitiated', 'PayoutSubmitted', 'Settled']);
      expect(await ledger.holdTypes(accountId, withdrawalId)).toEqual(['WithdrawalRequested', 'Debited', 'DebitSettled']);
    }
    // The payouts taken before the first crash were submitted again under their keys, and paid once.
    for (const taken of takenBeforeRecorded) {
      const resubmitted = provider.payouts.find((payout) => payout.idempotencyKey === taken.idempotencyKey)!;
      expect(resubmitted.submissions).toBeGreaterThanOrEqual(2);
      expect(resubmitted.timesPaid).toBe(1);
    }
  }, 120_000);
});
