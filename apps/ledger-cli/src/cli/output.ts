import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { CliError, EXIT } from './cli-error';

/**
 * Where a command writes. Results go to `out` (stdout), so they can be piped and parsed;
 * messages, warnings and progress go to `err` (stderr). Tests hand in buffers.
 */
export interface CliStreams {
  readonly out: Writable;
  readonly err: Writable;
}

export function processStreams(): CliStreams {
  return { out: process.stdout, err: process.stderr };
}

/**
 * Writes a chunk and waits for the stream to drain when its buffer is full, so a large
 * export streams at the speed of its reader instead of piling up in memory.
 */
export async function write(stream: Writable, text: string): Promise<void> {
  // A reader that went away (`| head`) ends the command quietly, as SIGPIPE ends a C tool.
  if (stream.destroyed) throw new CliError('', EXIT.brokenPipe);
  try {
    if (!stream.write(text)) await once(stream, 'drain');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw new CliError('', EXIT.brokenPipe);
    throw error;
  }
}

/**
 * JSON with the ledger's wire rules: `bigint` (amounts, positions, revisions) becomes a
 * string of digits, never a number that a reader's double could round; a `Date` becomes
 * its ISO-8601 form (JSON.stringify calls `toJSON` before the replacer sees it).
 */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item), indent);
}

/** True when the stream is an interactive terminal: progress bars and colour only then. */
export function isInteractive(stream: Writable): boolean {
  return (stream as Writable & { isTTY?: boolean }).isTTY === true;
}

/**
 * A plain-text table with columns padded to their widest cell. Cells are single-line: a
 * line break in a value (free text in event data) would break the columns, so it is shown
 * escaped as `\n`.
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = [headers, ...rows].map((row) => row.map((cell) => cell.replace(/\r/g, '\\r').replace(/\n/g, '\\n')));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** `12345` as `12,345`: positions and counts in messages for people. */
export function grouped(value: bigint | number): string {
  return value.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
