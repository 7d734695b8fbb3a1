import { isDeepStrictEqual } from 'node:util';
import { errorCode, readJson, type RequestRecord } from './ledger-client';
import type { ProviderLedger, StoredEvent } from './observe';

export interface CheckResult {
  name: string;
  passed: boolean;
  /** What was counted or compared, and on failure the first offending items. */
  detail: string;
}

/** What `ledger verify --json` printed and how it exited. */
export interface VerifyRun {
  exitCode: number | null;
  report: VerifyJson | undefined;
  stderr: string;
  stdoutHead: string;
}

export interface VerifyJson {
  ok: boolean;
  head: string;
  events: number;
  accounts: number;
  withdrawals: number;
  ledgerSums: Record<string, string>;
  compared: Array<{ projection: string; checkpoint: string; behind: string; tables: Array<{ table: string; rows: number }> }>;
  differenceCount: number;
  violationCount: number;
  differences: unknown[];
  violations: unknown[];
}

export interface Evidence {
  records: readonly RequestRecord[];
  events: readonly StoredEvent[];
  provider: ProviderLedger;
  verify: VerifyRun;
  conflicts: ReadonlyArray<{ withdrawal_id: string | null; kind: string; code: string }>;
  openReviews: number;
  readApi: { url: string; apiKey: string };
  /** The drain reached a quiet system (every checkpoint at the head, nothing in flight). */
  drained: boolean;
  notRunning: string[];
  /** When PostgreSQL was down (epoch ms), from the fault script. */
  databaseOutages: ReadonlyArray<{ from: number; to: number }>;
}

/** The final answers each kind of request may get; anything else is a finding. */
const EXPECTED_ANSWERS: Record<RequestRecord['kind'], ReadonlyArray<{ status: number; code?: string }>> = {
  'open-account': [{ status: 201 }],
  deposit: [{ status: 201 }],
  withdrawal: [{ status: 202 }, { status: 422, code: 'insufficient_funds' }],
  duplicate: [{ status: 202 }, { status: 422, code: 'insufficient_funds' }],
  cancel: [{ status: 202 }, { status: 409, code: 'withdrawal_not_cancellable' }],
  replay: [],
  review: [{ status: 200 }, { status: 409, code: 'withdrawal_not_in_review' }],
};

interface AcceptedWithdrawal {
  withdrawalId: string;
  accountId: string;
  amount: bigint;
  currency: string;
  keys: Set<string>;
}

/**
 * Every check of the suite, each from evidence gathered after the drain: the client's
 * answers, the event log, the provider's books, the read API and `ledger verify`.
 */
