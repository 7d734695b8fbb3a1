import { checkForgeryLeftNoTrace, sendForgery } from './forgeries';
import { cleanRebuild, compareDumps, compareWithReplay, dumpReadModels } from './read-model-comparison';
import { FORGERY_KINDS } from './simulation-plan';
import { describeTrack, type Simulation } from './simulation';

/**
 * The checks that need the system at rest (`Simulation.quiesce` first). The ones that must
 * hold at every global position ran during the replay, event by event.
 */
export async function runFinalChecks(simulation: Simulation): Promise<void> {
  const { world, replay, findings } = simulation;
  await replay.catchUp(world.store);

  // S1: money conserved, at rest too (the replay checked every event on the way).
  for (const [currency, sum] of replay.sums) {
    if (sum !== 0n) findings.add('money_conserved', `currency ${currency}`, `the ledger sums to ${sum.toString()} at rest`);
  }

  // S2: every hold resolved exactly once, consistently with the withdrawal's own stream.
  for (const track of replay.withdrawals.values()) {
    const subject = `withdrawal ${track.withdrawalId}`;
    if (track.debited !== 1 || track.requested !== 1) {
      findings.add('holds_resolved_once', subject, `${track.requested} WithdrawalRequested and ${track.debited} Debited, not 1 and 1 (${describeTrack(track)})`);
      continue;
    }
    const resolutions = track.settled.length + track.reversed.length;
    if (resolutions !== 1) {
      findings.add('holds_resolved_once', subject, `resolved ${resolutions} times at rest (${describeTrack(track)})`);
      continue;
    }
    if (track.returned.length > (track.settled.length > 0 ? 1 : 0)) {
      findings.add('holds_resolved_once', subject, `DebitReturned ${track.returned.length} times (${describeTrack(track)})`);
    }
    const status = track.state.status;
    const expected =
      status === 'settled'
        ? { settled: 1, reversed: 0, returned: 0 }
        : status === 'returned'
          ? { settled: 1, reversed: 0, returned: 1 }
          : status === 'failed' || status === 'cancelled'
            ? { settled: 0, reversed: 1, returned: 0 }
            : null;
    if (expected === null) {
      findings.add('holds_resolved_once', subject, `the hold is resolved but the withdrawal is still ${status} (${describeTrack(track)})`);
    } else if (track.settled.length !== expected.settled || track.reversed.length !== expected.reversed || track.returned.length !== expected.returned) {
      findings.add('holds_resolved_once', subject, `the money does not match the withdrawal's ${status} (${describeTrack(track)})`);
    }
    const settled = track.settled[0];
    if (settled !== undefined && settled.channel !== track.state.channel) {
      findings.add('holds_resolved_once', subject, `settled to payouts:settled:${settled.channel}, but the paying attempt was on ${String(track.state.channel)}`);
    }
  }
  for (const accountId of replay.accounts.keys()) {
    const currency = replay.accounts.get(accountId)!.currency;
    const pending = replay.balance(`user:${accountId}:pending`, currency);
    if (pending !== 0n) findings.add('holds_resolved_once', `account ${accountId}`, `${pending.toString()} ${currency} still held at rest`);
  }

  // S3: no withdrawal paid twice; the ledger's settlements are the providers' payments.
  const payouts = simulation.providerPayouts();
  const settledByChannel = new Map<string, bigint>();
  for (const [withdrawalId, list] of payouts) {
    const track = replay.withdrawals.get(withdrawalId);
    const subject = `withdrawal ${withdrawalId}`;
    for (const payout of list) {
      if (payout.timesPaid > 1) findings.add('paid_at_most_once', subject, `${payout.channel} paid ${payout.idempotencyKey} ${payout.timesPaid} times`);
      if (payout.status === 'settled') {
        const key = `${payout.channel}/${payout.currency}`;
        settledByChannel.set(key, (settledByChannel.get(key) ?? 0n) + BigInt(payout.amount));
      }
      if (track === undefined) {
        findings.add('paid_at_most_once', subject, `${payout.channel} holds ${payout.idempotencyKey} for a withdrawal the ledger never requested`);
      } else if (BigInt(payout.amount) !== track.amount || payout.currency !== track.currency) {
        findings.add('paid_at_most_once', subject, `${payout.channel} holds ${payout.amount} ${payout.currency}, the ledger ${track.amount.toString()} ${track.currency}`);
      }
    }
    const paid = list.filter((payout) => payout.timesPaid > 0);
    if (paid.length > 1) {
      findings.add('paid_at_most_once', subject, `PAID ${paid.length} TIMES: ${paid.map((payout) => `${payout.channel} ${payout.idempotencyKey} (${payout.status})`).join(', ')}`);
    }
  }
  for (const track of replay.withdrawals.values()) {
    const subject = `withdrawal ${track.withdrawalId}`;
    const paid = (payouts.get(track.withdrawalId) ?? []).filter((payout) => payout.timesPaid > 0);
    const ledgerSettled = track.settled.length > 0;
    if (ledgerSettled !== (paid.length > 0)) {
      findings.add(
        'paid_at_most_once',
        subject,
        `the ledger ${ledgerSettled ? 'settled it' : 'did not settle it'}, the providers paid it ${paid.length} time(s) (${describeTrack(track)})`,
      );
      continue;
    }
    const payout = paid[0];
    if (payout === undefined) continue;
    if (track.settled[0]!.channel !== payout.channel) {
      findings.add('paid_at_most_once', subject, `the ledger settled it on ${track.settled[0]!.channel}, ${payout.channel} paid it`);
    }
    if ((payout.status === 'returned') !== (track.returned.length > 0)) {
      findings.add(
        'paid_at_most_once',
        subject,
        `${payout.channel} says ${payout.status}, the ledger ${track.returned.length > 0 ? 'booked a return' : 'booked no return'} (${describeTrack(track)})`,
      );
    }
    const recorded = track.stream.filter((event) => event.type === 'Settled');
    for (const event of recorded) {
      const data = event.data as { attempt: number; providerReference: string | null };
      if (data.attempt !== payout.attempt || (data.providerReference !== null && data.providerReference !== payout.providerReference)) {
        findings.add('paid_at_most_once', subject, `Settled names attempt ${data.attempt} ${String(data.providerReference)}, ${payout.channel} paid attempt ${payout.attempt} ${payout.providerReference}`);
      }
    }
  }
  // The channels' settlement accounts hold exactly what the providers paid and kept.
  const channelCurrencies = new Set<string>([...settledByChannel.keys()]);
  for (const key of replay.balances.keys()) {
    const match = /^([A-Z]{3})\/payouts:settled:(.+)$/.exec(key);
    if (match) channelCurrencies.add(`${match[2]}/${match[1]}`);
  }
  for (const key of channelCurrencies) {
    const [channel, currency] = key.split('/') as [string, string];
    const ledger = replay.balance(`payouts:settled:${channel}`, currency);
    const provider = settledByChannel.get(key) ?? 0n;
    if (ledger !== provider) {
      findings.add('paid_at_most_once', `payouts:settled:${channel} ${currency}`, `the ledger holds ${ledger.toString()}, the provider paid out and kept ${provider.toString()}`);
    }
  }

  // S7: one idempotency key, one withdrawal; no withdrawal the client was not told about.
  const accepted = new Map(simulation.clientWithdrawals.filter((item) => item.outcome === 'accepted').map((item) => [item.withdrawalId!, item]));
  for (const item of accepted.values()) {
    const track = replay.withdrawals.get(item.withdrawalId!);
    if (track === undefined) {
      findings.add('api_contract', `withdrawal ${item.withdrawalId}`, `answered 202 for ${item.idempotencyKey} but never written`);
      continue;
    }
    if (track.accountId !== item.accountId || track.amount !== item.amount) {
      findings.add('api_contract', `withdrawal ${item.withdrawalId}`, `written for ${track.accountId} ${track.amount.toString()}, requested for ${item.accountId} ${item.amount.toString()}`);
    }
    const cancelledInLog = track.stream.some((event) => event.type === 'WithdrawalCancelled');
    if (item.cancel?.status === 202 && !(cancelledInLog && track.reversed[0]?.reason === 'withdrawal_cancelled')) {
      findings.add('api_contract', `withdrawal ${item.withdrawalId}`, `cancel answered 202 but the log has no cancellation and reversal (${describeTrack(track)})`);
    }
    if (item.cancel?.status === 409 && cancelledInLog) {
      findings.add('api_contract', `withdrawal ${item.withdrawalId}`, 'cancel answered 409 but the log has a WithdrawalCancelled');
    }
  }
  for (const track of replay.withdrawals.values()) {
    if (!accepted.has(track.withdrawalId)) {
      findings.add('api_contract', `withdrawal ${track.withdrawalId}`, 'in the log, but no client was answered 202 for it');
    }
  }
  if (replay.withdrawals.size !== accepted.size) {
    findings.add('api_contract', 'withdrawals', `${replay.withdrawals.size} in the log, ${accepted.size} accepted over HTTP`);
  }

  // S8: one PayoutInitiated per attempt; each outcome at most once.
  for (const track of replay.withdrawals.values()) {
    const counts = new Map<string, number>();
    for (const event of track.stream) {
      const attempt = (event.data as { attempt?: number }).attempt;
      const key = event.type === 'PayoutInitiated' || event.type === 'PayoutSubmitted' ? `${event.type}#${String(attempt)}` : event.type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const [key, count] of counts) {
      const once = /^(PayoutInitiated|PayoutSubmitted)#/.test(key) || ['Settled', 'PayoutFailed', 'PayoutReturned', 'WithdrawalCancelled'].includes(key);
      if (once && count > 1) findings.add('log_well_formed', `withdrawal ${track.withdrawalId}`, `${key} ${count} times (${describeTrack(track)})`);
    }
  }

  // S5: forged callbacks refused and traceless.
  for (const record of simulation.forgeries) await checkForgeryLeftNoTrace(record, world.store, findings);
  const genuine = new Map<string, { type: string; idempotencyKey: string; providerReference: string }>();
  for (const channel of world.channels) {
    for (const callback of channel.sandbox.ledger().callbacks) {
      const subject = `${channel.name} callback ${callback.webhookId}`;
      if (callback.forged) {
        if (callback.delivered || callback.attempts.some((attempt) => attempt.status !== undefined && attempt.status !== 401)) {
          findings.add('forged_rejected', subject, `the provider's forgery got ${JSON.stringify(callback.attempts.map((attempt) => attempt.status ?? attempt.error))}, not 401`);
        }
        continue;
      }
      for (const attempt of callback.attempts) {
        if (attempt.stale && attempt.status !== undefined && attempt.status !== 401) {
          findings.add('forged_rejected', subject, `a delivery with a 10-minute-old timestamp got ${String(attempt.status ?? attempt.error)}, not 401`);
        }
      }
      genuine.set(`${channel.name}:${callback.webhookId}`, callback);
    }
  }
  for (const recorded of replay.callbacks) {
    const { channel, webhookId, callbackType, idempotencyKey, providerReference } = recorded.data;
    const source = genuine.get(`${channel}:${webhookId}`);
    const subject = `callback ${webhookId} on ${channel} at ${recorded.position.toString()}`;
    if (source === undefined) {
      findings.add('forged_rejected', subject, 'recorded, but no provider sent a genuine message with this id');
    } else if (source.type !== callbackType || source.idempotencyKey !== idempotencyKey || source.providerReference !== providerReference) {
      findings.add('forged_rejected', subject, `recorded as ${callbackType} ${idempotencyKey} ${providerReference}; the provider sent ${source.type} ${source.idempotencyKey} ${source.providerReference}`);
    }
  }

  // S5 at rest and S6: forgeries against a quiet system change no event and no row; the
  // live read models equal a clean rebuild and the independent replay.
  await world.projectionsReach();
  const head = await world.store.headPosition();
  const before = await dumpReadModels(world.database.url);
  let variant = 0;
  for (const kind of FORGERY_KINDS) {
    for (let index = 0; index < 3; index += 1) {
      variant += 1;
      const record = await sendForgery(world, kind, (variant * 0.618_033_988_75) % 1, 9_000_000 + variant);
      if (record === null) continue;
      simulation.forgeries.push(record);
      const { expected, answer } = record;
      if (answer.status !== expected.status || answer.code !== expected.code) {
        findings.add('forged_rejected', `forgery ${kind} ${record.webhookId} at rest`, `answered ${answer.status} ${String(answer.code)}`);
      }
    }
  }
  await world.payoutsIdle();
  if ((await world.store.headPosition()) !== head) {
    findings.add('forged_rejected', 'the log at rest', `forged callbacks moved the head from ${head.toString()} to ${(await world.store.headPosition()).toString()}`);
  }
  await world.projectionsReach();
  compareDumps(await dumpReadModels(world.database.url), before, findings, 'after forged callbacks at rest', 'forged_rejected');
  compareDumps(before, await cleanRebuild(world.store, head), findings, 'live vs clean rebuild');
  await compareWithReplay(world.database.url, replay, findings);

  // S9: every instance stops, the crashed ones too (their connections died; nothing may hang
  // on them), and nothing of theirs stays connected.
  for (const problem of await world.stopComponents()) findings.add('quiescence', 'stopping', problem);
}
