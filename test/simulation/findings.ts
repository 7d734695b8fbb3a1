/**
 * The simulation's checks, by the invariant they assert (docs/invariants.md, "Simulation").
 * A finding is one violation, named by its check and the subject it is about (a withdrawal,
 * a callback, a table row), so a failure says where to look.
 */
export const CHECKS = {
  money_conserved: 'S1 per currency, the sum over all ledger accounts is 0 after every event',
  holds_resolved_once: 'S2 every hold is resolved exactly once (DebitSettled xor DebitReversed), DebitReturned at most once and only after DebitSettled',
  paid_at_most_once: "S3 no withdrawal is paid twice, and the ledger's settled withdrawals are exactly the providers' paid ones",
  available_never_negative: 'S4 no available (or pending) balance is ever negative',
  forged_rejected: 'S5 every forged callback is refused (401/400) and changes nothing',
  read_models_equal_rebuild: 'S6 the live read models equal a clean rebuild from the log, row for row',
  api_contract: 'S7 the command API answers as documented and one idempotency key makes one effect',
  log_well_formed: 'S8 every stream replays through its decider; one PayoutInitiated per attempt',
  quiescence: 'S9 the system comes to rest: nothing in flight, nothing left in review, every instance stops',
} as const;

export type CheckName = keyof typeof CHECKS;

export interface Finding {
  readonly check: CheckName;
  readonly subject: string;
  readonly message: string;
}

export class Findings {
  private readonly list: Finding[] = [];
  private readonly counts = new Map<CheckName, number>();

  add(check: CheckName, subject: string, message: string): void {
    this.counts.set(check, (this.counts.get(check) ?? 0) + 1);
    // Keep a bounded sample per check; every finding is counted.
    if ((this.counts.get(check) ?? 0) <= 25) this.list.push({ check, subject, message });
  }

  get size(): number {
    return [...this.counts.values()].reduce((sum, count) => sum + count, 0);
  }

  count(check: CheckName): number {
    return this.counts.get(check) ?? 0;
  }

  /** The failure message: the seed and how to rerun first, then each check's findings. */
  report(header: string): string {
    const lines = [header, ''];
    for (const check of Object.keys(CHECKS) as CheckName[]) {
      const count = this.count(check);
      if (count === 0) continue;
      lines.push(`${CHECKS[check]}: ${count} finding(s)`);
      for (const finding of this.list.filter((item) => item.check === check)) lines.push(`  - ${finding.subject}: ${finding.message}`);
      if (count > 25) lines.push(`  … and ${count - 25} more`);
    }
    return lines.join('\n');
  }
}
