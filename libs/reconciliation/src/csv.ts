/**
 * A strict RFC 4180 reader. It never guesses: a quote where RFC 4180 allows none, text after
 * a closing quote, a bare carriage return or a quote left open is an error with the line it
 * is on, and reading goes on at the next line so that one pass reports every error.
 *
 * Accepted beyond the letter of RFC 4180, because every spreadsheet and Unix tool writes
 * them: LF as well as CRLF line breaks, and no line break after the last record.
 */

export interface CsvRecord {
  /** The line of the text where the record starts, from 1. */
  readonly line: number;
  readonly fields: readonly string[];
}

export type CsvErrorCode = 'quote_in_unquoted_field' | 'text_after_closing_quote' | 'bare_carriage_return' | 'unterminated_quote';

export interface CsvError {
  readonly line: number;
  readonly code: CsvErrorCode;
  readonly message: string;
}

export interface CsvReadResult {
  readonly records: readonly CsvRecord[];
  readonly errors: readonly CsvError[];
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

export function readCsv(text: string): CsvReadResult {
  const records: CsvRecord[] = [];
  const errors: CsvError[] = [];
  const length = text.length;
  let index = 0;
  let line = 1;

  while (index < length) {
    const recordLine = line;
    const fields: string[] = [];
    let failed: CsvError | null = null;

    // One record: fields until a line break outside quotes or the end of the text.
    for (;;) {
      let field = '';
      if (text.charCodeAt(index) === QUOTE) {
        const openedOn = line;
        index += 1;
        let closed = false;
        while (index < length) {
          const code = text.charCodeAt(index);
          if (code === QUOTE) {
            if (text.charCodeAt(index + 1) === QUOTE) {
              field += '"';
              index += 2;
              continue;
            }
            index += 1;
            closed = true;
            break;
          }
          if (code === LF) line += 1;
          field += text[index];
          index += 1;
        }
        if (!closed) {
          failed = error(openedOn, 'unterminated_quote', 'a quoted field is never closed (a quote inside a quoted field is written "")');
          break;
        }
        const next = index < length ? text.charCodeAt(index) : LF;
        if (next !== COMMA && next !== LF && next !== CR) {
          failed = error(line, 'text_after_closing_quote', 'text follows the closing quote of a field; a field is either quoted whole or not at all');
          break;
        }
      } else {
        const start = index;
        while (index < length) {
          const code = text.charCodeAt(index);
          if (code === COMMA || code === LF || code === CR) break;
          if (code === QUOTE) {
            failed = error(line, 'quote_in_unquoted_field', 'a quote inside an unquoted field; quote the whole field and double the quote ("")');
            break;
          }
          index += 1;
        }
        if (failed !== null) break;
        field = text.slice(start, index);
      }
      fields.push(field);

      if (index >= length) break;
      const code = text.charCodeAt(index);
      if (code === COMMA) {
        index += 1;
        continue;
      }
      if (code === CR) {
        if (text.charCodeAt(index + 1) !== LF) {
          failed = error(line, 'bare_carriage_return', 'a carriage return not followed by a line feed; lines end with CRLF or LF');
          break;
        }
        index += 1;
      }
      // A line feed: the record ends.
      index += 1;
      line += 1;
      break;
    }

    if (failed === null) {
      records.push({ line: recordLine, fields });
      continue;
    }
    errors.push(failed);
    if (failed.code === 'unterminated_quote') break;
    // Skip the rest of the broken line; the next line starts a record of its own.
    while (index < length && text.charCodeAt(index) !== LF) index += 1;
    if (index < length) {
      index += 1;
      line += 1;
    }
  }
  return { records, errors };
}

/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function error(line: number, code: CsvErrorCode, message: string): CsvError {
  return { line, code, message };
}
