import { bigintColumn } from './entities';
import { CheckpointConflict } from './errors';
import { PROJECTION_LOCK_NAMESPACE, projectionLockKey } from './leadership';
import { createProjections, parseUserLedgerAccount, PROJECTION_NAMES } from './projections';
import { REBUILD_TABLES } from './rebuild';
import { READ_MODEL_TABLES } from './schema';

describe('user ledger accounts', () => {
  it('split into account id and kind, also when the id contains colons', () => {
    expect(parseUserLedgerAccount('user:acc-1:available')).toEqual({ accountId: 'acc-1', kind: 'available' });
    expect(parseUserLedgerAccount('user:a:b:pending')).toEqual({ accountId: 'a:b', kind: 'pending' });
  });

  it('system accounts and malformed names are not user accounts', () => {
    for (const account of ['external:deposits', 'payouts:settled:alpha', 'payouts:in-transit:beta', 'user::available', 'user:x:held']) {
      expect(parseUserLedgerAccount(account)).toBeNull();
    }
  });
});

describe('projection lock keys', () => {
  it('are stable, distinct per projection and its rebuild, and fit PostgreSQL int4', () => {
    const names = [...PROJECTION_NAMES, ...PROJECTION_NAMES.map((name) => REBUILD_TABLES.checkpointName(name))];
    const keys = names.map((name) => projectionLockKey(name));
    expect(new Set(keys.map(([, key]) => key)).size).toBe(names.length);
    for (const [namespace, key] of keys) {
      expect(namespace).toBe(PROJECTION_LOCK_NAMESPACE);
      expect(Number.isInteger(key) && key >= -(2 ** 31) && key < 2 ** 31).toBe(true);
    }
    // FNV-1a of "a": a fixed value, so the key never changes between releases.
    expect(projectionLockKey('a')[1]).toBe(0xe40c292c | 0);
  });
});

describe('projections', () => {
  it('own every read-model table exactly once', () => {
    const owned = createProjections().flatMap((projection) => projection.tables);
    expect([...owned].sort()).toEqual([...READ_MODEL_TABLES].sort());
    expect(createProjections().map((projection) => projection.name)).toEqual([...PROJECTION_NAMES]);
  });

  it('an unknown name is refused with a stable code', () => {
    expect(() => createProjections(['account_balance'])).toThrow(expect.objectContaining({ code: 'unknown_projection' }));
  });
});

describe('column transformers and errors', () => {
  it('bigint columns round-trip beyond 2^53 without rounding', () => {
    const large = 999_999_999_999_999_999n;
    expect(bigintColumn.from(bigintColumn.to(large))).toBe(large);
    expect(bigintColumn.from(null)).toBeNull();
  });

  it('a checkpoint conflict says which projection and which positions', () => {
    const conflict = new CheckpointConflict('withdrawals', 10n, 20n);
    expect(conflict).toMatchObject({
      code: 'checkpoint_conflict',
      details: { projection: 'withdrawals', positionExpected: '10', positionNext: '20' },
    });
  });
});
