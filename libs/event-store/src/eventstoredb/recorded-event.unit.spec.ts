import type { AllStreamResolvedEvent } from '@eventstore/db-client';
import { EventStoreUnavailable } from '../errors';
import { canonicalJson, fromAllStreamEvent, isSystemEvent, positionOf, type EsdbRecordedEvent } from './recorded-event';

function recorded(overrides: Partial<EsdbRecordedEvent> = {}): EsdbRecordedEvent {
  return {
    streamId: 'account-1',
    id: '00000000-0000-4000-8000-000000000001',
    type: 'Deposited',
    revision: 0n,
    created: new Date(0),
    data: { amount: '100' },
    metadata: { correlationId: 'c' },
    position: { commit: 4_096n, prepare: 4_096n },
    ...overrides,
  };
}

describe('positionOf', () => {
  it('is the commit position', () => {
    expect(positionOf(recorded({ position: { commit: 8_192n, prepare: 4_096n } }))).toBe(8_192n);
  });

  it("refuses the 'no position' sentinel that servers before 22.6 send on stream reads", () => {
    const old = recorded({ position: { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n } });
    expect(() => positionOf(old)).toThrow(EventStoreUnavailable);
    expect(() => positionOf(old)).toThrow(/22\.6/);
  });

  it('falls back to the position of the read result, and refuses when there is none', () => {
    expect(positionOf(recorded({ position: undefined }), 512n)).toBe(512n);
    expect(() => positionOf(recorded({ position: undefined }))).toThrow(EventStoreUnavailable);
  });
});

describe('fromAllStreamEvent', () => {
  it('maps an event of ours, defaulting metadata that is not a JSON object to {}', () => {
    const mapped = fromAllStreamEvent({ event: recorded({ metadata: undefined }) } as unknown as AllStreamResolvedEvent);
    expect(mapped).toEqual({
      id: '00000000-0000-4000-8000-000000000001',
      streamName: 'account-1',
      type: 'Deposited',
      data: { amount: '100' },
      metadata: {},
      streamRevision: 0n,
      globalPosition: 4_096n,
      recordedAt: new Date(0),
    });
  });

  it('hides system events: $ streams, $ types and links', () => {
    for (const event of [
      recorded({ streamId: '$$account-1', type: '$metadata' }),
      recorded({ streamId: '$stats-127.0.0.1:2113' }),
      recorded({ type: '$>' }),
    ]) {
      expect(isSystemEvent(event)).toBe(true);
      expect(fromAllStreamEvent({ event } as unknown as AllStreamResolvedEvent)).toBeUndefined();
    }
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });

  it('never equates binary data with a JSON value', () => {
    expect(canonicalJson(new Uint8Array([123, 125]))).not.toBe(canonicalJson({}));
  });
});
