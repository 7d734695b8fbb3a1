import { deriveEventId, deriveId, EVENT_ID_NAMESPACE, IDEMPOTENCY_ID_NAMESPACE } from './derive-id';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deriveId', () => {
  it('is a UUID v5, the same on every call for one scope, key and purpose', () => {
    const id = deriveId('key_live_1', 'order-42', 'withdrawal');
    expect(id).toMatch(UUID_V5);
    expect(deriveId('key_live_1', 'order-42', 'withdrawal')).toBe(id);
  });

  it('is pinned: a changed namespace would give old keys new entity ids', () => {
    expect(IDEMPOTENCY_ID_NAMESPACE).toBe('737fa701-0597-48d8-919f-c0e277d28aaf');
    expect(deriveId('key_live_1', 'order-42', 'withdrawal')).toBe('fa49bd32-fbb2-59db-a1aa-9c4e09c80c16');
  });

  it('differs per purpose, per key and per scope', () => {
    const ids = new Set([
      deriveId('s1', 'k1', 'withdrawal'),
      deriveId('s1', 'k1', 'deposit'),
      deriveId('s1', 'k1', 'event:WithdrawalRequested'),
      deriveId('s1', 'k2', 'withdrawal'),
      deriveId('s2', 'k1', 'withdrawal'),
    ]);
    expect(ids.size).toBe(5);
  });

  it('refuses parts that would make the name ambiguous', () => {
    expect(() => deriveId('s\n1', 'k', 'p')).toThrow(TypeError);
    expect(() => deriveId('s', '', 'p')).toThrow(TypeError);
    expect(() => deriveId('s', 'k', '')).toThrow(TypeError);
  });
});

describe('deriveEventId', () => {
  it('is stable per causation and step, and distinct across steps', () => {
    const causation = 'b0e4c1c8-86a4-4d60-9a51-2f3bd3b0f5a6';
    expect(deriveEventId(causation, 'submit')).toBe(deriveEventId(causation, 'submit'));
    expect(deriveEventId(causation, 'submit')).not.toBe(deriveEventId(causation, 'settle'));
    expect(deriveEventId(causation, 'submit')).toMatch(UUID_V5);
  });

  it('lives in its own namespace and refuses ambiguous parts', () => {
    expect(EVENT_ID_NAMESPACE).not.toBe(IDEMPOTENCY_ID_NAMESPACE);
    expect(() => deriveEventId('a', 'b\nc')).toThrow(TypeError);
  });
});
