import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from './checks';
import { errorCode, type RequestRecord } from './ledger-client';
import type { ProviderLedger } from './observe';
import type { DrainResult, FaultRecord } from './scenario';
import type { UnplannedExit } from './system';

export interface FaultSuiteReport {
  seed: number;
  startedAt: string;
  durationMs: number;
  timingsMs: Record<string, number>;
  faults: FaultRecord[];
  unplannedExits: UnplannedExit[];
  requests: ReturnType<typeof summariseRequests>;
  payouts: ReturnType<typeof summarisePayouts>;
  drain: Omit<DrainResult, 'final'> & { head: string | undefined };
  checks: CheckResult[];
  passed: boolean;
  /** The end of each process's stderr, on failure only. */
  processLogs?: Record<string, string>;
}

export function summariseRequests(records: readonly RequestRecord[], skippedTicks: number) {
  const byKind: Record<string, { sent: number; answers: Record<string, number>; retried: number; tries: number }> = {};
  const transient: Record<string, number> = {};
  for (const record of records) {
    const kind = (byKind[record.kind] ??= { sent: 0, answers: {}, retried: 0, tries: 0 });
    kind.sent += 1;
    kind.tries += record.tries;
    if (record.tries > 1) kind.retried += 1;
    const answer = record.gaveUp ? 'gave up' : `${record.status}${record.status !== undefined && record.status >= 300 ? ` ${errorCode(record.response) ?? ''}` : ''}${record.replayed ? ' (replayed)' : ''}`.trim();
    kind.answers[answer] = (kind.answers[answer] ?? 0) + 1;
    for (const reason of record.transient) transient[reason] = (transient[reason] ?? 0) + 1;
  }
  const accepted = records.filter((record) => record.status !== undefined && record.status < 300).length;
  const refused = records.filter((record) => record.status !== undefined && record.status >= 400).length;
  return {
    sent: records.length,
    accepted,
    refused,
    retried: records.filter((record) => record.tries > 1).length,
    gaveUp: records.filter((record) => record.gaveUp).length,
    tries: records.reduce((sum, record) => sum + record.tries, 0),
    skippedTicks,
    byKind,
    retriedBecause: transient,
  };
}

export function summarisePayouts(provider: ProviderLedger, acceptedWithdrawals: number) {
  const byStatus: Record<string, number> = {};
  for (const payout of provider.payouts) byStatus[payout.status] = (byStatus[payout.status] ?? 0) + 1;
  return {
    acceptedWithdrawals,
    providerPayouts: provider.payouts.length,
    providerPayoutsByStatus: byStatus,
    withdrawalsPaid: new Set(provider.payouts.filter((payout) => payout.timesPaid > 0).map((payout) => payout.withdrawalId)).size,
    laterAttempts: provider.payouts.filter((payout) => payout.attempt > 1).length,
    payoutsSubmittedMoreThanOnce: provider.payouts.filter((payout) => payout.submissions > 1).length,
    providerRequests: provider.requests,
    callbacks: provider.callbacks.length,
    callbacksNeverDelivered: provider.callbacks.filter((callback) => !callback.delivered).length,
    // Lost callbacks are covered by the process manager's status queries; listed to see why.
    undeliveredCallbacks: provider.callbacks.filter((callback) => !callback.delivered).slice(0, 20),
  };
}

/** Attributes every retried try to the fault that was on (or had just been lifted) when it failed. */
export function attributeToFaults(faults: FaultRecord[], records: readonly RequestRecord[]): void {
  for (const fault of faults) {
    const from = Date.parse(fault.injectedAt);
    const to = Date.parse(fault.liftedAt) + 2_000;
    const seen: Record<string, number> = {};
    for (const record of records) {
      record.transientAt.forEach((at, index) => {
        if (at >= from && at <= to) seen[record.transient[index]!] = (seen[record.transient[index]!] ?? 0) + 1;
      });
    }
    fault.clientsSaw = seen;
  }
}

