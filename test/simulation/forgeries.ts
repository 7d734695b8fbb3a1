import { createHash } from 'node:crypto';
import { callbackStream } from '@ledger/domain';
import type { EventStore } from '@ledger/event-store';
import { unixSeconds, webhookHeaders, WEBHOOK_SECRET_PREFIX } from '@ledger/payments';
import { callbackIdFor } from '../../apps/ledger-api/src';
import type { SandboxLedger } from '../../apps/sandbox-provider/src';
import type { Findings } from './findings';
import { postCallback } from './http-client';
import type { ForgeryKind } from './simulation-plan';
import type { SimulationWorld } from './simulation-world';

type ProviderPayout = SandboxLedger['payouts'][number];

/** A callback the simulation forged, what it expected, and what the endpoint answered. */
export interface ForgeryRecord {
  readonly kind: ForgeryKind;
  readonly channel: string;
  readonly webhookId: string;
  /** The webhook-id is a genuine, already recorded one (a replay with another body). */
  readonly genuineId: boolean;
  readonly rawBody: string;
  readonly withdrawalId: string;
  readonly expected: { status: number; code: string; reason: string | null };
  readonly answer: { status: number; code: string | null; reason: string | null };
}

const CALLBACK_TYPES = ['payout.settled', 'payout.failed', 'payout.returned'] as const;

/** A payout report in the documented shape (docs/payments.md, "Callbacks"). */
function payoutBody(type: string, payout: ProviderPayout, overrides: { amount?: string; attempt?: number } = {}): string {
  return JSON.stringify({
    type,
    timestamp: new Date().toISOString(),
    data: {
      idempotencyKey: payout.idempotencyKey,
      withdrawalId: payout.withdrawalId,
      attempt: overrides.attempt ?? payout.attempt,
      providerReference: payout.providerReference,
      amount: overrides.amount ?? payout.amount,
      currency: payout.currency,
      reason: type === 'payout.failed' || type === 'payout.returned' ? 'forged_by_the_simulation' : null,
    },
  });
}

/** An outcome the provider did NOT report for this payout: accepting it would change state. */
function contradicting(payout: ProviderPayout, variant: number): string {
  const truth = payout.status === 'settled' ? 'payout.settled' : payout.status === 'failed' ? 'payout.failed' : payout.status === 'returned' ? 'payout.returned' : null;
  const others = CALLBACK_TYPES.filter((type) => type !== truth);
  return others[variant % others.length]!;
}

/**
 * Sends one forged callback about a real payout, of the given kind, and records the answer.
 * Each kind is one way an attacker (or a broken proxy) gets a callback wrong; every one must
 * be refused before anything is written:
 *
 * - `wrong_secret`: plausible content, signed with a key we do not hold → 401;
 * - `tampered_body`: signed correctly, then one byte of the amount changed → 401;
 * - `stale_timestamp`: signed correctly, timestamp 10+ minutes old (a captured replay) → 401;
 * - `replayed_id_other_body`: the webhook-id of a genuine recorded callback, another body →
 *   401, never "200 duplicate" (the signature is checked before the dedupe);
 * - `missing_signature`: no `webhook-signature` header → 401;
 * - `malformed_payload`: signed correctly, an amount with a decimal point → 400.
 */
