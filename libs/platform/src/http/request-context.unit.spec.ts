import { generateTraceparent, parseTraceparent } from './request-context';

describe('W3C traceparent', () => {
  const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('accepts a valid version-00 header as it is', () => {
    expect(parseTraceparent(valid)).toBe(valid);
    expect(parseTraceparent(` ${valid} `)).toBe(valid);
  });

  it('reads a later version as 00, dropping its extra fields', () => {
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')).toBe(valid);
    expect(parseTraceparent('cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
    );
  });

  it.each([
    ['missing', undefined],
    ['duplicated (joined by Node)', [valid, valid]],
    ['empty', ''],
    ['upper-case hex', valid.toUpperCase()],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['version 00 with extra fields', `${valid}-extra`],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['a bad separator', '00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ])('rejects %s', (_name, header) => {
    expect(parseTraceparent(header as string | undefined)).toBeUndefined();
  });

  it('generates valid, sampled, random traceparents', () => {
    const generated = generateTraceparent();
    expect(generated).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parseTraceparent(generated)).toBe(generated);
    expect(generateTraceparent()).not.toBe(generated);
  });
});
