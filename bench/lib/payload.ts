import { randomUUID } from 'node:crypto';
import type { EventMetadata, NewEvent } from '@ledger/event-store';

/**
 * The events the benchmarks write look like the ledger's own: a deposit with its two
 * postings and the usual metadata, about 550 bytes of JSON. The roofline inserts a
 * payload of the same size so the two compare like with like.
 */
export function depositEvent(extra: Record<string, unknown> = {}): NewEvent {
  const accountId = randomUUID();
  return {
    id: randomUUID(),
    type: 'FundsDeposited',
    data: {
      accountId,
      depositId: randomUUID(),
      amount: '1050',
      currency: 'EUR',
      reference: 'bench-deposit',
      postings: [
        { account: `account-${accountId}`, side: 'credit', amount: '1050', currency: 'EUR' },
        { account: 'external:deposits', side: 'debit', amount: '1050', currency: 'EUR' },
      ],
      occurredAt: '2026-11-23T10:00:00.000Z',
      ...extra,
    },
    metadata: benchMetadata(),
  };
}

function benchMetadata(): EventMetadata {
  return { correlationId: randomUUID(), causationId: randomUUID(), principal: 'bench' };
}

/** One serialised event (data and metadata together), the size of what an append stores. */
export function rooflinePayload(): string {
  const event = depositEvent();
  return JSON.stringify({ data: event.data, metadata: event.metadata });
}

export function payloadBytes(): number {
  const event = depositEvent();
  return Buffer.byteLength(JSON.stringify(event.data)) + Buffer.byteLength(JSON.stringify(event.metadata));
}
