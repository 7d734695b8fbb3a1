import type { Environment } from './server';

/**
 * One printed result. `--json` prints each record as one line; everything else a
 * scenario measured sits beside these fields (rates, latencies, counts, `points` for a
 * scenario measured at several concurrencies).
 */
export interface BenchRecord {
  scenario: string;
  /** Set when a scenario reports several variants separately. */
  variant?: string;
  parameters: Record<string, unknown>;
  /** What the figures are held to (ARCHITECTURE.md §8), or null for a reference measurement. */
  target: Record<string, unknown> | null;
  /** True when the target is met, or, without a target, when the measurement itself succeeded. */
  pass: boolean;
  /** Figures quoted from elsewhere for comparison; never measured by this run. */
  reference?: Record<string, unknown>;
  environment?: Environment;
  [figure: string]: unknown;
}

const FIXED_FIELDS = new Set(['scenario', 'variant', 'parameters', 'target', 'pass', 'reference', 'environment', 'points']);

export function printJson(record: BenchRecord): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

export function printEnvironment(environment: Environment, command: string): void {
  process.stdout.write(
    [
      `ledger benchmarks: ${command}`,
      `server: ${environment.server} PostgreSQL ${environment.postgres_version}, fsync=${environment.fsync}, ` +
        `synchronous_commit=${environment.synchronous_commit}, wal_sync_method=${environment.wal_sync_method}, ` +
        `shared_buffers=${environment.shared_buffers}`,
      `client: Node ${environment.node}, ${environment.cpus} CPUs (${environment.cpu_model}) shared with the server`,
      '',
    ].join('\n') + '\n',
  );
}

/** A readable rendering: a table for per-concurrency points, then the single figures. */
export function printTable(record: BenchRecord): void {
  const lines: string[] = [];
  const title = record.variant ? `${record.scenario} (${record.variant})` : record.scenario;
  lines.push(`== ${title} ${'='.repeat(Math.max(0, 70 - title.length))}`);
  lines.push(`parameters: ${inline(record.parameters)}`);
  const points = record.points;
  if (Array.isArray(points) && points.length > 0) {
    lines.push(...table(points as Array<Record<string, unknown>>));
  }
  for (const [key, value] of Object.entries(record)) {
    if (FIXED_FIELDS.has(key)) continue;
    lines.push(`  ${key}: ${format(value)}`);
  }
  if (record.reference) lines.push(`reference (quoted, not measured): ${inline(record.reference)}`);
  lines.push(`target: ${record.target ? inline(record.target) : 'none (reference measurement)'}`);
  lines.push(`result: ${record.pass ? 'PASS' : 'FAIL'}`, '');
  process.stdout.write(lines.join('\n') + '\n');
}

function table(rows: Array<Record<string, unknown>>): string[] {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cells = rows.map((row) => columns.map((column) => format(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i]!.length)));
  const render = (values: string[]) => '  ' + values.map((value, i) => value.padStart(widths[i]!)).join('  ');
  return [render(columns), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)];
}

function inline(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${format(value)}`)
    .join(', ');
}

function format(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 3 });
  if (Array.isArray(value)) return value.map(format).join('/');
  if (typeof value === 'object') return `{${inline(value as Record<string, unknown>)}}`;
  return String(value);
}