/** Writes the report, and every request with its tries beside it (`….requests.ndjson`), to the system temp folder. */
export function writeReport(report: FaultSuiteReport, records: readonly RequestRecord[]): string {
  const path = join(tmpdir(), `ledger-faults-report-${report.seed}-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.replace(/\.json$/, '.requests.ndjson'), records.map((record) => JSON.stringify(record)).join('\n') + '\n');
  return path;
}

/** The report for people, printed at the end of the run. */
export function formatReport(report: FaultSuiteReport, path: string): string {
  const lines: string[] = [];
  const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;
  lines.push(`== Fault suite: ${report.passed ? 'PASSED' : 'FAILED'} (seed ${report.seed}, ${seconds(report.durationMs)}; FAULTS_SEED=${report.seed} repeats the load)`);
  lines.push(`   ${Object.entries(report.timingsMs).map(([phase, ms]) => `${phase} ${seconds(ms)}`).join(', ')}`);
  lines.push('', 'Faults injected (one at a time, under load):');
  for (const fault of report.faults) {
    lines.push(`  ${fault.injectedAt.slice(11, 23)}  ${fault.name.padEnd(22)} ${seconds(fault.durationMs).padStart(7)}  ${fault.requestsDuring} requests started meanwhile`);
    lines.push(`                ${fault.action}${fault.detail ? `; ${fault.detail}` : ''}`);
    const seen = Object.entries(fault.clientsSaw ?? {}).sort(([, a], [, b]) => b - a);
    lines.push(`                clients retried: ${seen.length === 0 ? 'nothing' : seen.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  }
  if (report.unplannedExits.length > 0) {
    lines.push('', 'Processes that exited on their own (restarted as a supervisor would):');
    for (const exit of report.unplannedExits) lines.push(`  ${exit.at.slice(11, 23)}  ${exit.component} (${exit.how})${exit.restarted ? ', restarted' : ''}`);
  }
  const requests = report.requests;
  lines.push(
    '',
    `Requests: ${requests.sent} sent, ${requests.accepted} accepted, ${requests.refused} refused, ${requests.retried} retried with the same key (${requests.tries} tries), ${requests.gaveUp} without an answer, ${requests.skippedTicks} ticks skipped at the in-flight cap`,
  );
  for (const [kind, summary] of Object.entries(requests.byKind)) {
    lines.push(`  ${kind.padEnd(13)} ${String(summary.sent).padStart(5)} sent, ${String(summary.retried).padStart(4)} retried: ${Object.entries(summary.answers).map(([answer, count]) => `${count} × ${answer}`).join(', ')}`);
  }
  const reasons = Object.entries(requests.retriedBecause).sort(([, a], [, b]) => b - a);
  if (reasons.length > 0) lines.push(`  tries retried because: ${reasons.map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
  const payouts = report.payouts;
  lines.push(
    '',
    `Payouts: ${payouts.acceptedWithdrawals} withdrawals accepted, ${payouts.providerPayouts} payouts at the provider (${Object.entries(payouts.providerPayoutsByStatus).map(([status, count]) => `${count} ${status}`).join(', ')}), ${payouts.withdrawalsPaid} withdrawals paid`,
    `  ${payouts.laterAttempts} later attempts, ${payouts.payoutsSubmittedMoreThanOnce} payouts submitted more than once (same key), ${payouts.callbacks} callbacks (${payouts.callbacksNeverDelivered} never delivered)`,
    `  drain: ${report.drain.drained ? 'at rest' : 'NOT at rest'} after ${seconds(report.drain.durationMs)}, head ${report.drain.head}; ${report.drain.reviews.length} manual reviews resolved from the provider's books${reviewSummary(report.drain.reviews)}`,
  );
  lines.push('', 'Checks:');
  for (const check of report.checks) lines.push(`  ${check.passed ? 'PASS' : 'FAIL'}  ${check.name}`, `        ${check.detail}`);
  lines.push('', `Report: ${path}`);
  return lines.join('\n');
}

function reviewSummary(reviews: DrainResult['reviews']): string {
  if (reviews.length === 0) return '';
  const groups: Record<string, number> = {};
  for (const review of reviews) {
    const group = `${review.decision} (${review.reason.split(':')[0]}, answered ${review.answer})`;
    groups[group] = (groups[group] ?? 0) + 1;
  }
  return `: ${Object.entries(groups).map(([group, count]) => `${count} × ${group}`).join(', ')}`;
}
