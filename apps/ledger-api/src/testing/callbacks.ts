import { createHmac, randomUUID } from 'node:crypto';
import { HttpPaymentChannel, sandboxChannelConfig, unixSeconds, webhookHeaders } from '@ledger/payments';
import type { CallbackChannel } from '../callbacks/callback-channels';
import type { Answer } from './ledger-api-harness';

/** A channel that only takes callbacks here: its provider address is never called by the command API. */
export function callbackChannel(name: string, webhookSecrets: readonly string[]): CallbackChannel {
  return new HttpPaymentChannel(
    sandboxChannelConfig({ name, baseUrl: 'http://127.0.0.1:9', apiKey: 'unused-by-the-command-api', webhookSecrets }),
  );
}

/** A provider payload in the documented shape, as the exact text a provider would send. */
export function callbackPayload(overrides: { type?: string; data?: Record<string, unknown>; timestamp?: string } = {}): string {
  return JSON.stringify({
    type: overrides.type ?? 'payout.settled',
    timestamp: overrides.timestamp ?? '2026-11-23T10:15:00.000Z',
    data: {
      idempotencyKey: `wd-${randomUUID()}:1`,
      withdrawalId: randomUUID(),
      attempt: 1,
      providerReference: `psp_${randomUUID()}`,
      amount: '1050',
      currency: 'EUR',
      ...overrides.data,
    },
  });
}

export interface Delivery {
  /** The webhook-id; a fresh one by default. */
  id?: string;
  /** Unix seconds; now by default. */
  timestamp?: number;
  /** Secrets to sign with (one signature entry each). */
  secrets: readonly string[];
  /** Sent instead of the signed body (to prove the signature covers the bytes). */
  sendBody?: string | Buffer;
  /** Replace or (with undefined) drop headers after signing. */
  headers?: Record<string, string | undefined>;
}

/** Signs `body` as the provider does (Standard Webhooks, `@ledger/payments`) and POSTs it. */
export async function deliver(
  baseUrl: string,
  channel: string,
  body: string | Buffer,
  delivery: Delivery,
): Promise<Answer & { webhookId: string }> {
  const webhookId = delivery.id ?? `msg_${randomUUID()}`;
  const timestamp = delivery.timestamp ?? unixSeconds(new Date());
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...webhookHeaders(delivery.secrets, webhookId, timestamp, body),
  };
  for (const [name, value] of Object.entries(delivery.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  const response = await fetch(`${baseUrl}/v1/callbacks/${channel}`, {
    method: 'POST',
    headers,
    body: delivery.sendBody ?? body,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers, webhookId };
}

/**
 * The Standard Webhooks signature computed here from the specification with node:crypto
 * alone, so a test can show that the endpoint accepts what any conforming provider sends,
 * not only what our own signer produces.
 */
export function specSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}
