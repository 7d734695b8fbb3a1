import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '@ledger/event-store';
import { createReadModelsDataSource, migrateReadModels, qualified } from '@ledger/read-models';
import { createTestDatabase, type TestDatabase } from '@ledger/test-support';
import { Client } from 'pg';
import { createProjector } from './create-projector';
import { appendHistory, ledgerHistory } from './testing/ledger-history';

const root = join(__dirname, '..', '..', '..');
const TABLES: Readonly<Record<string, string>> = {
  account_balances: 'account_id',
  journal_entries: 'position, posting_index',
  withdrawals: 'withdrawal_id',
  withdrawal_status_history: 'withdrawal_id, position',
  review_queue: 'withdrawal_id',
};

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
const seed = Number(process.env.PROJECTOR_CRASH_SEED ?? Date.now() % 1_000_000);
const random = seededRandom(seed);

/** Every read-model row as text, in primary-key order, and the checkpoint positions. */
async function dump(url: string): Promise<Record<string, string[]>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result: Record<string, string[]> = {};
    for (const [table, order] of Object.entries(TABLES)) {
      const { rows } = await client.query<{ row: string }>(`select t::text as row from ${qualified(table)} t order by ${order}`);
      result[table] = rows.map((row) => row.row);
    }
    const { rows } = await client.query<{ row: string }>(
      `select projection || '=' || position as row from ${qualified('projection_checkpoints')} order by projection`,
    );
    result.projection_checkpoints = rows.map((row) => row.row);
    return result;
  } finally {
    await client.end();
  }
}

/**
 * The compiled projector process, SIGKILLed in the middle of its batches, again and again,
 * then restarted without fail points: its read models must end byte-identical to a clean
 * rebuild of the same log. It runs what production runs: compiled JavaScript with the
 * aliases rewritten (as `npm run build` makes it), as a process. The build goes to a
 * private folder so it neither races with nor depends on other users of `dist/`.
 */
describe(`projector killed mid-batch (seed ${seed})`, () => {
  let outDir: string;
  let database: TestDatabase;
  let store: PostgresEventStore;
  let head: bigint;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'projector-e2e-'));
    // The projector's own graph only, transpiled without type checking: `npm run typecheck`
    // checks types, and this test must not wait for or trip over the rest of the monorepo.
    const project = join('apps', 'projector', 'tsconfig.app.json');
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
    // The build lives outside the project; this link lets it resolve the project's packages.
    symlinkSync(join(root, 'node_modules'), join(outDir, 'node_modules'), 'dir');

    database = await createTestDatabase('projector_crash');
    store = await PostgresEventStore.create({ connectionString: database.url });
    await appendHistory(store, ledgerHistory({ withdrawals: 500, random }));
    head = await store.headPosition();
  }, 300_000);
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (outDir) {
      // Remove the link to the project's packages first, so nothing below can follow it.
      const link = join(outDir, 'node_modules');
      if (existsSync(link) && lstatSync(link).isSymbolicLink()) unlinkSync(link);
      rmSync(outDir, { recursive: true, force: true });
    }
    await store?.close();
    await database?.drop();
  });

  function startProjector(failpoints: string, batchSize: number): { child: ChildProcess; started: Promise<void>; exited: Promise<NodeJS.Signals | number | null> } {
    const child = spawn(process.execPath, [join(outDir, 'apps', 'projector', 'src', 'main.js')], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        LOG_LEVEL: 'silent',
        LEDGER_FAILPOINTS: failpoints,
        PROJECTOR_BATCH_SIZE: String(batchSize),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((done) => child.once('exit', (code, signal) => done(signal ?? code)));
    const started = new Promise<void>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('{"projecting":true}')) resolve();
      });
      void exited.then((how) => reject(new Error(`projector exited (${String(how)}) before starting: ${stderr}`)));
    });
    started.catch(() => undefined);
    return { child, started, exited };
  }

  async function checkpoint(): Promise<bigint> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ position: string | null }>(
        `select min(position)::text as position from read_models.projection_checkpoints
          where projection in ('balances', 'journal', 'withdrawals')`,
      );
      return BigInt(rows[0]?.position ?? '0');
    } catch {
      return 0n;
    } finally {
      await client.end();
    }
  }

  async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((done) => setTimeout(done, 10));
    }
  }

  it('ends with read models byte-identical to a clean rebuild', async () => {
    const batchSize = () => 10 + Math.floor(random() * 60);
    expect(head).toBeGreaterThan(2_000n);

    // 1. Killed from outside at a random point of its run, wherever it is in a batch.
    const killAt = (head * BigInt(10 + Math.floor(random() * 40))) / 100n;
    const first = startProjector('', batchSize());
    await first.started;
    await until(async () => (await checkpoint()) >= killAt, `checkpoint ${killAt.toString()}`);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    // 2. Killed by the fail point after its first batch is written and before it commits:
    //    nothing of that batch may be visible afterwards.
    const beforeUncommitted = await dump(database.url);
    const second = startProjector('projector.after-apply-before-commit=kill', batchSize());
    expect(await second.exited).toBe('SIGKILL');
    expect(await dump(database.url)).toEqual(beforeUncommitted);

    // 3. Killed right after a commit, before it begins the next batch: exactly one batch more.
    const beforeCommitted = await checkpoint();
    const size = batchSize();
    const third = startProjector('projector.after-commit=kill', size);
    expect(await third.exited).toBe('SIGKILL');
    const afterCommitted = await checkpoint();
    expect(afterCommitted).toBeGreaterThan(beforeCommitted);
    expect(afterCommitted - beforeCommitted).toBeLessThanOrEqual(BigInt(size));

    // 4. Killed again at random, then restarted without fail points and left to finish.
    const fourth = startProjector('', batchSize());
    await fourth.started;
    await new Promise((done) => setTimeout(done, 20 + Math.floor(random() * 200)));
    fourth.child.kill('SIGKILL');
    await fourth.exited;
    const last = startProjector('', batchSize());
    await last.started;
    await until(async () => (await checkpoint()) === head, 'the projector to reach the head');
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    // The clean rebuild: the same log projected by a projector that never crashed.
    const clean = await createTestDatabase('projector_clean');
    try {
      const dataSource = createReadModelsDataSource(clean.url, { poolSize: 3 });
      await migrateReadModels(dataSource);
      const projector = createProjector({ store, dataSource, batchSize: 1_000 });
      await projector.start();
      await projector.waitFor(head);
      await projector.stop();
      await dataSource.destroy();
      const expected = await dump(clean.url);
      expect(expected.journal_entries.length).toBeGreaterThan(1_000);
      expect(await dump(database.url)).toEqual(expected);
    } finally {
      await clean.drop();
    }
  }, 90_000);
});
