/**
 * How busy the shared machine was while a round ran: share of all CPUs busy
 * (every tenant), CPU pressure (/proc/pressure/cpu: share of time some task
 * waited for a CPU) and the CPU the operator used. A latency measured while
 * every task queued for a CPU says more about the neighbours than the operator.
 */
import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on every mainstream Linux build (proc(5))

function jiffies(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total }; // minus idle and iowait
}

/** Microseconds some task waited for a CPU since boot; undefined without PSI. */
function pressureMicros(): number | undefined {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8').split('\n').find((l) => l.startsWith('some '));
    const total = some?.match(/total=(\d+)/)?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command) may hold spaces; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

export interface Load {
  seconds: number;
  /** 0–1, all tenants. */
  machineBusy: number;
  /** 0–1: share of the time some task waited for a CPU; NaN without PSI. */
  cpuPressure: number;
  /** CPU seconds per watched process. */
  cpuSeconds: Record<string, number>;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Starts measuring; call the result to read the load since then. */
export function measureLoad(pids: () => Record<string, number>): () => Load {
  const t0 = performance.now();
  const j0 = jiffies();
  const p0 = pressureMicros();
  const c0 = Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const j1 = jiffies();
    const p1 = pressureMicros();
    const cpu: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids())) cpu[name] = round3(cpuSeconds(pid) - (c0[name] ?? 0));
    return {
      seconds: round3(seconds),
      machineBusy: round3((j1.busy - j0.busy) / Math.max(1, j1.total - j0.total)),
      cpuPressure: p0 === undefined || p1 === undefined ? NaN : round3((p1 - p0) / 1e6 / Math.max(seconds, 1e-3)),
      cpuSeconds: cpu,
    };
  };
}
