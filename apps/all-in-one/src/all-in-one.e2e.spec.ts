import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKeyRecord } from '@ledger/platform';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';

const root = join(__dirname, '..', '..', '..');

interface Ports {
  commandApi: number;
  readApi: number;
  sandbox: number | null;
}

/**
 * `npm start` as a process: the compiled all-in-one entry point on a real PostgreSQL, with
 * no payment channel configured, so it starts the sandbox provider and routes to it. A
 * withdrawal sent to the command API must come back settled from the read API, paid once
 * by the provider, its money settled on the account: the whole system in one process.
 */
describe('the all-in-one process (npm start)', () => {
  let tempDir: string;
  let outDir: string;
  let database: TestDatabase;
  let child: ChildProcess | undefined;
  let ports: Ports;
  const { key, record } = createApiKeyRecord('e2e', ['ledger:write', 'ledger:read', 'ops']);

  beforeAll(async () => {
    // The entry point keeps its files in <project>/.data, the project being four folders
    // above main.js: build one level down, so that is this temporary folder.
    tempDir = mkdtempSync(join(tmpdir(), 'all-in-one-e2e-'));
    outDir = join(tempDir, 'build');
    const project = join('apps', 'all-in-one', 'tsconfig.app.json');
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', project, '--noCheck', '--outDir', outDir], {
      cwd: root,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
    const alias = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'tsc-alias', 'dist', 'bin', 'index.js'), '-p', project, '--outDir', outDir],
      { cwd: root, encoding: 'utf8' },
    );
    if (alias.status !== 0) throw new Error(`alias rewrite failed: ${alias.stdout}${alias.stderr}`);
    symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir');
    database = await createTestDatabase('all_in_one');
    child = spawn(process.execPath, [join(outDir, 'apps', 'all-in-one', 'src', 'main.js')], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        PORT: '0',
        LOG_LEVEL: 'warn',
        API_KEYS: JSON.stringify([record]),
        PAYMENT_CHANNELS: '',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
    ports = await new Promise<Ports>((resolve, reject) => {
      let stdout = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /\{"listening":(\{[^}]*\})\}/.exec(stdout);
        if (match) resolve(JSON.parse(match[1]!) as Ports);
      });
      child!.once('exit', (code, signal) => reject(new Error(`all-in-one exited (${String(signal ?? code)}): ${stderr}`)));
    });
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child!.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    if (tempDir) {
      // Remove the link to the project's packages first, so nothing below can follow it.
      const link = join(outDir, 'node_modules');
      if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
      rmSync(tempDir, { recursive: true, force: true });
    }
    await database?.drop();
  });

  const post = async (path: string, idempotencyKey: string, body: unknown) => {
    const response = await fetch(`http://127.0.0.1:${ports.commandApi}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  const read = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${ports.readApi}${path}`, { headers: { authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('takes a withdrawal through the sandbox provider to settled, paid once', async () => {
    expect(ports.sandbox).not.toBeNull();
    expect((await post('/v1/accounts', 'open-1', { accountId: 'aio-1', ownerId: 'owner', currency: 'EUR' })).status).toBe(201);
    expect((await post('/v1/accounts/aio-1/deposits', 'deposit-1', { amount: '10000', currency: 'EUR', reference: 'funding' })).status).toBe(201);
    const withdrawal = await post('/v1/withdrawals', 'withdraw-1', {
      accountId: 'aio-1',
      amount: '2500',
      currency: 'EUR',
      destination: { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Ada' },
    });
    expect(withdrawal.status).toBe(202);
    const { withdrawalId } = withdrawal.body;

    let status: unknown;
    for (let tries = 0; tries < 300 && status !== 'settled'; tries += 1) {
      const answer = await read(`/v1/withdrawals/${withdrawalId}`);
      status = answer.body.status;
      if (status !== 'settled') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe('settled');
    // The money moved once: the hold left the account as a settlement.
    let balance: Record<string, unknown> = {};
    for (let tries = 0; tries < 100; tries += 1) {
      balance = (await read('/v1/accounts/aio-1/balance')).body;
      if (balance.pending === '0') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(balance).toMatchObject({ available: '7500', pending: '0' });
    const ledger = (await (await fetch(`http://127.0.0.1:${ports.sandbox}/admin/ledger`)).json()) as {
      payouts: Array<{ withdrawalId: string; timesPaid: number }>;
    };
    expect(ledger.payouts.filter((payout) => payout.withdrawalId === withdrawalId)).toEqual([
      expect.objectContaining({ withdrawalId, timesPaid: 1 }),
    ]);
  }, 60_000);

  it('keeps the sandbox secrets in the project data folder, private to its owner', () => {
    const file = join(tempDir, '.data', 'sandbox.json');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('serves health on both APIs and the payout metrics on the read API', async () => {
    expect((await fetch(`http://127.0.0.1:${ports.commandApi}/health/live`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${ports.readApi}/health/ready`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${ports.readApi}/metrics`)).text();
    expect(metrics).toContain('ledger_payouts_total');
    expect(metrics).toContain('ledger_payment_channel_circuit_state');
    expect(metrics).toContain('ledger_projection_lag_events');
    expect(metrics).toContain('ledger_review_queue_open');
  });
});
