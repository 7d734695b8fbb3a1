import { checkGlobalTail, checkStreamTail, type ProposedEvent } from './idempotency';
import { canonicalJson, type EsdbRecordedEvent } from './recorded-event';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';

function proposed(id: string, data: unknown = { n: 1 }, type = 'Deposited'): ProposedEvent {
  return { id, type, canonicalData: canonicalJson(data) };
}

function stored(id: string, revision: bigint, data: unknown = { n: 1 }, type = 'Deposited', streamId = 'account-1'): EsdbRecordedEvent {
  return { streamId, id, type, revision, created: new Date(0), data, metadata: {} };
}

describe('checkStreamTail', () => {
  it('finds nothing when no id of the append is stored', () => {
    expect(checkStreamTail([proposed(A)], [stored(B, 0n)])).toEqual({ kind: 'absent' });
  });

  it('recognises a repeat of the whole append and reports its last event', () => {
    const tail = [stored(C, 2n), stored(B, 1n, { n: 2 }), stored(A, 0n)];
    const result = checkStreamTail([proposed(A), proposed(B, { n: 2 })], tail);
    expect(result).toMatchObject({ kind: 'idempotent', last: { id: B, revision: 1n } });
  });

  it('compares data as JSON values, ignoring key order as jsonb equality does', () => {
    const result = checkStreamTail([proposed(A, { a: 1, b: [1, 2] })], [stored(A, 0n, { b: [1, 2], a: 1 })]);
    expect(result.kind).toBe('idempotent');
    expect(checkStreamTail([proposed(A, { b: [2, 1] })], [stored(A, 0n, { b: [1, 2] })]).kind).toBe('conflict');
  });

  it('calls the same id with other data or another type a conflict', () => {
    expect(checkStreamTail([proposed(A, { n: 2 })], [stored(A, 0n, { n: 1 })])).toMatchObject({
      kind: 'conflict',
      eventId: A,
    });
    expect(checkStreamTail([proposed(A, { n: 1 }, 'Withdrawn')], [stored(A, 0n)])).toMatchObject({
      kind: 'conflict',
      eventId: A,
    });
  });

  it('calls a partial repeat a conflict, on the first stored id of the append', () => {
    expect(checkStreamTail([proposed(C), proposed(A)], [stored(A, 0n)])).toMatchObject({
      kind: 'conflict',
      eventId: A,
      detail: expect.stringContaining('only part'),
    });
  });

  it('calls the same ids in another order, or not consecutive, a conflict', () => {
    const reordered = checkStreamTail([proposed(B), proposed(A)], [stored(B, 1n), stored(A, 0n)]);
    expect(reordered).toMatchObject({ kind: 'conflict', eventId: B });
    const apart = checkStreamTail([proposed(A), proposed(B)], [stored(B, 2n), stored(C, 1n), stored(A, 0n)]);
    expect(apart.kind).toBe('conflict');
  });

  it('matches ids stored in upper case', () => {
    expect(checkStreamTail([proposed(A)], [stored(A.toUpperCase(), 0n)]).kind).toBe('idempotent');
  });
});

describe('checkGlobalTail', () => {
  it('reports an id stored in another stream, whatever its content', () => {
    const tail = [stored(A, 0n, { n: 1 }, 'Deposited', 'account-2')];
    expect(checkGlobalTail([proposed(A)], tail, 'account-1')).toEqual({
      kind: 'other_stream',
      eventId: A,
      streamName: 'account-2',
    });
  });

  it('reports the first such id in the order of the append', () => {
    const tail = [stored(B, 0n, {}, 'Deposited', 'account-2'), stored(A, 0n, {}, 'Deposited', 'account-3')];
    expect(checkGlobalTail([proposed(A), proposed(B)], tail, 'account-1')).toMatchObject({ eventId: A });
  });

  it('notices an id that reached the target stream after its tail was read', () => {
    expect(checkGlobalTail([proposed(A)], [stored(A, 3n)], 'account-1')).toEqual({ kind: 'same_stream' });
  });

  it('ignores system events and unrelated ids', () => {
    const tail = [stored(A, 0n, {}, '$metadata', '$$account-2'), stored(B, 0n, {}, 'Deposited', 'account-2')];
    expect(checkGlobalTail([proposed(A)], tail, 'account-1')).toEqual({ kind: 'absent' });
  });
});
