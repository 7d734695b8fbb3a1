import fc from 'fast-check';
import { readCsv } from './csv';
import { parseStatement, STATEMENT_BYTES_MAX, STATEMENT_HEADER, type StatementError } from './statement';

const DATE = '2026-11-23';
const statement = (...lines: string[]) => [STATEMENT_HEADER, ...lines].join('\n') + '\n';
const errorsOf = (input: string | Uint8Array): Array<Pick<StatementError, 'line' | 'code'>> => {
  const result = parseStatement(input, DATE);
  if (result.ok) throw new Error('expected the statement to be refused');
  return result.errors.map(({ line, code }) => ({ line, code }));
};

describe('readCsv', () => {
  it('reads RFC 4180 quoting: commas, doubled quotes and line breaks inside quotes', () => {
    const { records, errors } = readCsv('a,"b,c","say ""hi""","two\nlines"\r\nnext,,\n');
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b,c', 'say "hi"', 'two\nlines'] },
      { line: 3, fields: ['next', '', ''] },
    ]);
  });

  it('reports every broken line and goes on with the next', () => {
    const { records, errors } = readCsv('ok,1\nb"ad,2\n"x"y,3\nbare\rcr,4\nok,5\n"never closed,6\nok,7\n');
    expect(errors.map(({ line, code }) => [line, code])).toEqual([
      [2, 'quote_in_unquoted_field'],
      [3, 'text_after_closing_quote'],
      [4, 'bare_carriage_return'],
      [6, 'unterminated_quote'],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 5]);
  });

  it('needs no line break after the last record and reads nothing from nothing', () => {
    expect(readCsv('a,b').records).toEqual([{ line: 1, fields: ['a', 'b'] }]);
    expect(readCsv('')).toEqual({ records: [], errors: [] });
  });
});

