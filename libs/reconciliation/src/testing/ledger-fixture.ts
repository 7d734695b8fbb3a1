import { randomUUID } from 'node:crypto';
import {
  foldEvents,
  withdrawalDecider,
  withdrawalStream,
  type PayoutDestination,
  type WithdrawalCommand,
  type WithdrawalState,
} from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';

/** Test-only: payouts written the way the payout process manager writes them, through the real withdrawal decider. */

const destination: PayoutDestination = {
  type: 'bank_account',
  accountNumber: 'DE89370400440532013000',
  bankCode: 'COBADEFFXXX',
  holderName: 'Ada Lovelace',
};

export interface PayoutSpec {
  withdrawalId: string;
  channel: string;
  amount: bigint;
  currency?: string;
  /** How far the payout got: still with the provider, paid, refused, or paid and returned. */
  outcome: 'processing' | 'settled' | 'failed' | 'returned';
  /** When the ledger recorded the outcome (`Settled.settledAt`, `PayoutFailed.failedAt`). */
  at: string;
  /** When the ledger recorded the return; defaults to `at`. */
  returnedAt?: string;
}

export function providerReferenceOf(withdrawalId: string): string {
  return `psp_${withdrawalId}`;
}

/** Appends the withdrawal stream of one payout; returns the position of its last event. */
export async function recordPayout(store: EventStore, spec: PayoutSpec): Promise<bigint> {
  const principal = 'process:payout-manager';
  const commands: Array<{ command: WithdrawalCommand['type']; data: unknown; now: string }> = [
    {
      command: 'InitiatePayout',
      data: { withdrawalId: spec.withdrawalId, accountId: `acc-${spec.withdrawalId}`, amount: spec.amount, currency: spec.currency ?? 'EUR', channel: spec.channel, destination },
      now: spec.at,
    },
    { command: 'RecordPayoutSubmitted', data: { attempt: 1, providerReference: providerReferenceOf(spec.withdrawalId) }, now: spec.at },
  ];
  if (spec.outcome === 'settled' || spec.outcome === 'returned') {
    commands.push({ command: 'RecordSettlement', data: { attempt: 1, providerReference: null }, now: spec.at });
  }
  if (spec.outcome === 'failed') {
    commands.push({ command: 'RecordPayoutFailure', data: { attempt: 1, providerReference: null, reason: 'account closed' }, now: spec.at });
  }
  if (spec.outcome === 'returned') {
    commands.push({ command: 'RecordPayoutReturned', data: { attempt: 1, providerReference: null, reason: 'beneficiary bank returned it' }, now: spec.returnedAt ?? spec.at });
  }
  let state: WithdrawalState = withdrawalDecider.initialState();
  const events = [];
  for (const { command, data, now } of commands) {
    const decided = withdrawalDecider.decide({ type: command, data, metadata: { now, principal } } as WithdrawalCommand, state);
    state = foldEvents(withdrawalDecider, decided, state);
    events.push(...decided);
  }
  const appended = await store.append(
    withdrawalStream(spec.withdrawalId),
    events.map((event) => ({ id: randomUUID(), type: event.type, data: event.data, metadata: { principal } })),
    { expectedRevision: 'no_stream' },
  );
  return appended.position;
}

/** A statement file: the header, then the given cells per line. */
export function statementFile(lines: ReadonlyArray<readonly [string, string, string, string, string, string]>): string {
  return ['provider_reference,withdrawal_id,amount_minor,currency,settled_date,status', ...lines.map((cells) => cells.join(','))].join('\n') + '\n';
}
