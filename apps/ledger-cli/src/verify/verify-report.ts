import { formatTable, grouped, toJson } from '../cli/output';
import { INVARIANTS } from './invariant-checker';
import type { VerifyReport } from './verify-ledger';

/** The report for people: what was compared where, then the differences and violations as tables. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines: string[] = [];
  lines.push(
    `replayed ${grouped(report.events)} events up to the head at position ${report.head.toString()} ` +
      `(${grouped(report.accounts)} accounts, ${grouped(report.withdrawals)} withdrawals)`,
  );
  const sums = Object.entries(report.ledgerSums);
  lines.push(`ledger sums per currency at the head: ${sums.length === 0 ? 'no money events' : sums.map(([currency, sum]) => `${currency} ${sum.toString()}`).join(', ')}`);
  for (const compared of report.compared) {
    const tables = compared.tables.map((table) => `${table.table} (${grouped(table.rows)} rows)`).join(', ');
    const behind = compared.behind === 0n ? 'at the head' : `${grouped(compared.behind)} events behind the head; those are checked against the invariants only`;
    lines.push(`compared ${compared.projection} at its checkpoint ${compared.checkpoint.toString()} (${behind}): ${tables || 'no tables'}`);
  }
  for (const skipped of report.skipped) lines.push(`skipped ${skipped.subject}: ${skipped.reason}`);
  for (const note of report.notes) lines.push(`note: ${note}`);
  let text = lines.map((line) => `${line}\n`).join('');

  if (report.differenceCount > 0) {
    text += `\nDIFFERENCES between the read models and the log: ${grouped(report.differenceCount)}${shown(report.differences.length, report.differenceCount)}\n`;
    text += formatTable(
      ['table', 'key', 'column', 'expected (log)', 'actual (read model)'],
      report.differences.map((difference) => [difference.table, difference.key, difference.column, difference.expected, difference.actual]),
    );
  }
  if (report.violationCount > 0) {
    text += `\nINVARIANT VIOLATIONS in the log: ${grouped(report.violationCount)}${shown(report.violations.length, report.violationCount)}\n`;
    text += formatTable(
      ['invariant', 'position', 'stream', 'event', 'violation'],
      report.violations.map((violation) => [violation.invariant, violation.position.toString(), violation.stream, violation.eventType, violation.message]),
    );
    const codes = [...new Set(report.violations.map((violation) => violation.invariant))].sort();
    text += `\n${codes.map((code) => `${code}: ${INVARIANTS[code]}`).join('\n')}\n`;
  }
  text += report.ok
    ? '\nverify: OK, the read models match the log and every invariant holds\n'
    : `\nverify: FAILED, ${grouped(report.differenceCount)} difference(s), ${grouped(report.violationCount)} invariant violation(s)\n`;
  return text;
}

export function verifyReportJson(report: VerifyReport): string {
  return `${toJson(report)}\n`;
}

function shown(listed: number, total: number): string {
  return listed < total ? ` (the first ${grouped(listed)} are listed; raise --max-findings for more)` : '';
}
