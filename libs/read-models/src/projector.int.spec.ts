import { randomUUID } from 'node:crypto';
import type { NewEvent } from '@ledger/event-store';
import { applyBatch, commitBatch } from './batch';
import { CheckpointConflict, RebuildInProgress } from './errors';
import { Leadership, PROJECTION_LOCK_NAMESPACE, projectionLockKey } from './leadership';
import { Projector } from './projector';
import { createProjections, PROJECTION_NAMES } from './projections';
import { rebuildProjections } from './rebuild';
import { rebuildCheckpointName } from './schema';
import { DedicatedSession, inTransaction } from './sql';
import {
  dumpReadModels,
  openLedgerDatabase,
  openReadModelDatabase,
  projectToHead,
  waitUntil,
  type LedgerDatabase,
} from './testing/harness';
import { LedgerSimulation, randomActions } from './testing/ledger-simulation';

const zeroCheckpoints = () => new Map(PROJECTION_NAMES.map((name) => [name, 0n]));

/** Projects the same log into a fresh database: the clean rebuild every other state must equal. */
async function cleanDump(ledger: LedgerDatabase): Promise<Record<string, string[]>> {
  const clean = await openReadModelDatabase('rm_clean');
  try {
    await projectToHead(ledger.store, clean.dataSource, { batchSize: 500 });
    return await dumpReadModels(clean.dataSource);
  } finally {
    await clean.close();
  }
}

async function simulatedLedger(prefix: string, seed: number, actions: number): Promise<{ ledger: LedgerDatabase; simulation: LedgerSimulation }> {
  const ledger = await openLedgerDatabase(`rm_${prefix}`);
  const simulation = new LedgerSimulation(`${prefix}-`, ['EUR', 'USD', 'JPY']);
  for (const action of randomActions(seed, actions)) simulation.run(action);
  await simulation.appendTo(ledger.store);
  return { ledger, simulation };
}

