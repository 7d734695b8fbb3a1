import { ledgerSumsByCurrency, type CurrencyCode } from '@ledger/domain';
import { createProjections } from './projections';
import { dumpReadModels, openLedgerDatabase, openReadModelDatabase, projectToHead, type LedgerDatabase } from './testing/harness';
import { LedgerSimulation, randomActions } from './testing/ledger-simulation';

/**
 * The projections against the deciders: a seeded ledger of several hundred commands is
 * decided by the real deciders and the process manager's money rule, appended to a real
 * PostgreSQL event store, and projected. Every read model must then equal what the deciders
 * hold, and the result must not depend on how the log was cut into batches.
 */
describe('read-model projections', () => {
  const currencies: CurrencyCode[] = ['EUR', 'JPY', 'EUR', 'USD'];
  let ledger: LedgerDatabase;
  let simulation: LedgerSimulation;

  beforeAll(async () => {
    ledger = await openLedgerDatabase('rm_projections');
    simulation = new LedgerSimulation('p-', currencies);
    for (const action of randomActions(20_261_123, 900)) simulation.run(action);
    await simulation.appendTo(ledger.store);
    await projectToHead(ledger.store, ledger.dataSource, { batchSize: 64 });
  });
  afterAll(async () => {
    await ledger?.close();
  });

  it('the simulated ledger exercises every withdrawal path (so the checks below are not vacuous)', () => {
    const visited = new Set(simulation.withdrawals.flatMap((w) => w.track.statusesVisited));
    expect([...visited].sort()).toEqual(
      ['cancelled', 'failed', 'manual_review', 'processing', 'requested', 'returned', 'reversed', 'settled', 'unknown'].sort(),
    );
    expect(simulation.eventCount()).toBeGreaterThan(450);
  });

  it('account balances equal the account deciders\' state', async () => {
    const rows = (await ledger.dataSource.query(
      `select account_id, owner_id, currency, available::text, pending::text, frozen from read_models.account_balances order by account_id`,
    )) as Array<Record<string, unknown>>;
    const expected = simulation.accounts.map((account) => {
      if (account.state.status !== 'open') throw new Error('accounts open first');
      return {
        account_id: account.accountId,
        owner_id: account.state.ownerId,
        currency: account.currency,
        available: account.state.amountAvailable.toString(),
        pending: account.state.amountPending.toString(),
        frozen: account.state.frozen,
      };
    });
    expect(rows).toEqual(expected.sort((a, b) => (a.account_id < b.account_id ? -1 : 1)));
  });

  it('the journal holds every posting once, per ledger account it equals the ledger, and per currency it sums to zero', async () => {
    const rows = (await ledger.dataSource.query(
      `select currency, ledger_account, sum(case side when 'credit' then amount else -amount end)::text as balance
         from read_models.journal_entries group by currency, ledger_account`,
    )) as Array<{ currency: string; ledger_account: string; balance: string }>;
    const journal = new Map(rows.map((row) => [`${row.currency}/${row.ledger_account}`, BigInt(row.balance)]));
    const ledgerNonZero = new Map([...simulation.balances].filter(([, balance]) => balance !== 0n));
    const journalNonZero = new Map([...journal].filter(([, balance]) => balance !== 0n));
    expect(journalNonZero).toEqual(ledgerNonZero);
    for (const sum of ledgerSumsByCurrency(journal).values()) expect(sum).toBe(0n);

    const postings = simulation.appends.flatMap((a) => a.events).flatMap((e) => (e.data as { postings?: unknown[] }).postings ?? []);
    const [{ count }] = (await ledger.dataSource.query(`select count(*)::int as count from read_models.journal_entries`)) as [{ count: number }];
    expect(count).toBe(postings.length);
    // The account id column names the user account of user:<id>:* postings and nothing else.
    const [{ wrong }] = (await ledger.dataSource.query(
      `select count(*)::int as wrong from read_models.journal_entries
        where (ledger_account like 'user:%') <> (account_id is not null)
           or (account_id is not null and ledger_account not in ('user:' || account_id || ':available', 'user:' || account_id || ':pending'))`,
    )) as [{ wrong: number }];
    expect(wrong).toBe(0);
  });

  it('withdrawals show the status the domain\'s transition table folds to, with attempt and facts', async () => {
    const rows = (await ledger.dataSource.query(
      `select withdrawal_id, account_id, amount::text, currency, status, statuses_visited, attempt
         from read_models.withdrawals order by withdrawal_id`,
    )) as Array<Record<string, unknown>>;
    const expected = simulation.withdrawals
      .map((w) => ({
        withdrawal_id: w.withdrawalId,
        account_id: w.accountId,
        amount: w.amount.toString(),
        currency: w.currency,
        status: w.track.status,
        statuses_visited: [...w.track.statusesVisited],
        attempt: w.state.attempt,
      }))
      .sort((a, b) => (a.withdrawal_id < b.withdrawal_id ? -1 : 1));
    expect(rows).toEqual(expected);
  });

  it('the status history records every event about a withdrawal, and the applied ones replay to the status', async () => {
    const history = (await ledger.dataSource.query(
      `select withdrawal_id, from_status, to_status, applied, note from read_models.withdrawal_status_history
        order by withdrawal_id, position`,
    )) as Array<{ withdrawal_id: string; from_status: string | null; to_status: string; applied: boolean; note: string | null }>;
    const aboutWithdrawals = simulation.appends
      .flatMap((a) => a.events)
      .filter((e) => typeof (e.data as { withdrawalId?: unknown }).withdrawalId === 'string');
    expect(history).toHaveLength(aboutWithdrawals.length);
    const byWithdrawal = new Map<string, typeof history>();
    for (const row of history) byWithdrawal.set(row.withdrawal_id, [...(byWithdrawal.get(row.withdrawal_id) ?? []), row]);
    for (const w of simulation.withdrawals) {
      const rows = byWithdrawal.get(w.withdrawalId)!;
      const applied = rows.filter((row) => row.applied);
      expect(applied[applied.length - 1]!.to_status).toBe(w.track.status);
      // Deciders never emit a contradicting event, so nothing here may be illegal.
      expect(rows.filter((row) => row.note?.startsWith('illegal'))).toEqual([]);
      for (const row of rows.filter((r) => !r.applied)) expect(row.note).not.toBeNull();
    }
  });

  it('the review queue holds the latest review of each withdrawal that had one', async () => {
    const rows = (await ledger.dataSource.query(
      `select withdrawal_id, resolved_at is null as open, decision from read_models.review_queue order by withdrawal_id`,
    )) as Array<{ withdrawal_id: string; open: boolean; decision: string | null }>;
    const reviewed = simulation.withdrawals.filter((w) => w.track.statusesVisited.includes('manual_review'));
    expect(rows.map((row) => row.withdrawal_id)).toEqual(reviewed.map((w) => w.withdrawalId).sort());
    for (const row of rows) {
      const w = reviewed.find((candidate) => candidate.withdrawalId === row.withdrawal_id)!;
      expect(row.open).toBe(w.track.status === 'manual_review');
    }
  });

  it('the read models do not depend on how the log is cut into batches', async () => {
    const reference = await dumpReadModels(ledger.dataSource);
    for (const batchSize of [1, 7, 5_000]) {
      const other = await openReadModelDatabase('rm_batching');
      try {
        await projectToHead(ledger.store, other.dataSource, { batchSize });
        expect(await dumpReadModels(other.dataSource)).toEqual(reference);
      } finally {
        await other.close();
      }
    }
  });

  it('projections run separately reach the same tables as the group', async () => {
    const reference = await dumpReadModels(ledger.dataSource);
    const other = await openReadModelDatabase('rm_separate');
    try {
      for (const projection of createProjections()) {
        await projectToHead(ledger.store, other.dataSource, { projections: [projection], batchSize: 100 });
      }
      expect(await dumpReadModels(other.dataSource)).toEqual(reference);
    } finally {
      await other.close();
    }
  });
});