describe('parseStatement', () => {
  it('parses a statement into lines with their line numbers', () => {
    const result = parseStatement(statement('psp_1,wd-1,2500,EUR,2026-11-23,settled', 'psp_2,wd-2,1,JPY,2026-11-23,returned'), DATE);
    expect(result).toEqual({
      ok: true,
      statement: {
        statementId: expect.stringMatching(/^[0-9a-f]{64}$/),
        normalised: statement('psp_1,wd-1,2500,EUR,2026-11-23,settled', 'psp_2,wd-2,1,JPY,2026-11-23,returned'),
        lines: [
          { line: 2, providerReference: 'psp_1', withdrawalId: 'wd-1', amount: 2500n, currency: 'EUR', settledDate: DATE, status: 'settled' },
          { line: 3, providerReference: 'psp_2', withdrawalId: 'wd-2', amount: 1n, currency: 'JPY', settledDate: DATE, status: 'returned' },
        ],
      },
    });
  });

  it('reports each kind of malformed line with its line number, every one of them, and returns no line', () => {
    const csv = statement(
      'psp_1,wd-1,2500,EUR,2026-11-23,settled', // 2: fine
      'psp_2,wd-2,12.50,EUR,2026-11-23,settled', // 3
      'psp_3,wd-3,-5,EUR,2026-11-23,settled', // 4
      'psp_4,wd-4,0,EUR,2026-11-23,settled', // 5
      'psp_5,wd-5,0100,EUR,2026-11-23,settled', // 6
      'psp_6,wd-6,1000000000000000000,EUR,2026-11-23,settled', // 7
      'psp_7,wd-7,100,eur,2026-11-23,settled', // 8
      'psp_8,wd-8,100,XXX,2026-11-23,settled', // 9
      'psp_9,wd-9,100,EUR,2026-02-30,settled', // 10
      'psp_10,wd-10,100,EUR,2026-11-22,settled', // 11
      'psp_11,wd-11,100,EUR,2026-11-23,pending', // 12
      'psp_12,wd 12,100,EUR,2026-11-23,settled', // 13
      ',wd-13,100,EUR,2026-11-23,settled', // 14
      ' psp_14,wd-14,100,EUR,2026-11-23,settled', // 15
      'psp_15,wd-15,100,EUR,2026-11-23', // 16
      '', // 17
      'psp_17,wd-"17",100,EUR,2026-11-23,settled', // 18
      'psp_18,wd-18,100,EUR,2026-11-23,settled,extra', // 19
      'psp_19,,abc,EURO,yesterday,Settled', // 20: five errors on one line
    );
    expect(errorsOf(csv)).toEqual([
      { line: 3, code: 'amount_not_minor_units' },
      { line: 4, code: 'amount_not_minor_units' },
      { line: 5, code: 'amount_not_positive' },
      { line: 6, code: 'amount_not_minor_units' },
      { line: 7, code: 'amount_exceeds_max' },
      { line: 8, code: 'currency_malformed' },
      { line: 9, code: 'currency_unsupported' },
      { line: 10, code: 'settled_date_malformed' },
      { line: 11, code: 'settled_date_not_statement_date' },
      { line: 12, code: 'status_unknown' },
      { line: 13, code: 'withdrawal_id_malformed' },
      { line: 14, code: 'provider_reference_malformed' },
      { line: 15, code: 'provider_reference_malformed' },
      { line: 16, code: 'field_count' },
      { line: 17, code: 'blank_line' },
      { line: 18, code: 'quote_in_unquoted_field' },
      { line: 19, code: 'field_count' },
      { line: 20, code: 'withdrawal_id_malformed' },
      { line: 20, code: 'amount_not_minor_units' },
      { line: 20, code: 'currency_malformed' },
      { line: 20, code: 'settled_date_malformed' },
      { line: 20, code: 'status_unknown' },
    ]);
  });

  it('says what is wrong in a sentence that starts with the line', () => {
    const result = parseStatement(statement('psp_1,wd-1,2500,EUR,2026-11-23,settled', 'psp_2,wd-2,12.50,EUR,2026-11-23,settled'), DATE);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      {
        line: 3,
        code: 'amount_not_minor_units',
        column: 'amount_minor',
        message: 'line 3: amount_minor "12.50" is not a whole number of minor units (digits only, no sign, decimal point or leading zero)',
      },
    ]);
  });

  it('requires the exact header', () => {
    expect(errorsOf('')).toEqual([{ line: 1, code: 'header_missing' }]);
    expect(errorsOf('psp_1,wd-1,2500,EUR,2026-11-23,settled\n')).toEqual([{ line: 1, code: 'header_mismatch' }]);
    expect(errorsOf(STATEMENT_HEADER.replace('amount_minor', 'amount') + '\n')).toEqual([{ line: 1, code: 'header_mismatch' }]);
    expect(errorsOf(STATEMENT_HEADER + ',note\n')).toEqual([{ line: 1, code: 'header_mismatch' }]);
    expect(errorsOf('"provider_reference\n')).toEqual([{ line: 1, code: 'unterminated_quote' }]);
  });

  it('counts lines in the file, so a quoted line break moves every later line number', () => {
    const csv = statement('"psp\n1",wd-1,2500,EUR,2026-11-23,settled', 'psp_2,wd-2,x,EUR,2026-11-23,settled');
    expect(errorsOf(csv)).toEqual([
      { line: 2, code: 'provider_reference_malformed' },
      { line: 4, code: 'amount_not_minor_units' },
    ]);
  });

  it('refuses bytes that are not UTF-8 on the line they are on, and a file over the size limit unread', () => {
    const bytes = Buffer.concat([Buffer.from(statement('psp_1,wd-1,2500,EUR,2026-11-23,settled')), Buffer.from([0x70, 0xff, 0x2c, 0x0a])]);
    expect(errorsOf(bytes)).toEqual([{ line: 3, code: 'not_utf8' }]);
    expect(errorsOf(Buffer.alloc(STATEMENT_BYTES_MAX + 1, 0x61))).toEqual([{ line: 1, code: 'file_too_large' }]);
  });

  it('lets duplicate lines through: whether a line repeats another is a finding, not a syntax error', () => {
    const result = parseStatement(statement('psp_1,wd-1,2500,EUR,2026-11-23,settled', 'psp_1,wd-1,2500,EUR,2026-11-23,settled'), DATE);
    expect(result.ok && result.statement.lines.length).toBe(2);
  });

  it('gives the same statement id whatever the line endings, quoting, BOM or final line break', () => {
    const id = (text: string | Uint8Array) => {
      const result = parseStatement(text, DATE);
      if (!result.ok) throw new Error(result.errors[0]!.message);
      return result.statement.statementId;
    };
    const plain = statement('psp_1,wd-1,2500,EUR,2026-11-23,settled');
    expect(id(plain.replace(/\n/g, '\r\n'))).toBe(id(plain));
    expect(id(`"provider_reference",withdrawal_id,amount_minor,currency,settled_date,status\n"psp_1","wd-1",2500,EUR,2026-11-23,"settled"`)).toBe(id(plain));
    expect(id(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(plain)]))).toBe(id(plain));
    // Another amount is another statement.
    expect(id(plain.replace('2500', '2501'))).not.toBe(id(plain));
  });

  it('round-trips any valid lines written with RFC 4180 quoting (property)', () => {
    const reference = fc.stringMatching(/^[A-Za-z0-9_ ,"\-./]{1,30}$/).filter((s) => s.trim() === s);
    const record = fc.record({
      providerReference: reference,
      withdrawalId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/),
      amount: fc.bigInt({ min: 1n, max: 999_999_999_999_999_999n }),
      currency: fc.constantFrom('EUR', 'USD', 'JPY', 'BHD'),
      status: fc.constantFrom('settled', 'returned'),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), fc.boolean(), (records, crlf) => {
        const quoteField = (value: string) => (/[",]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
        const body = records.map((r) => [quoteField(r.providerReference), r.withdrawalId, r.amount.toString(), r.currency, DATE, r.status].join(','));
        const text = [STATEMENT_HEADER, ...body].join(crlf ? '\r\n' : '\n');
        const result = parseStatement(text, DATE);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.statement.lines).toEqual(records.map((r, i) => ({ ...r, line: i + 2, settledDate: DATE })));
        // The normalised text parses to the same statement and the same id.
        const again = parseStatement(result.statement.normalised, DATE);
        expect(again.ok && again.statement.statementId).toBe(result.statement.statementId);
      }),
      { numRuns: 200 },
    );
  });
});