describe('checkpoint compare-and-set', () => {
  let ledger: LedgerDatabase;
  beforeAll(async () => {
    ({ ledger } = await simulatedLedger('cas', 7, 300));
  });
  afterAll(async () => {
    await ledger?.close();
  });

  it('the same batch delivered twice is rolled back the second time and changes nothing', async () => {
    const session = await DedicatedSession.open(ledger.dataSource);
    try {
      const projections = createProjections();
      const batch = await ledger.store.readAll('start', 60);
      const end = batch[batch.length - 1]!.globalPosition;
      const first = await commitBatch({ session, projections, batch, checkpoints: zeroCheckpoints() });
      expect([...first.checkpoints.values()]).toEqual(PROJECTION_NAMES.map(() => end));
      const afterFirst = await dumpReadModels(ledger.dataSource);
      expect(afterFirst.journal_entries.length).toBeGreaterThan(0);

      // Delivered again by a writer that still believes the checkpoints are at 0.
      await expect(commitBatch({ session, projections, batch, checkpoints: zeroCheckpoints() })).rejects.toBeInstanceOf(
        CheckpointConflict,
      );
      expect(await dumpReadModels(ledger.dataSource)).toEqual(afterFirst);

      // An overlapping batch with a stale checkpoint in the middle of the applied range.
      const overlap = await ledger.store.readAll(30n, 60);
      const stale = new Map(PROJECTION_NAMES.map((name) => [name, 30n]));
      await expect(commitBatch({ session, projections, batch: overlap, checkpoints: stale })).rejects.toBeInstanceOf(
        CheckpointConflict,
      );
      expect(await dumpReadModels(ledger.dataSource)).toEqual(afterFirst);

      // The true continuation applies.
      const next = await ledger.store.readAll(end, 60);
      const current = new Map(PROJECTION_NAMES.map((name) => [name, end]));
      await commitBatch({ session, projections, batch: next, checkpoints: current });
      expect((await dumpReadModels(ledger.dataSource)).journal_entries.length).toBeGreaterThan(afterFirst.journal_entries.length);
    } finally {
      session.release();
    }
  });

  it('two writers racing with the same expected checkpoint: exactly one commits', async () => {
    const sessions = await Promise.all([DedicatedSession.open(ledger.dataSource), DedicatedSession.open(ledger.dataSource)]);
    try {
      const { rows } = await sessions[0].query<{ position: string }>(
        `select min(position)::text as position from read_models.projection_checkpoints`,
      );
      const at = BigInt(rows[0]!.position);
      const batch = await ledger.store.readAll(at, 40);
      const checkpoints = new Map(PROJECTION_NAMES.map((name) => [name, at]));
      const before = await dumpReadModels(ledger.dataSource);
      const results = await Promise.allSettled(
        sessions.map((session) => commitBatch({ session, projections: createProjections(), batch, checkpoints })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect(rejected.reason).toBeInstanceOf(CheckpointConflict);
      const after = await dumpReadModels(ledger.dataSource);
      const positions = after.journal_entries.map((row) => row.split(',').slice(0, 2).join(','));
      expect(new Set(positions).size).toBe(positions.length);
      expect(after.journal_entries.length).toBeGreaterThan(before.journal_entries.length);
    } finally {
      for (const session of sessions) session.release();
    }
  });
});

describe('withdrawal events out of order', () => {
  let ledger: LedgerDatabase;
  beforeAll(async () => {
    ledger = await openLedgerDatabase('rm_order');
  });
  afterAll(async () => {
    await ledger?.close();
  });

  const event = (type: string, data: Record<string, unknown>): NewEvent => ({ id: randomUUID(), type, data, metadata: {} });
  const at = (minute: number) => `2026-11-23T10:${String(minute).padStart(2, '0')}:00.000Z`;
  const posting = (account: string, side: 'debit' | 'credit') => ({ account, side, amount: '400', currency: 'EUR' });

  it('a late or backwards report is recorded with applied = false and leaves the status where it was', async () => {
    const accountId = 'acc-order';
    const withdrawalId = 'wd-order';
    const facts = { withdrawalId, accountId, amount: '400', currency: 'EUR' };
    const attempt = { withdrawalId, channel: 'alpha', attempt: 1 };
    const { store } = ledger;
    await store.append(
      `account-${accountId}`,
      [
        event('AccountOpened', { accountId, ownerId: 'owner', currency: 'EUR', openedAt: at(0) }),
        event('FundsDeposited', {
          accountId,
          depositId: 'd1',
          amount: '1000',
          currency: 'EUR',
          reference: 'r',
          depositedAt: at(1),
          postings: [
            { ...posting('external:deposits', 'debit'), amount: '1000' },
            { ...posting(`user:${accountId}:available`, 'credit'), amount: '1000' },
          ],
        }),
        event('WithdrawalRequested', { ...facts, destination: {}, channel: null, requestedAt: at(2) }),
        event('Debited', {
          ...facts,
          debitedAt: at(2),
          postings: [posting(`user:${accountId}:available`, 'debit'), posting(`user:${accountId}:pending`, 'credit')],
        }),
      ],
      { expectedRevision: 'no_stream' },
    );
    await store.append(
      `withdrawal-${withdrawalId}`,
      [
        event('PayoutInitiated', { ...facts, channel: 'alpha', destination: {}, attempt: 1, initiatedAt: at(3) }),
        event('PayoutSubmitted', { ...attempt, providerReference: 'ref-1', submittedAt: at(4) }),
        event('Settled', { ...attempt, providerReference: 'ref-1', settledAt: at(5) }),
      ],
      { expectedRevision: 'no_stream' },
    );
    // The reports below arrive after the settlement: in time they belong before it, or contradict it.
    await store.append(
      `withdrawal-${withdrawalId}`,
      [
        event('PayoutSubmitted', { ...attempt, providerReference: 'ref-late', submittedAt: at(6) }),
        event('PayoutOutcomeUnknown', { ...attempt, reason: 'timeout', detectedAt: at(7) }),
        event('PayoutFailed', { ...attempt, providerReference: 'ref-1', reason: 'declined', failedAt: at(8) }),
        event('Settled', { ...attempt, providerReference: 'ref-1', settledAt: at(9) }),
      ],
      { expectedRevision: 2n },
    );

    // One event per batch, and all in one batch: the verdicts must not depend on the batching.
    const dumps = [];
    for (const batchSize of [1, 100]) {
      const target = await openReadModelDatabase('rm_order_target');
      try {
        const projector = await projectToHead(store, target.dataSource, { batchSize });
        const [row] = (await target.dataSource.query(
          `select status, provider_reference, attempt, statuses_visited from read_models.withdrawals`,
        )) as Array<Record<string, unknown>>;
        expect(row).toEqual({
          status: 'settled',
          provider_reference: 'ref-1',
          attempt: 1,
          statuses_visited: ['requested', 'processing', 'settled'],
        });
        const history = (await target.dataSource.query(
          `select event_type, from_status, to_status, applied, note from read_models.withdrawal_status_history order by position`,
        )) as Array<Record<string, unknown>>;
        expect(history).toEqual([
          { event_type: 'WithdrawalRequested', from_status: null, to_status: 'requested', applied: true, note: null },
          { event_type: 'Debited', from_status: 'requested', to_status: 'requested', applied: false, note: 'repeats_current_status' },
          { event_type: 'PayoutInitiated', from_status: 'requested', to_status: 'processing', applied: true, note: null },
          { event_type: 'PayoutSubmitted', from_status: 'processing', to_status: 'processing', applied: false, note: 'repeats_current_status' },
          { event_type: 'Settled', from_status: 'processing', to_status: 'settled', applied: true, note: null },
          { event_type: 'PayoutSubmitted', from_status: 'settled', to_status: 'processing', applied: false, note: 'stale: processing reported after settled' },
          { event_type: 'PayoutOutcomeUnknown', from_status: 'settled', to_status: 'unknown', applied: false, note: 'stale: unknown reported after settled' },
          {
            event_type: 'PayoutFailed',
            from_status: 'settled',
            to_status: 'failed',
            applied: false,
            note: 'illegal: settled -> failed is not in WITHDRAWAL_TRANSITIONS',
          },
          { event_type: 'Settled', from_status: 'settled', to_status: 'settled', applied: false, note: 'repeats_current_status' },
        ]);
        // The contradicting report is raised, not dropped.
        const illegal = await projector.metrics.illegalTransitions.get();
        expect(illegal.values.find((v) => v.labels.projection === 'withdrawals')?.value).toBe(1);
        dumps.push(await dumpReadModels(target.dataSource));
      } finally {
        await target.close();
      }
    }
    expect(dumps[0]).toEqual(dumps[1]);
  });
});

describe('leadership: one writer per projection', () => {
  let ledger: LedgerDatabase;
  let simulation: LedgerSimulation;
  const projectors: Projector[] = [];
  beforeAll(async () => {
    ledger = await openLedgerDatabase('rm_leader');
    simulation = new LedgerSimulation('lead-', ['EUR', 'USD']);
    for (const action of randomActions(11, 800)) simulation.run(action);
  });
  afterAll(async () => {
    await Promise.all(projectors.map((projector) => projector.stop()));
    await ledger?.close();
  });

  async function lockHolders(projection: string): Promise<number[]> {
    const [, key] = projectionLockKey(projection);
    const rows = (await ledger.dataSource.query(
      `select pid from pg_locks
        where locktype = 'advisory' and granted and classid = $1 and objid = ($2::int)::oid and objsubid = 2
          and database = (select oid from pg_database where datname = current_database())`,
      [PROJECTION_LOCK_NAMESPACE, key],
    )) as Array<{ pid: number }>;
    return rows.map((row) => row.pid);
  }

  it('two instances: one leads and writes, the other stands by and takes over when the leader dies', async () => {
    await simulation.appendTo(ledger.store, Math.floor(simulation.appends.length / 2));

    const options = { store: ledger.store, dataSource: ledger.dataSource, batchSize: 50, standbyRetryMs: 100 };
    const first = new Projector({ ...options, projections: createProjections() });
    const second = new Projector({ ...options, projections: createProjections() });
    projectors.push(first, second);
    await first.start();
    await second.start();
    expect([first.status().state, second.status().state]).toEqual(['leading', 'standby']);

    await first.waitFor();
    const holders = await Promise.all(PROJECTION_NAMES.map(lockHolders));
    expect(holders.every((pids) => pids.length === 1 && pids[0] === holders[0]![0])).toBe(true);
    expect(second.status().batchesCommitted).toBe(0);
    const firstBatches = first.status().batchesCommitted;
    expect(firstBatches).toBeGreaterThan(1);

    // The leader's session is cut by the server, as when its host or network dies.
    await ledger.dataSource.query('select pg_terminate_backend($1)', [holders[0]![0]]);
    await waitUntil(() => second.status().leader, 10_000, 'the standby to take over');

    await simulation.appendTo(ledger.store);
    await second.waitFor();
    await waitUntil(() => first.status().state === 'standby', 10_000, 'the old leader to notice and stand by');

    expect(second.status().batchesCommitted).toBeGreaterThan(0);
    // The old leader wrote nothing after its session died.
    expect(first.status().batchesCommitted).toBe(firstBatches);
    const holdersAfter = await Promise.all(PROJECTION_NAMES.map(lockHolders));
    expect(holdersAfter.every((pids) => pids.length === 1 && pids[0] !== holders[0]![0])).toBe(true);

    // No gap and no duplicate: identical to a clean projection of the same log.
    expect(await dumpReadModels(ledger.dataSource)).toEqual(await cleanDump(ledger));
  });

  it('a writer that moves the checkpoint under the leader makes the leader roll back and re-read', async () => {
    const leader = projectors.find((projector) => projector.status().leader)!;
    const conflictsBefore = leader.status().checkpointConflicts;
    const session = await DedicatedSession.open(ledger.dataSource);
    try {
      const more = new LedgerSimulation('rogue-', ['EUR']);
      for (const action of randomActions(5, 40)) more.run(action);
      await inTransaction(session, async () => {
        // Hold the checkpoint rows first, so the leader's batch must wait behind this writer.
        const { rows } = await session.query<{ position: string }>(
          `select position::text from read_models.projection_checkpoints where projection = any($1::text[]) order by projection for update`,
          [PROJECTION_NAMES],
        );
        const at = BigInt(rows[0]!.position);
        await more.appendTo(ledger.store);
        const batch = await ledger.store.readAll(at, 10_000);
        await waitUntil(async () => {
          const { rows: waiting } = await session.query<{ count: number }>(
            `select count(*)::int as count from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
          );
          return waiting[0]!.count > 0;
        }, 10_000, 'the leader to block on the checkpoint row');
        await applyBatch({
          session,
          projections: createProjections(),
          batch,
          checkpoints: new Map(PROJECTION_NAMES.map((name) => [name, at])),
        });
      });
      await leader.waitFor();
      expect(leader.status().checkpointConflicts).toBe(conflictsBefore + 1);
      expect(await dumpReadModels(ledger.dataSource)).toEqual(await cleanDump(ledger));
    } finally {
      session.release();
    }
  });
});

describe('rebuild into shadow tables', () => {
  let ledger: LedgerDatabase;
  beforeAll(async () => {
    ({ ledger } = await simulatedLedger('rebuild', 21, 900));
  });
  afterAll(async () => {
    await ledger?.close();
  });

  const indexNames = async () =>
    ((await ledger.dataSource.query(
      `select tablename || '.' || indexname as name from pg_indexes where schemaname = 'read_models' order by 1`,
    )) as Array<{ name: string }>).map((row) => row.name);

  it('swaps in identical tables while the live projector runs, writers append and readers read', async () => {
    const live = new Projector({ store: ledger.store, dataSource: ledger.dataSource, projections: createProjections(), batchSize: 100 });
    await live.start();
    try {
      await live.waitFor();
      const indexesBefore = await indexNames();

      // Readers read throughout; every read must succeed and see a populated table.
      let reading = true;
      const readErrors: unknown[] = [];
      let reads = 0;
      const reader = (async () => {
        while (reading) {
          try {
            const [row] = (await ledger.dataSource.query(
              `select (select count(*) from read_models.account_balances)::int as accounts,
                      (select count(*) from read_models.journal_entries)::int as entries,
                      (select count(*) from read_models.withdrawals)::int as withdrawals`,
            )) as Array<{ accounts: number; entries: number; withdrawals: number }>;
            if (row!.accounts === 0 || row!.entries === 0 || row!.withdrawals === 0) readErrors.push(new Error(`empty read ${JSON.stringify(row)}`));
            reads += 1;
          } catch (error) {
            readErrors.push(error);
          }
        }
      })();
      // Writers keep appending while the shadow fills and while it swaps.
      const more = new LedgerSimulation('during-', ['EUR', 'USD']);
      for (const action of randomActions(99, 400)) more.run(action);
      const writing = more.appendTo(ledger.store);

      const phases = new Set<string>();
      const result = await rebuildProjections(createProjections(), {
        store: ledger.store,
        dataSource: ledger.dataSource,
        batchSize: 97,
        onProgress: (progress) => phases.add(progress.phase),
      });
      await writing;
      await live.waitFor();
      reading = false;
      await reader;

      expect(readErrors).toEqual([]);
      expect(reads).toBeGreaterThan(5);
      expect([...phases].sort()).toEqual(['fill', 'index', 'swap']);
      expect(result.position).toBeGreaterThan(0n);
      expect(await indexNames()).toEqual(indexesBefore);
      const leftovers = (await ledger.dataSource.query(
        `select table_name from information_schema.tables where table_schema = 'read_models' and table_name like '%\\_\\_%'`,
      )) as unknown[];
      expect(leftovers).toEqual([]);
      const rebuildRows = (await ledger.dataSource.query(
        `select projection from read_models.projection_checkpoints where projection like '%\\_\\_rebuild'`,
      )) as unknown[];
      expect(rebuildRows).toEqual([]);
      expect(await dumpReadModels(ledger.dataSource)).toEqual(await cleanDump(ledger));
    } finally {
      await live.stop();
    }
  });

  it('an interrupted rebuild resumes from its shadow checkpoint, and a stopped live projection takes the shadow position', async () => {
    const more = new LedgerSimulation('after-', ['JPY']);
    for (const action of randomActions(3, 200)) more.run(action);
    await more.appendTo(ledger.store);

    const abort = new AbortController();
    let batches = 0;
    await expect(
      rebuildProjections(createProjections(), {
        store: ledger.store,
        dataSource: ledger.dataSource,
        batchSize: 50,
        signal: abort.signal,
        onProgress: () => {
          batches += 1;
          if (batches === 5) abort.abort();
        },
      }),
    ).rejects.toThrow('aborted');
    const [{ position }] = (await ledger.dataSource.query(
      `select position::int as position from read_models.projection_checkpoints where projection = $1`,
      [rebuildCheckpointName('withdrawals')],
    )) as [{ position: number }];
    expect(position).toBeGreaterThan(0);

    // Another rebuild of the same projections meanwhile is refused.
    const held = await Leadership.tryAcquire(ledger.dataSource, PROJECTION_NAMES.map(rebuildCheckpointName));
    try {
      await expect(rebuildProjections(createProjections(), { store: ledger.store, dataSource: ledger.dataSource })).rejects.toBeInstanceOf(
        RebuildInProgress,
      );
    } finally {
      await held!.release();
    }

    const result = await rebuildProjections(createProjections(), { store: ledger.store, dataSource: ledger.dataSource, batchSize: 500 });
    expect(result.resumedFrom).toBe(BigInt(position));
    expect(result.position).toBe(await ledger.store.headPosition());
    expect(await dumpReadModels(ledger.dataSource)).toEqual(await cleanDump(ledger));
  });
});

describe('metrics', () => {
  it('report lag, batch sizes and apply time per projection', async () => {
    const { ledger } = await simulatedLedger('metrics', 4, 150);
    try {
      const projector = new Projector({
        store: ledger.store,
        dataSource: ledger.dataSource,
        projections: createProjections(),
        batchSize: 40,
        lagRefreshMs: 50,
      });
      await projector.start();
      await projector.waitFor();
      const caughtUp = async () =>
        (await projector.metrics.lagEvents.get()).values.every((v) => v.value === 0) &&
        (await projector.metrics.lagSeconds.get()).values.every((v) => v.value === 0);
      await waitUntil(caughtUp, 5_000, 'lag 0');
      await projector.stop();
      const text = await projector.metrics.registry.metrics();
      for (const name of PROJECTION_NAMES) {
        expect(text).toContain(`ledger_projection_lag_events{projection="${name}"} 0`);
        expect(text).toContain(`ledger_projection_lag_seconds{projection="${name}"} 0`);
        expect(text).toMatch(new RegExp(`ledger_projection_batch_size_events_count\\{projection="${name}"\\} [1-9]`));
        expect(text).toMatch(new RegExp(`ledger_projection_apply_duration_seconds_count\\{projection="${name}"\\} [1-9]`));
      }
      expect(text).toContain(`ledger_projection_leader{projection="withdrawals"} 0`);
    } finally {
      await ledger.close();
    }
  });
});