export async function sendForgery(
  world: SimulationWorld,
  kind: ForgeryKind,
  target: number,
  variant: number,
): Promise<ForgeryRecord | null> {
  const ledgers = world.channels.map((channel) => ({ channel, ledger: channel.sandbox.ledger() }));
  const payouts = ledgers.flatMap(({ channel, ledger }) => ledger.payouts.map((payout) => ({ channel, payout })));
  if (payouts.length === 0) return null;
  const { channel, payout } = payouts[Math.min(payouts.length - 1, Math.floor(target * payouts.length))]!;
  const now = unixSeconds(new Date());
  const freshId = `msg_simforged_${world.seed}_${variant}_${kind}`;
  const forgedType = contradicting(payout, variant);
  const body = payoutBody(forgedType, payout);
  let webhookId = freshId;
  let genuineId = false;
  let rawBody = body;
  let headers: Record<string, string>;
  let expected: ForgeryRecord['expected'];
  switch (kind) {
    case 'wrong_secret': {
      const stranger = WEBHOOK_SECRET_PREFIX + createHash('sha256').update(`stranger|${variant}`).digest('base64');
      headers = webhookHeaders(stranger, webhookId, now, body);
      expected = { status: 401, code: 'invalid_signature', reason: 'no_matching_signature' };
      break;
    }
    case 'tampered_body': {
      headers = webhookHeaders(channel.secret, webhookId, now, body);
      rawBody = payoutBody(forgedType, payout, { amount: (BigInt(payout.amount) + 1n).toString() });
      // Same length, one digit changed when the amount does not carry over; either way not what was signed.
      expected = { status: 401, code: 'invalid_signature', reason: 'no_matching_signature' };
      break;
    }
    case 'stale_timestamp':
      headers = webhookHeaders(channel.secret, webhookId, now - 600 - (variant % 3_000), body);
      expected = { status: 401, code: 'invalid_signature', reason: 'stale_timestamp' };
      break;
    case 'replayed_id_other_body': {
      const genuine = ledgers
        .find((entry) => entry.channel === channel)!
        .ledger.callbacks.filter((callback) => !callback.forged && callback.delivered && callback.idempotencyKey === payout.idempotencyKey);
      const original = genuine[variant % Math.max(1, genuine.length)];
      if (original !== undefined) {
        webhookId = original.webhookId;
        genuineId = true;
      }
      // The signature of a body in the genuine callback's shape, sent with another body.
      headers = webhookHeaders(channel.secret, webhookId, now, payoutBody(original?.type ?? 'payout.processing', payout));
      expected = { status: 401, code: 'invalid_signature', reason: 'no_matching_signature' };
      break;
    }
    case 'missing_signature': {
      const { ['webhook-signature']: _dropped, ...rest } = webhookHeaders(channel.secret, webhookId, now, body);
      headers = rest;
      expected = { status: 401, code: 'invalid_signature', reason: 'missing_header' };
      break;
    }
    case 'malformed_payload':
      rawBody = body.replace(`"amount":"${payout.amount}"`, `"amount":"${payout.amount}.50"`);
      headers = webhookHeaders(channel.secret, webhookId, now, rawBody);
      expected = { status: 400, code: 'malformed_callback', reason: 'invalid_field' };
      break;
  }
  const answer = await postCallback(world.apiUrl, channel.name, rawBody, headers);
  const details = answer.body.error?.details as { reason?: unknown } | undefined;
  return {
    kind,
    channel: channel.name,
    webhookId,
    genuineId,
    rawBody,
    withdrawalId: payout.withdrawalId,
    expected,
    answer: {
      status: answer.status,
      code: answer.body.error?.code ?? null,
      reason: typeof details?.reason === 'string' ? details.reason : null,
    },
  };
}

/** The answer was the expected refusal (checked as soon as it comes back). */
export function checkForgeryAnswer(record: ForgeryRecord, findings: Findings): void {
  const { expected, answer } = record;
  if (answer.status !== expected.status || answer.code !== expected.code || (expected.reason !== null && answer.reason !== expected.reason)) {
    findings.add(
      'forged_rejected',
      `forgery ${record.kind} ${record.webhookId} on ${record.channel} about ${record.withdrawalId}`,
      `expected ${expected.status} ${expected.code}/${String(expected.reason)}, got ${answer.status} ${String(answer.code)}/${String(answer.reason)}`,
    );
  }
}

/**
 * Nothing of a refused callback reached the log: a fresh webhook-id has no callback stream,
 * and a genuine id replayed with another body still has exactly its one genuine event.
 */
export async function checkForgeryLeftNoTrace(record: ForgeryRecord, store: EventStore, findings: Findings): Promise<void> {
  const subject = `forgery ${record.kind} ${record.webhookId} on ${record.channel} about ${record.withdrawalId}`;
  const events = await store.readStream(callbackStream(callbackIdFor(record.channel, record.webhookId)));
  const forgedHash = createHash('sha256').update(record.rawBody).digest('hex');
  if (!record.genuineId) {
    if (events.length > 0) findings.add('forged_rejected', subject, `recorded as ${events.length} event(s) at ${events[0]!.globalPosition.toString()}`);
    return;
  }
  if (events.length !== 1) findings.add('forged_rejected', subject, `the genuine callback's stream holds ${events.length} events, not 1`);
  for (const event of events) {
    if ((event.data as { bodySha256?: string }).bodySha256 === forgedHash) {
      findings.add('forged_rejected', subject, `the forged body was recorded at ${event.globalPosition.toString()}`);
    }
  }
}
