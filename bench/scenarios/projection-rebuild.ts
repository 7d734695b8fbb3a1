import { randomUUID } from 'node:crypto';
import {
  accountDecider,
  accountStream,
  holdCommandForWithdrawalEvent,
  withdrawalDecider,
  withdrawalStream,
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  type CommandMetadata,
  type CurrencyCode,
  type LedgerEvent,
  type WithdrawalCommand,
  type WithdrawalState,
} from '@ledger/domain';
import type { NewEvent, PostgresEventStore } from '@ledger/event-store';
import {
  createProjections,
  createReadModelsDataSource,
  migrateReadModels,
  Projector,
  rebuildProjections,
} from '@ledger/read-models';
import type { DataSource } from 'typeorm';
import { elapsedMs, round, seededRandom } from '../lib/measure';
import { openStore, type Scenario, type ScenarioContext } from '../lib/scenario';

const TARGET_EVENTS_PER_SECOND = 30_000;
const WRITERS = 16;
const WITHDRAWALS_PER_ACCOUNT = 10;
const REBUILD_BATCH_SIZE = 5_000;

/**
 * Rebuild of every read model (account balances, journal, withdrawals with their history and
 * review queue) from a log of 100,000 ledger events, through `rebuildProjections`: shadow
 * tables filled batch by batch, each batch committed with its checkpoint, secondary indexes
 * built, then swapped in. The rate is events applied over the whole call, swap included.
 *
 * The log is a ledger as the deciders write it: accounts in four currencies with deposits and
 * withdrawals that settle (70%), fail, are cancelled, are reviewed and failed, are returned
 * after settling, or are still in flight; about 7 events per withdrawal, 2 postings per money
 * event. For comparison the live projector's catch-up over the same log is measured too.
 * Both results are checked: the journal sums to zero per currency and holds every posting.
 */
export const projectionRebuild: Scenario = {
  name: 'projection-rebuild',
  needsRoofline: false,
  inDefaultSuite: true,
  async run(context) {
    const eventsWanted = context.quick ? 10_000 : 100_000;
    const store = await openStore(context, { poolSize: WRITERS });
    const dataSource = createReadModelsDataSource(context.database.url, { poolSize: 4, applicationName: 'ledger-bench' });
    try {
      await migrateReadModels(dataSource);
      const writeStarted = process.hrtime.bigint();
      const log = buildLog(eventsWanted);
      await writeLog(store, log);
      const events = Number(await store.headPosition());
      context.log(`projection-rebuild: wrote ${events} events in ${Math.round(elapsedMs(writeStarted))} ms`);
      await store.pool.query('analyze event_store.events');

      const rebuild = await rebuildProjections(createProjections(), { store, dataSource, batchSize: REBUILD_BATCH_SIZE });
      const rebuildPerSecond = round(rebuild.events / rebuild.seconds, 1);
      const rebuildCheck = await checkJournal(dataSource, log.postings);
      context.log(`projection-rebuild: rebuilt ${rebuild.events} events at ${rebuildPerSecond} events/s`);

      const catchUp = await measureCatchUp(context, store, dataSource);
      const catchUpCheck = await checkJournal(dataSource, log.postings);
      const correct = rebuildCheck.correct && catchUpCheck.correct && rebuild.events === events;
      return [
        {
          scenario: 'projection-rebuild',
          parameters: {
            events,
            projections: rebuild.projections,
            batch_size: REBUILD_BATCH_SIZE,
            accounts: log.accounts,
            withdrawals: log.withdrawals,
            postings: log.postings,
            method: 'rebuildProjections: shadow tables from position 0, indexes, swap',
          },
          events_per_second: rebuildPerSecond,
          rebuild_s: round(rebuild.seconds, 3),
          swap_ms: round(rebuild.swapMs, 1),
          catch_up_events_per_second: catchUp.eventsPerSecond,
          catch_up_batch_size: catchUp.batchSize,
          journal_sums_zero: rebuildCheck.sumsZero && catchUpCheck.sumsZero,
          journal_entries: rebuildCheck.entries,
          target: { min_events_per_second: TARGET_EVENTS_PER_SECOND, journal_sums_zero: true },
          pass: correct && rebuildPerSecond >= TARGET_EVENTS_PER_SECOND,
        },
      ];
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await store.close();
    }
  },
};

