import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';

/** Where the machine's CPU went during one measurement window, in percent of all cores. */
export interface CpuShare {
  cpu_busy_pct: number;
  /** Used by neither this process nor the PostgreSQL server: another workload perturbed the window. */
  cpu_other_pct: number | null;
  /** Taken by the hypervisor for other guests. */
  cpu_steal_pct: number;
}

// Linux reports process times in USER_HZ ticks, 100 per second on every mainstream build.
const TICKS_PER_SECOND = 100;

interface Snapshot {
  wallNs: bigint;
  busyTicks: number;
  stealTicks: number;
  clientMicros: number;
  /** Ticks per server process, by pid; null when the server is not local. */
  serverTicks: Map<number, number> | null;
}

/**
 * Client and server share two cores here, so a number is only as good as the window
 * was quiet. The meter splits the machine's CPU time between this process, the
 * PostgreSQL server's processes (when the server runs on this machine) and everything
 * else, so a perturbed data point can be recognised instead of believed. It reads
 * /proc and reports nothing where there is none.
 */
export class CpuMeter {
  private readonly cores = cpus().length;

  /** `serverPid` is the postmaster's pid, or undefined when the server is not local. */
  constructor(private readonly serverPid: number | undefined) {}

  /** Starts a window; the returned function ends it. */
  start(): () => CpuShare | null {
    const before = this.snapshot();
    return () => {
      const after = this.snapshot();
      if (!before || !after) return null;
      const capacityTicks = (Number(after.wallNs - before.wallNs) / 1e9) * TICKS_PER_SECOND * this.cores;
      const pct = (ticks: number) => Math.round((ticks / capacityTicks) * 1_000) / 10;
      const busy = after.busyTicks - before.busyTicks;
      const client = ((after.clientMicros - before.clientMicros) / 1e6) * TICKS_PER_SECOND;
      const server =
        after.serverTicks === null || before.serverTicks === null ? null : ticksSince(before.serverTicks, after.serverTicks);
      return {
        cpu_busy_pct: pct(busy),
        // A server process that exits inside the window (an idle pooled connection, an
        // autovacuum worker) takes its ticks with it; they land here, so this is an upper bound.
        cpu_other_pct: server === null ? null : pct(Math.max(0, busy - client - server)),
        cpu_steal_pct: pct(after.stealTicks - before.stealTicks),
      };
    };
  }

  private snapshot(): Snapshot | null {
    try {
      const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
      const usage = process.cpuUsage();
      return {
        wallNs: process.hrtime.bigint(),
        busyTicks: user + nice + system + irq + softirq,
        stealTicks: steal,
        clientMicros: usage.user + usage.system,
        serverTicks: this.serverPid === undefined ? null : processTreeTicks(this.serverPid),
      };
    } catch {
      return null;
    }
  }
}

/** CPU ticks of a process and of each of its direct children (the postmaster, its backends and workers). */
function processTreeTicks(rootPid: number): Map<number, number> | null {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && (stat.pid === rootPid || stat.ppid === rootPid)) ticks.set(stat.pid, stat.ticks);
  }
  return ticks.has(rootPid) ? ticks : null;
}

/**
 * Ticks spent between two snapshots: per process, so that one that exited does not
 * subtract its lifetime from the total, and one that started counts from zero.
 */
function ticksSince(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ticks] of after) total += ticks - (before.get(pid) ?? 0);
  return total;
}

function readStat(pid: number): { pid: number; ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; every field after it is plain.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/** The postmaster's pid for a server on this machine: the parent of our own backend. */
export function postmasterOf(backendPid: number): number | undefined {
  const stat = readStat(backendPid);
  return stat ? stat.ppid : undefined;
}