export async function runChecks(evidence: Evidence): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  const check = (name: string, failures: string[], detail: string) =>
    checks.push({ name, passed: failures.length === 0, detail: failures.length === 0 ? detail : `${failures.length} problem(s): ${failures.slice(0, 10).join('; ')}` });
  const { records, events, provider } = evidence;
  const bySeq = new Map(records.map((record) => [record.seq, record]));

  // --- What the client was told -----------------------------------------------------------
  const gaveUp = records.filter((record) => record.gaveUp);
  check(
    'every request got a final answer (retried through the faults with its key)',
    gaveUp.map((record) => `#${record.seq} ${record.kind} ${record.key}: ${record.transient.slice(-3).join(', ')}`),
    `${records.length} requests, ${records.filter((record) => record.tries > 1).length} of them retried`,
  );

  const unexpected = records.filter((record) => {
    if (record.status === undefined || record.kind === 'replay') return false;
    return !EXPECTED_ANSWERS[record.kind].some((answer) => answer.status === record.status && (answer.code === undefined || answer.code === errorCode(record.response)));
  });
  check(
    'every final answer is one the API promises for that request',
    unexpected.map((record) => `#${record.seq} ${record.kind} ${record.path}: ${record.status} ${JSON.stringify(record.response).slice(0, 200)}`),
    'opens 201, deposits 201, withdrawals 202 or 422 insufficient_funds, cancels 202 or 409 withdrawal_not_cancellable, reviews 200 or 409',
  );

  const replayProblems: string[] = [];
  let replaysCompared = 0;
  let reexecuted = 0;
  // When PostgreSQL dies between a request's append and the storing of its answer, the
  // answer is still sent, the key stays in flight until its lease runs out, and a retry then
  // runs the request again with the same derived ids (docs/api.md, "Idempotency"): the same
  // answer, but not a stored one, so without Idempotent-Replayed. Only then.
  const databaseDown = evidence.databaseOutages.map(({ from, to }) => ({ from: from - 1_000, to: to + 2_000 }));
  for (const record of records) {
    if (record.replayOf === undefined || record.status === undefined) continue;
    const original = bySeq.get(record.replayOf)!;
    if (original.status === undefined) continue;
    replaysCompared += 1;
    const same =
      original.status === record.status &&
      (original.status < 300 ? isDeepStrictEqual(original.response, record.response) : errorCode(original.response) === errorCode(record.response));
    if (!same) {
      replayProblems.push(`#${record.seq} (${record.kind} of #${original.seq}, key ${record.key}): ${original.status} ${JSON.stringify(original.response)} then ${record.status} ${JSON.stringify(record.response)}`);
    } else if (record.kind === 'replay' && !record.replayed) {
      const answeredInOutage = databaseDown.some(({ from, to }) => original.finishedAt! >= from && original.finishedAt! <= to);
      if (answeredInOutage) reexecuted += 1;
      else replayProblems.push(`#${record.seq} replay of #${original.seq} (answered ${new Date(original.finishedAt!).toISOString()}) lacks Idempotent-Replayed: true`);
    }
  }
  check(
    'one key, one answer: every replay and concurrent duplicate got the original answer',
    replayProblems,
    `${replaysCompared} replays and duplicates compared${reexecuted > 0 ? `; ${reexecuted} replay(s) of a request answered as PostgreSQL died were run again (same answer, no stored one)` : ''}`,
  );

  // --- The client's accepted requests against the event log ------------------------------
  const accepted = new Map<string, AcceptedWithdrawal>();
  const keyProblems: string[] = [];
  const idOfKey = new Map<string, string>();
  for (const record of records) {
    if ((record.kind !== 'withdrawal' && record.kind !== 'duplicate') || record.status !== 202) continue;
    const withdrawalId = String(record.response!.withdrawalId);
    const previous = idOfKey.get(record.key);
    if (previous !== undefined && previous !== withdrawalId) keyProblems.push(`key ${record.key} answered ${previous} and ${withdrawalId}`);
    idOfKey.set(record.key, withdrawalId);
    const body = record.body as { accountId: string; amount: string; currency: string };
    const entry = accepted.get(withdrawalId) ?? {
      withdrawalId,
      accountId: body.accountId,
      amount: BigInt(body.amount),
      currency: body.currency,
      keys: new Set<string>(),
    };
    entry.keys.add(record.key);
    accepted.set(withdrawalId, entry);
  }
  for (const entry of accepted.values()) if (entry.keys.size > 1) keyProblems.push(`withdrawal ${entry.withdrawalId} answered for keys ${[...entry.keys].join(', ')}`);

  const byType = (type: string) => events.filter((event) => event.type === type);
  const countBy = (list: readonly StoredEvent[], field: string) => {
    const counts = new Map<string, StoredEvent[]>();
    for (const event of list) counts.set(String(event.data[field]), [...(counts.get(String(event.data[field])) ?? []), event]);
    return counts;
  };
  const requested = countBy(byType('WithdrawalRequested'), 'withdrawalId');
  const debited = countBy(byType('Debited'), 'withdrawalId');
  const ledgerProblems: string[] = [];
  for (const entry of accepted.values()) {
    const requests = requested.get(entry.withdrawalId) ?? [];
    const holds = debited.get(entry.withdrawalId) ?? [];
    if (requests.length !== 1 || holds.length !== 1) {
      ledgerProblems.push(`${entry.withdrawalId}: ${requests.length} WithdrawalRequested, ${holds.length} Debited`);
      continue;
    }
    const event = requests[0]!;
    if (event.stream !== `account-${entry.accountId}` || BigInt(String(event.data.amount)) !== entry.amount || event.data.currency !== entry.currency) {
      ledgerProblems.push(`${entry.withdrawalId}: the ledger holds ${event.stream} ${String(event.data.amount)} ${String(event.data.currency)}, the client asked for ${entry.accountId} ${entry.amount} ${entry.currency}`);
    }
  }
  check(
    'every withdrawal the client was told was accepted is in the ledger exactly once',
    [...keyProblems, ...ledgerProblems],
    `${accepted.size} accepted withdrawals, each with one WithdrawalRequested and one Debited; one id per key`,
  );

  const acceptedDeposits = new Set(
    records.filter((record) => record.kind === 'deposit' && record.status === 201).map((record) => String(record.response!.depositId)),
  );
  const acceptedAccounts = new Set(
    records.filter((record) => record.kind === 'open-account' && record.status === 201).map((record) => String(record.response!.accountId)),
  );
  const ghostProblems: string[] = [];
  const compareSets = (what: string, inLedger: Map<string, StoredEvent[]>, told: Set<string>) => {
    for (const [id, list] of inLedger) {
      if (!told.has(id)) ghostProblems.push(`${what} ${id} is in the ledger but no client was told it was accepted`);
      if (list.length > 1) ghostProblems.push(`${what} ${id} is in the ledger ${list.length} times`);
    }
    for (const id of told) if (!inLedger.has(id)) ghostProblems.push(`${what} ${id} was accepted but is not in the ledger`);
  };
  compareSets('withdrawal', requested, new Set(accepted.keys()));
  compareSets('deposit', countBy(byType('FundsDeposited'), 'depositId'), acceptedDeposits);
  compareSets('account', countBy(byType('AccountOpened'), 'accountId'), acceptedAccounts);
  check(
    'nothing happened twice and nothing unannounced: the ledger holds exactly the accepted withdrawals, deposits and accounts',
    ghostProblems,
    `${requested.size} withdrawals, ${acceptedDeposits.size} deposits, ${acceptedAccounts.size} accounts in both`,
  );

  // --- Money against the provider's books ------------------------------------------------
  const payoutsOf = new Map<string, ProviderLedger['payouts']>();
  const providerProblems: string[] = [];
  for (const payout of provider.payouts) {
    payoutsOf.set(payout.withdrawalId, [...(payoutsOf.get(payout.withdrawalId) ?? []), payout]);
    if (payout.timesPaid > 1) providerProblems.push(`${payout.idempotencyKey} paid ${payout.timesPaid} times`);
    const entry = accepted.get(payout.withdrawalId);
    if (!entry) providerProblems.push(`payout ${payout.idempotencyKey} is for ${payout.withdrawalId}, which no client was told was accepted`);
    else if (BigInt(payout.amount) !== entry.amount || payout.currency !== entry.currency) {
      providerProblems.push(`payout ${payout.idempotencyKey} is ${payout.amount} ${payout.currency}, the withdrawal ${entry.amount} ${entry.currency}`);
    }
  }
  for (const [withdrawalId, payouts] of payoutsOf) {
    const paid = payouts.reduce((sum, payout) => sum + payout.timesPaid, 0);
    if (paid > 1) providerProblems.push(`${withdrawalId} paid ${paid} times over attempts ${payouts.map((payout) => payout.attempt).join(', ')}`);
  }
  const paidCount = [...payoutsOf.values()].filter((payouts) => payouts.some((payout) => payout.timesPaid > 0)).length;
  check(
    'the provider paid every withdrawal at most once (timesPaid ≤ 1 per payout and per withdrawal)',
    providerProblems,
    `${provider.payouts.length} payouts for ${payoutsOf.size} withdrawals, ${paidCount} paid, max submissions of one payout ${Math.max(0, ...provider.payouts.map((payout) => payout.submissions))}`,
  );

  const resolutions = new Map<string, StoredEvent[]>();
  for (const event of events) {
    if (event.type === 'DebitSettled' || event.type === 'DebitReversed' || event.type === 'DebitReturned') {
      const id = String(event.data.withdrawalId);
      resolutions.set(id, [...(resolutions.get(id) ?? []), event]);
    }
  }
  const moneyProblems: string[] = [];
  const paidAmount = new Map<string, bigint>();
  let settled = 0;
  let reversed = 0;
  for (const entry of accepted.values()) {
    const payouts = payoutsOf.get(entry.withdrawalId) ?? [];
    const paid = payouts.some((payout) => payout.timesPaid > 0);
    const returned = payouts.some((payout) => payout.status === 'returned');
    const types = (resolutions.get(entry.withdrawalId) ?? []).map((event) => event.type);
    const expected = paid ? (returned ? ['DebitSettled', 'DebitReturned'] : ['DebitSettled']) : ['DebitReversed'];
    if (!isDeepStrictEqual(types, expected)) {
      moneyProblems.push(
        `${entry.withdrawalId}: provider ${paid ? 'paid' : 'did not pay'} (${payouts.map((payout) => `${payout.attempt}:${payout.status}`).join(', ') || 'no payout'}), ledger has [${types.join(', ')}]`,
      );
    }
    if (paid && !returned) {
      paidAmount.set(entry.accountId, (paidAmount.get(entry.accountId) ?? 0n) + entry.amount);
      settled += 1;
    } else if (!paid) reversed += 1;
  }
  check(
    'every paid withdrawal is settled in the ledger and every unpaid one reversed, each hold resolved once',
    moneyProblems,
    `${settled} paid and DebitSettled, ${reversed} not paid and DebitReversed, none pending`,
  );

  const cancelProblems: string[] = [];
  const cancelled = records.filter((record) => record.kind === 'cancel' && record.status === 202);
  for (const record of cancelled) {
    const withdrawalId = String(record.response!.withdrawalId);
    if ((payoutsOf.get(withdrawalId) ?? []).some((payout) => payout.timesPaid > 0)) cancelProblems.push(`${withdrawalId} was cancelled (202) and paid`);
    const reversal = (resolutions.get(withdrawalId) ?? []).find((event) => event.type === 'DebitReversed');
    if (reversal?.data.reason !== 'withdrawal_cancelled') cancelProblems.push(`${withdrawalId} was cancelled (202) but its hold was ${reversal ? `reversed for ${String(reversal.data.reason)}` : 'not reversed'}`);
  }
  check('a withdrawal cancelled with 202 was never paid and its hold went back', cancelProblems, `${new Set(cancelled.map((record) => String(record.response!.withdrawalId))).size} withdrawals cancelled`);

  // --- The read API: what users see ------------------------------------------------------
  const readProblems: string[] = [];
  const statuses: Record<string, number> = {};
  await inBatches([...accepted.values()], 8, async (entry) => {
    const { status, body } = await readJson<{ status?: string }>(evidence.readApi.url, evidence.readApi.apiKey, `/v1/withdrawals/${entry.withdrawalId}`);
    if (status !== 200) return void readProblems.push(`GET /v1/withdrawals/${entry.withdrawalId}: ${status}`);
    statuses[body.status!] = (statuses[body.status!] ?? 0) + 1;
    const paid = (payoutsOf.get(entry.withdrawalId) ?? []).some((payout) => payout.timesPaid > 0);
    if (body.status !== (paid ? 'settled' : 'reversed')) readProblems.push(`${entry.withdrawalId} is ${body.status} in the read API, the provider ${paid ? 'paid' : 'did not pay'} it`);
  });
  check(
    'the read API shows every accepted withdrawal at rest: settled when paid, reversed when not',
    readProblems,
    Object.entries(statuses).map(([status, count]) => `${count} ${status}`).join(', ') || 'no withdrawals',
  );

  const depositsOf = new Map<string, bigint>();
  for (const record of records) {
    if (record.kind === 'deposit' && record.status === 201) {
      const accountId = record.path.split('/')[3]!;
      depositsOf.set(accountId, (depositsOf.get(accountId) ?? 0n) + BigInt(String(record.body.amount)));
    }
  }
  const balanceProblems: string[] = [];
  await inBatches([...acceptedAccounts], 8, async (accountId) => {
    const { status, body } = await readJson<{ available?: string; pending?: string }>(evidence.readApi.url, evidence.readApi.apiKey, `/v1/accounts/${accountId}/balance`);
    const expected = (depositsOf.get(accountId) ?? 0n) - (paidAmount.get(accountId) ?? 0n);
    if (status !== 200 || body.available !== expected.toString() || body.pending !== '0') {
      balanceProblems.push(`${accountId}: ${status} available ${body.available} pending ${body.pending}, expected available ${expected} pending 0`);
    }
  });
  check(
    "every account holds what the client deposited minus what the provider paid out, nothing pending",
    balanceProblems,
    `${acceptedAccounts.size} balances read from the read API`,
  );

  // --- The audit: ledger verify --------------------------------------------------------
  const { verify } = evidence;
  const report = verify.report;
  const verifyProblems: string[] = [];
  if (verify.exitCode !== 0) verifyProblems.push(`exit ${verify.exitCode}: ${verify.stderr.slice(-500)} ${verify.stdoutHead}`);
  if (report) {
    if (!report.ok) verifyProblems.push(`ok false: ${report.differenceCount} differences, ${report.violationCount} violations: ${JSON.stringify([...report.differences.slice(0, 3), ...report.violations.slice(0, 3)])}`);
    for (const compared of report.compared) if (compared.behind !== '0') verifyProblems.push(`${compared.projection} compared ${compared.behind} events behind the head`);
  } else verifyProblems.push('no JSON report');
  check(
    '`ledger verify` exits 0: every invariant holds and every read model equals the replayed log, at the head',
    verifyProblems,
    report ? `${report.events} events, ${report.accounts} accounts, ${report.withdrawals} withdrawals replayed; ${report.compared.map((c) => c.projection).join(', ')} compared at ${report.head}` : '',
  );
  const sums = Object.entries(report?.ledgerSums ?? {});
  check(
    'per currency, the sum over all ledger accounts is zero',
    report ? sums.filter(([, sum]) => sum !== '0').map(([currency, sum]) => `${currency} ${sum}`) : ['no verify report'],
    sums.map(([currency, sum]) => `${currency} ${sum}`).join(', '),
  );

  // --- Nothing left for a person, everything back up ------------------------------------
  check(
    'the system came to rest: drained, no open manual review, no payout conflict, every process running',
    [
      ...(evidence.drained ? [] : ['the drain timed out before every checkpoint reached the head with nothing in flight']),
      ...(evidence.openReviews > 0 ? [`${evidence.openReviews} manual reviews still open`] : []),
      ...evidence.conflicts.map((conflict) => `conflict ${conflict.kind}/${conflict.code} on ${conflict.withdrawal_id ?? '?'}`),
      ...evidence.notRunning.map((component) => `${component} is not running`),
    ],
    'every checkpoint at the head, no attempt waiting, provider idle',
  );
  return checks;
}

async function inBatches<T>(items: readonly T[], width: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await run(items[next++]!);
    }),
  );
}
