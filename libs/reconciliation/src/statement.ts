import { createHash } from 'node:crypto';
import {
  ENTITY_ID_PATTERN,
  isIsoDate,
  parseAmount,
  parseCurrency,
  STATEMENT_LINE_STATUSES,
  type StatementLine,
  type StatementLineStatus,
} from '@ledger/domain';
import { csvField, readCsv, type CsvErrorCode } from './csv';

/**
 * The provider settlement statement (docs/reconciliation.md, "Statement format"): CSV with
 * exactly this header row, then one line per payout booked on the statement's date.
 */
export const STATEMENT_COLUMNS = ['provider_reference', 'withdrawal_id', 'amount_minor', 'currency', 'settled_date', 'status'] as const;

export const STATEMENT_HEADER = STATEMENT_COLUMNS.join(',');

/** Larger files are refused unread: a day's statement is a few hundred kilobytes at most. */
export const STATEMENT_BYTES_MAX = 8 * 1024 * 1024;

/** Provider references: printable text, no surrounding spaces, at most this long. */
export const PROVIDER_REFERENCE_LENGTH_MAX = 200;

export type StatementErrorCode =
  | CsvErrorCode
  | 'file_too_large'
  | 'not_utf8'
  | 'header_missing'
  | 'header_mismatch'
  | 'blank_line'
  | 'field_count'
  | 'provider_reference_malformed'
  | 'withdrawal_id_malformed'
  | 'amount_not_minor_units'
  | 'amount_not_positive'
  | 'amount_exceeds_max'
  | 'currency_malformed'
  | 'currency_unsupported'
  | 'settled_date_malformed'
  | 'settled_date_not_statement_date'
  | 'status_unknown';

/** One reason a statement was refused. `message` starts with `line N: ` and reads on its own. */
export interface StatementError {
  readonly line: number;
  readonly code: StatementErrorCode;
  /** The column at fault, when one is. */
  readonly column: (typeof STATEMENT_COLUMNS)[number] | null;
  readonly message: string;
}

export interface ParsedStatement {
  /** SHA-256 (hex) of `normalised`: the statement's id. */
  readonly statementId: string;
  /** The statement re-written canonically: LF line breaks, minimal quoting, no BOM. */
  readonly normalised: string;
  readonly lines: readonly StatementLine[];
}

export type StatementParseResult =
  | { readonly ok: true; readonly statement: ParsedStatement }
  | { readonly ok: false; readonly errors: readonly StatementError[] };

const PRINTABLE_TEXT = /^[^\p{Cc}\p{Cf}]+$/u;

/**
 * Parses a statement for `statementDate` and checks every line. All or nothing: when any line
 * is wrong the result lists every error, each with its line number, and no line is
 * returned, so an import can never take half a file.
 *
 * Duplicate lines are not errors here: they are well-formed, and whether a line repeats
 * another is a finding (`duplicate_line`) the operator must see beside the others.
 */
export function parseStatement(input: string | Uint8Array, statementDate: string): StatementParseResult {
  if (!isIsoDate(statementDate)) throw new RangeError(`a statement date is YYYY-MM-DD, got ${JSON.stringify(statementDate)}`);
  const decoded = decode(input);
  if (!decoded.ok) return { ok: false, errors: [decoded.error] };
  const text = decoded.text.startsWith('\uFEFF') ? decoded.text.slice(1) : decoded.text;

  const csv = readCsv(text);
  const errors: StatementError[] = csv.errors.map((e) => fail(e.line, e.code, null, e.message));
  const [header, ...rows] = csv.records;
  if (header === undefined || header.line !== 1) {
    if (errors.every((e) => e.line !== 1)) {
      errors.unshift(fail(1, 'header_missing', null, `the header row is missing; the first line must be exactly ${STATEMENT_HEADER}`));
    }
    return { ok: false, errors: sortByLine(errors) };
  }
  if (header.fields.join(',') !== STATEMENT_HEADER || header.fields.length !== STATEMENT_COLUMNS.length) {
    errors.push(fail(1, 'header_mismatch', null, `the header must be exactly ${STATEMENT_HEADER} (got ${quote(header.fields.join(','))})`));
  }

  const lines: StatementLine[] = [];
  for (const row of rows) {
    const parsed = parseLine(row.line, row.fields, statementDate);
    if ('errors' in parsed) errors.push(...parsed.errors);
    else lines.push(parsed.line);
  }
  if (errors.length > 0) return { ok: false, errors: sortByLine(errors) };

  const normalised = [header.fields, ...rows.map((row) => row.fields)].map((fields) => fields.map(csvField).join(',') + '\n').join('');
  return {
    ok: true,
    statement: { statementId: createHash('sha256').update(normalised, 'utf8').digest('hex'), normalised, lines },
  };
}

