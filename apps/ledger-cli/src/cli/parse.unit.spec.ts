import { csvField } from '../export/journal-export';
import { isoOfMicros, microsOfIso } from '../verify/rows';
import { EXIT } from './cli-error';
import { formatTable, toJson } from './output';
import { parseLogPoint, parsePositiveInteger } from './parse';

describe('command-line values', () => {
  it('reads digits as a position and anything else as an instant with a zone', () => {
    expect(parseLogPoint('0', '--as-of')).toEqual({ kind: 'position', position: 0n });
    expect(parseLogPoint('9223372036854775807', '--as-of')).toEqual({ kind: 'position', position: 9_223_372_036_854_775_807n });
    const time = parseLogPoint('2026-11-23T10:00:00.5+01:00', '--to');
    expect(time.kind === 'time' && time.time.toISOString()).toBe('2026-11-23T09:00:00.500Z');
    for (const bad of ['007', '2026-11-23', '2026-11-23T10:00:00', 'yesterday', '1e3', '-1', '2026-02-30T10:00:00Z']) {
      expect(() => parseLogPoint(bad, '--from')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
    }
    expect(parsePositiveInteger('5000', '--batch-size')).toBe(5000);
    expect(() => parsePositiveInteger('0', '--batch-size')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
  });
});

describe('output', () => {
  it('writes amounts and positions as digit strings, never as numbers', () => {
    expect(toJson({ amount: 987_654_321_987_654_321n, at: new Date(0) })).toBe('{"amount":"987654321987654321","at":"1970-01-01T00:00:00.000Z"}');
  });

  it('quotes CSV fields as RFC 4180 says', () => {
    expect([csvField('plain'), csvField('wire, "urgent"'), csvField('two\nlines'), csvField(null), csvField(3)]).toEqual([
      'plain',
      '"wire, ""urgent"""',
      '"two\nlines"',
      '',
      '3',
    ]);
  });

  it('pads table columns and keeps each row on one line', () => {
    expect(formatTable(['a', 'column'], [['long value', 'x'], ['y', 'line\nbreak']])).toBe('a           column\nlong value  x\ny           line\\nbreak\n');
  });

  it('converts times to microseconds and back', () => {
    expect(microsOfIso('2026-11-23T10:00:00Z')).toBe('1795428000000000');
    expect(microsOfIso('2026-11-23T10:00:00.0000005Z')).toBe('1795428000000000');
    expect(microsOfIso('2026-11-23T10:00:00.0000015Z')).toBe('1795428000000002');
    expect(microsOfIso('not a time')).toBeNull();
    expect(isoOfMicros('1795428000123456')).toBe('2026-11-23T10:00:00.123456Z');
  });
});