/** The live projector from position 0 into the live tables, as a fresh deployment would run it. */
async function measureCatchUp(context: ScenarioContext, store: PostgresEventStore, dataSource: DataSource) {
  const batchSize = 1_000;
  await dataSource.query(
    `truncate read_models.account_balances, read_models.journal_entries, read_models.withdrawals,
              read_models.withdrawal_status_history, read_models.review_queue`,
  );
  await dataSource.query(`delete from read_models.projection_checkpoints`);
  const head = await store.headPosition();
  const projector = new Projector({ store, dataSource, projections: createProjections(), batchSize });
  const started = process.hrtime.bigint();
  await projector.start();
  await projector.waitFor(head, 600_000);
  const seconds = elapsedMs(started) / 1_000;
  await projector.stop();
  const eventsPerSecond = round(Number(head) / seconds, 1);
  context.log(`projection-rebuild: live catch-up at ${eventsPerSecond} events/s`);
  return { eventsPerSecond, batchSize };
}

async function checkJournal(dataSource: DataSource, postings: number) {
  const unbalanced = (await dataSource.query(
    `select currency from read_models.journal_entries group by currency
      having sum(case side when 'credit' then amount else -amount end) <> 0`,
  )) as unknown[];
  const [{ entries }] = (await dataSource.query(`select count(*)::int as entries from read_models.journal_entries`)) as [
    { entries: number },
  ];
  return { sumsZero: unbalanced.length === 0, entries, correct: unbalanced.length === 0 && entries === postings };
}

// ---------------------------------------------------------------------------------------
// The log: decided by the real deciders, written in three waves so every append is large
// and the writers can run side by side without reordering anything that matters: first
// each account's opening, deposits and withdrawal requests; then each withdrawal's payout
// events; then each account's hold resolutions (the process manager's reactions).
// ---------------------------------------------------------------------------------------

interface Append {
  stream: string;
  events: NewEvent[];
  expectedRevision: bigint | 'no_stream';
}

interface Log {
  waves: Append[][];
  accounts: number;
  withdrawals: number;
  postings: number;
}

type Outcome = 'settled' | 'failed' | 'cancelled' | 'review_failed' | 'returned' | 'in_flight';
const OUTCOMES: ReadonlyArray<readonly [Outcome, number]> = [
  ['settled', 70],
  ['failed', 10],
  ['cancelled', 5],
  ['review_failed', 5],
  ['returned', 5],
  ['in_flight', 5],
];
const CURRENCIES: readonly CurrencyCode[] = ['EUR', 'USD', 'JPY', 'GBP'];
const destination = { type: 'bank_account', accountNumber: 'DE89370400440532013000', bankCode: 'COBADEFFXXX', holderName: 'Bench' } as const;

