import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { ConfigError } from '../config';
import { createLoggerModule, maskAccountNumber, maskAccountNumbers } from './logging';

describe('account number masking', () => {
  it('keeps the last four characters of a real account number', () => {
    expect(maskAccountNumber('DE89370400440532013000')).toBe('****3000');
    expect(maskAccountNumber('12345678')).toBe('****5678');
  });

  it('masks short and odd values whole', () => {
    expect(maskAccountNumber('1234567')).toBe('****');
    expect(maskAccountNumber('')).toBe('****');
    expect(maskAccountNumber({ nested: 'x' })).toBe('****');
    expect(maskAccountNumber(12345678901)).toBe('****8901');
  });

  it('masks every account-number field, however deep, without touching the original', () => {
    class DestinationDto {
      constructor(readonly accountNumber: string) {}
    }
    const original = {
      withdrawal: { destination: new DestinationDto('DE89370400440532013000'), amount: '1050' },
      batch: [{ account_number: 'GB29NWBK60161331926819' }, { iban: 'FR1420041010050500013M02606' }],
      accountNumber: null,
    };
    const masked = maskAccountNumbers(original);
    expect(masked).toEqual({
      withdrawal: { destination: { accountNumber: '****3000' }, amount: '1050' },
      batch: [{ account_number: '****6819' }, { iban: '****2606' }],
      accountNumber: null,
    });
    expect(original.withdrawal.destination.accountNumber).toBe('DE89370400440532013000');
  });

  it('returns objects without account numbers as they are', () => {
    const object = { a: { b: [1, 2, { c: 'd' }] } };
    expect(maskAccountNumbers(object)).toBe(object);
  });

  it('leaves requests, errors and dates to their serializers, and survives cycles', () => {
    const req = new IncomingMessage(new Socket());
    const error = Object.assign(new Error('x'), { accountNumber: '12345678' });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const object = { req, err: error, at: new Date(0), cyclic };
    expect(maskAccountNumbers(object)).toBe(object);
  });
});

describe('createLoggerModule', () => {
  it('refuses an unknown level with a clear error', () => {
    expect(() => createLoggerModule({ level: 'verbose' })).toThrow(ConfigError);
    expect(() => createLoggerModule({ level: 'verbose' })).toThrow('log level must be one of');
  });
});