function parseLine(line: number, fields: readonly string[], statementDate: string): { line: StatementLine } | { errors: StatementError[] } {
  if (fields.length === 1 && fields[0] === '') {
    return { errors: [fail(line, 'blank_line', null, 'the line is blank; every line after the header is one payout')] };
  }
  if (fields.length !== STATEMENT_COLUMNS.length) {
    return { errors: [fail(line, 'field_count', null, `expected ${STATEMENT_COLUMNS.length} fields, found ${fields.length}`)] };
  }
  const [providerReference, withdrawalId, amountText, currencyText, settledDate, statusText] = fields as [string, string, string, string, string, string];
  const errors: StatementError[] = [];

  if (
    providerReference.length === 0 ||
    providerReference.length > PROVIDER_REFERENCE_LENGTH_MAX ||
    !PRINTABLE_TEXT.test(providerReference) ||
    providerReference.trim() !== providerReference
  ) {
    errors.push(
      fail(
        line,
        'provider_reference_malformed',
        'provider_reference',
        `provider_reference ${quote(providerReference)} must be 1 to ${PROVIDER_REFERENCE_LENGTH_MAX} printable characters without surrounding spaces`,
      ),
    );
  }
  if (!ENTITY_ID_PATTERN.test(withdrawalId)) {
    errors.push(
      fail(line, 'withdrawal_id_malformed', 'withdrawal_id', `withdrawal_id ${quote(withdrawalId)} must be 1 to 100 letters, digits or _.:- characters`),
    );
  }

  const amount = parseAmount(amountText);
  if (!amount.ok) {
    const code = amount.error.code === 'amount_exceeds_max' ? 'amount_exceeds_max' : 'amount_not_minor_units';
    const message =
      code === 'amount_exceeds_max'
        ? `amount_minor ${quote(amountText)} exceeds the largest amount the ledger holds`
        : `amount_minor ${quote(amountText)} is not a whole number of minor units (digits only, no sign, decimal point or leading zero)`;
    errors.push(fail(line, code, 'amount_minor', message));
  } else if (amount.value === 0n) {
    errors.push(fail(line, 'amount_not_positive', 'amount_minor', 'amount_minor "0" is not a payout; amounts are positive'));
  }

  const currency = parseCurrency(currencyText);
  if (!currency.ok) {
    errors.push(
      currency.error.code === 'unsupported_currency'
        ? fail(line, 'currency_unsupported', 'currency', `currency ${quote(currencyText)} is not supported by the ledger`)
        : fail(line, 'currency_malformed', 'currency', `currency ${quote(currencyText)} is not a three-letter upper-case ISO-4217 code`),
    );
  }

  if (!isIsoDate(settledDate)) {
    errors.push(fail(line, 'settled_date_malformed', 'settled_date', `settled_date ${quote(settledDate)} is not a calendar date YYYY-MM-DD`));
  } else if (settledDate !== statementDate) {
    errors.push(
      fail(line, 'settled_date_not_statement_date', 'settled_date', `settled_date ${settledDate} is not the statement date ${statementDate}`),
    );
  }

  if (!isLineStatus(statusText)) {
    errors.push(fail(line, 'status_unknown', 'status', `status ${quote(statusText)} is not one of ${STATEMENT_LINE_STATUSES.join(', ')}`));
  }

  if (errors.length > 0 || !amount.ok || !currency.ok || !isLineStatus(statusText)) return { errors };
  return {
    line: { line, providerReference, withdrawalId, amount: amount.value, currency: currency.value, settledDate, status: statusText },
  };
}

function decode(input: string | Uint8Array): { ok: true; text: string } | { ok: false; error: StatementError } {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (bytes > STATEMENT_BYTES_MAX) {
    return { ok: false, error: fail(1, 'file_too_large', null, `the file has ${bytes} bytes; a statement has at most ${STATEMENT_BYTES_MAX}`) };
  }
  if (typeof input === 'string') return { ok: true, text: input };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input) };
  } catch {
    // Name the line of the first byte that is not UTF-8, so the operator can find it.
    let line = 1;
    const lenient = new TextDecoder('utf-8', { ignoreBOM: true }).decode(input);
    for (const char of lenient) {
      if (char === '\uFFFD') break;
      if (char === '\n') line += 1;
    }
    return { ok: false, error: fail(line, 'not_utf8', null, 'the file is not valid UTF-8') };
  }
}

function isLineStatus(value: string): value is StatementLineStatus {
  return (STATEMENT_LINE_STATUSES as readonly string[]).includes(value);
}

function fail(line: number, code: StatementErrorCode, column: StatementError['column'], message: string): StatementError {
  return { line, code, column, message: `line ${line}: ${message}` };
}

/** A value as the error shows it: JSON-quoted so blanks and control characters are visible, and cut short. */
function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

function sortByLine(errors: StatementError[]): StatementError[] {
  return errors.map((error, index) => ({ error, index })).sort((a, b) => a.error.line - b.error.line || a.index - b.index).map(({ error }) => error);
}
