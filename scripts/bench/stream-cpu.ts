/**
 * CPU accounting for scripts/bench-stream.ts (Linux /proc): CPU seconds spent during a phase by
 * the service, Postgres, Redis, the JVMs (Kafka and the registry), the benchmark itself and
 * everything else, plus how busy the machine was. On a small shared machine this says whether
 * the service waits on its stores or the stores wait on the CPU.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = ((): number => {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() ?? '';
  const n = Number(out);
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

interface ProcTimes {
  readonly comm: string;
  readonly ticks: number;
}

export interface CpuSnapshot {
  readonly at: number;
  readonly processes: ReadonlyMap<number, ProcTimes>;
  /** Machine-wide busy and total ticks (all CPUs) from /proc/stat. */
  readonly busy: number;
  readonly total: number;
}

function readProc(pid: number): ProcTimes | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces; the fields after it are space-separated.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after "pid (comm) ".
    return { comm, ticks: Number(fields[11] ?? 0) + Number(fields[12] ?? 0) };
  } catch {
    return null;
  }
}

export function cpuSnapshot(): CpuSnapshot {
  const processes = new Map<number, ProcTimes>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const times = readProc(Number(entry));
    if (times !== null) processes.set(Number(entry), times);
  }
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { at: performance.now(), processes, busy: total - idle, total };
}

export interface CpuUse {
  readonly wallSeconds: number;
  /** CPU seconds per group, largest first. */
  readonly groups: readonly [string, number][];
  /** Busy share of all CPUs over the interval, 0..1. */
  readonly machineBusy: number;
}

/** CPU seconds between two snapshots, grouped; `named` maps pids to a group name of their own. */
export function cpuBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  named: ReadonlyMap<number, string>,
): CpuUse {
  const groups = new Map<string, number>();
  for (const [pid, now] of after.processes) {
    const was = before.processes.get(pid);
    const ticks = now.ticks - (was?.comm === now.comm ? was.ticks : 0);
    if (ticks <= 0) continue;
    const group =
      named.get(pid) ??
      (now.comm === 'postgres'
        ? 'postgres'
        : now.comm.startsWith('redis')
          ? 'redis'
          : now.comm === 'java'
            ? 'java (Kafka, registry)'
            : 'other processes');
    groups.set(group, (groups.get(group) ?? 0) + ticks / TICKS_PER_SECOND);
  }
  return {
    wallSeconds: (after.at - before.at) / 1000,
    groups: [...groups].sort((a, b) => b[1] - a[1]),
    machineBusy: after.total === before.total ? 0 : (after.busy - before.busy) / (after.total - before.total),
  };
}

export function formatCpu(use: CpuUse, cpus: number): string {
  const parts = use.groups.map(
    ([name, s]) => `${name} ${s.toFixed(1)} s (${((100 * s) / use.wallSeconds).toFixed(0)} % of a CPU)`,
  );
  return `${use.wallSeconds.toFixed(1)} s wall, machine ${(100 * use.machineBusy).toFixed(0)} % busy (${cpus} CPUs): ${parts.join(', ')}`;
}