function buildLog(eventsWanted: number): Log {
  const random = seededRandom(20_261_123);
  let clock = 0;
  const meta = (): CommandMetadata => {
    clock += 1;
    return { now: new Date(Date.parse('2026-11-23T00:00:00.000Z') + clock * 10).toISOString(), principal: 'bench' };
  };
  const outcome = (): Outcome => {
    let roll = random() * 100;
    for (const [name, weight] of OUTCOMES) {
      if ((roll -= weight) < 0) return name;
    }
    return 'settled';
  };
  const requests: Append[] = [];
  const payouts: Append[] = [];
  const resolutions: Append[] = [];
  let events = 0;
  let postings = 0;
  let withdrawals = 0;
  let accountIndex = 0;
  const count = (list: readonly LedgerEvent[]) => {
    events += list.length;
    for (const event of list) postings += 'postings' in event.data ? event.data.postings.length : 0;
  };

  while (events < eventsWanted) {
    const accountId = `bench-${accountIndex}`;
    const currency = CURRENCIES[accountIndex % CURRENCIES.length]!;
    accountIndex += 1;
    let state: AccountState = accountDecider.initialState();
    const decideAccount = (command: AccountCommand, into: AccountEvent[]) => {
      const decided = accountDecider.decide(command, state);
      for (const event of decided) state = accountDecider.evolve(state, event);
      into.push(...decided);
    };
    const opening: AccountEvent[] = [];
    decideAccount({ type: 'OpenAccount', data: { accountId, ownerId: `owner-${accountId}`, currency }, metadata: meta() }, opening);
    const pending: Array<{ withdrawalId: string; amount: bigint; outcome: Outcome }> = [];
    for (let i = 0; i < WITHDRAWALS_PER_ACCOUNT; i += 1) {
      const amount = BigInt(100 + Math.floor(random() * 10_000));
      decideAccount(
        { type: 'DepositFunds', data: { depositId: `d${i}`, amount, currency, reference: 'wire' }, metadata: meta() },
        opening,
      );
      const withdrawalId = `${accountId}-w${i}`;
      decideAccount(
        { type: 'RequestWithdrawal', data: { withdrawalId, amount, currency, destination, channel: null }, metadata: meta() },
        opening,
      );
      pending.push({ withdrawalId, amount, outcome: outcome() });
    }
    requests.push({ stream: accountStream(accountId), events: opening.map(toNewEvent), expectedRevision: 'no_stream' });
    count(opening);

    const reactions: AccountEvent[] = [];
    for (const { withdrawalId, amount, outcome: path } of pending) {
      let wState: WithdrawalState = withdrawalDecider.initialState();
      const decided: LedgerEvent[] = [];
      const facts = { withdrawalId, accountId, amount, currency };
      const decideWithdrawal = (build: () => WithdrawalCommand) => {
        for (const event of withdrawalDecider.decide(build(), wState)) {
          wState = withdrawalDecider.evolve(wState, event);
          decided.push(event);
          const reaction = holdCommandForWithdrawalEvent(event, wState, meta());
          if (reaction !== null) decideAccount(reaction.command, reactions);
        }
      };
      const initiate = () => decideWithdrawal(() => ({ type: 'InitiatePayout', data: { ...facts, channel: 'alpha', destination }, metadata: meta() }));
      const submit = () =>
        decideWithdrawal(() => ({ type: 'RecordPayoutSubmitted', data: { attempt: 1, providerReference: `ref-${withdrawalId}` }, metadata: meta() }));
      const settle = () => decideWithdrawal(() => ({ type: 'RecordSettlement', data: { attempt: 1, providerReference: null }, metadata: meta() }));
      switch (path) {
        case 'settled':
          initiate();
          submit();
          settle();
          break;
        case 'failed':
          initiate();
          decideWithdrawal(() => ({ type: 'RecordPayoutFailure', data: { attempt: 1, providerReference: null, reason: 'declined' }, metadata: meta() }));
          break;
        case 'cancelled':
          decideWithdrawal(() => ({ type: 'CancelWithdrawal', data: { ...facts, reason: 'user' }, metadata: meta() }));
          break;
        case 'review_failed':
          decideWithdrawal(() => ({ type: 'RequestManualReview', data: { ...facts, reason: 'stuck' }, metadata: meta() }));
          decideWithdrawal(() => ({ type: 'ResolveManualReview', data: { decision: 'fail', reason: 'ops' }, metadata: meta() }));
          break;
        case 'returned':
          initiate();
          submit();
          settle();
          decideWithdrawal(() => ({ type: 'RecordPayoutReturned', data: { attempt: 1, providerReference: null, reason: 'closed' }, metadata: meta() }));
          break;
        case 'in_flight':
          initiate();
          submit();
          break;
      }
      payouts.push({ stream: withdrawalStream(withdrawalId), events: decided.map(toNewEvent), expectedRevision: 'no_stream' });
      count(decided);
      withdrawals += 1;
    }
    if (reactions.length > 0) {
      resolutions.push({
        stream: accountStream(accountId),
        events: reactions.map(toNewEvent),
        expectedRevision: BigInt(opening.length - 1),
      });
      count(reactions);
    }
  }
  return { waves: [requests, payouts, resolutions], accounts: accountIndex, withdrawals, postings };
}

function toNewEvent(event: LedgerEvent): NewEvent {
  return { id: randomUUID(), type: event.type, data: event.data, metadata: { principal: 'bench', schemaVersion: 1 } };
}

/** Writes wave after wave; inside a wave, WRITERS callers append side by side (group commit). */
async function writeLog(store: PostgresEventStore, log: Log): Promise<void> {
  for (const wave of log.waves) {
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let index = next++; index < wave.length; index = next++) {
          const append = wave[index]!;
          await store.append(append.stream, append.events, { expectedRevision: append.expectedRevision });
        }
      }),
    );
  }
}
