import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { accountDecider, accountStream, type AccountEvent } from '@ledger/domain';
import { PostgresEventStore } from '@ledger/event-store';
import { createApiKeyRecord } from '@ledger/platform';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { destination, post } from './testing/ledger-api-harness';

const root = join(__dirname, '..', '..', '..');
const main = join(root, 'dist', 'apps', 'ledger-api', 'src', 'main.js');
const { key, record } = createApiKeyRecord('crash-test', ['ledger:write', 'ops']);

/**
 * The process dies after its append committed and before the client heard anything
 * (a fail point SIGKILLs it there). The client retries with the same Idempotency-Key
 * against a fresh process: it must get the original answer, and the account must hold
 * exactly one withdrawal. This runs the compiled app as a real process, as production does.
 */
describe('crash between append and response', () => {
  let database: TestDatabase;
  let store: PostgresEventStore;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build failed: ${build.stdout}${build.stderr}`);
    database = await createTestDatabase('crash');
    store = await PostgresEventStore.create({ connectionString: database.url });
  }, 120_000);
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await store?.close();
    await database?.drop();
  });

  async function startApi(failpoints = ''): Promise<{ baseUrl: string; child: ChildProcess }> {
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        API_KEYS: JSON.stringify([record]),
        PORT: '0',
        LOG_LEVEL: 'silent',
        IDEMPOTENCY_LEASE_MS: '300',
        LEDGER_FAILPOINTS: failpoints,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /\{"listening":(\d+)\}/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`api exited with ${code}: ${err}`)));
    });
    return { baseUrl: `http://127.0.0.1:${port}`, child };
  }

  it('a retry with the same key after the crash returns the original answer and makes one withdrawal', async () => {
    const accountId = `acc-${randomUUID()}`;
    const healthy = await startApi();
    expect((await post(healthy.baseUrl, '/v1/accounts', { accountId, ownerId: 'o', currency: 'EUR' }, { key })).status).toBe(201);
    expect(
      (await post(healthy.baseUrl, `/v1/accounts/${accountId}/deposits`, { amount: '1000', currency: 'EUR', reference: 'r' }, { key })).status,
    ).toBe(201);
    healthy.child.kill('SIGTERM');

    const doomed = await startApi('command.after-append.RequestWithdrawal=kill');
    const idempotencyKey = randomUUID();
    const body = { accountId, amount: '400', currency: 'EUR', destination };
    const exited = new Promise((done) => doomed.child.once('exit', (_code, signal) => done(signal)));
    await expect(post(doomed.baseUrl, '/v1/withdrawals', body, { key, idempotencyKey })).rejects.toThrow();
    expect(await exited).toBe('SIGKILL');
    // The append committed before the process died.
    const afterCrash = await store.readStream(accountStream(accountId));
    expect(afterCrash.map((e) => e.type)).toEqual(['AccountOpened', 'FundsDeposited', 'WithdrawalRequested', 'Debited']);

    const recovered = await startApi();
    // The dead process's key is in flight until its lease runs out.
    await new Promise((done) => setTimeout(done, 400));
    const retry = await post(recovered.baseUrl, '/v1/withdrawals', body, { key, idempotencyKey });
    expect(retry.status).toBe(202);
    expect(retry.body.withdrawalId).toBe((afterCrash[2]!.data as { withdrawalId: string }).withdrawalId);
    expect(retry.body.position).toBe(afterCrash[3]!.globalPosition.toString());
    const again = await post(recovered.baseUrl, '/v1/withdrawals', body, { key, idempotencyKey });
    expect(again.body).toEqual(retry.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');

    const events = await store.readStream(accountStream(accountId));
    expect(events).toHaveLength(4);
    const state = events.reduce((s, e) => accountDecider.evolve(s, e as unknown as AccountEvent), accountDecider.initialState());
    expect(state.status === 'open' && [state.amountAvailable, state.amountPending, state.holdsOpen.size]).toEqual([600n, 400n, 1]);
    recovered.child.kill('SIGTERM');
  });
});
