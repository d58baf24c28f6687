/**
 * Memory and CPU of a process from /proc, and how busy the whole machine was:
 * the machines are shared, so a phase in which other tenants took the CPU
 * should show in the results rather than be mistaken for the operator's cost.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

/** VmRSS and VmHWM (peak RSS over the process's life) in bytes; undefined once the process is gone. */
export function readMemory(pid: number): { rss: number; hwm: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

const ticks = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // USER_HZ on every mainstream Linux build
  }
})();

/** User + system CPU seconds of a process, 0 once it is gone. */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it are fixed (proc(5): utime 14, stime 15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return 0;
  }
}

function machineJiffies(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total }; // minus idle and iowait
}

export interface PhaseLoad {
  seconds: number;
  /** Share of all CPUs busy (every tenant), 0–1. */
  machineBusy: number;
  /** CPU seconds per watched process over the phase. */
  cpuSeconds: Record<string, number>;
}

/** Starts measuring a phase; call the result to finish it. */
export function phaseLoad(pids: () => Record<string, number>): () => PhaseLoad {
  const started = performance.now();
  const machine = machineJiffies();
  const before = Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, readCpuSeconds(pid)]));
  return () => {
    const after = machineJiffies();
    const cpuSeconds: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids())) cpuSeconds[name] = round(readCpuSeconds(pid) - (before[name] ?? 0), 2);
    return {
      seconds: round((performance.now() - started) / 1000, 1),
      machineBusy: round((after.busy - machine.busy) / Math.max(1, after.total - machine.total), 3),
      cpuSeconds,
    };
  };
}

/** Samples a process's memory every `intervalMs` until stopped. */
export function memorySampler(pid: number, intervalMs = 250) {
  const samples: Array<{ at: number; rss: number }> = [];
  let hwm = 0;
  const take = (): void => {
    const m = readMemory(pid);
    if (!m) return;
    samples.push({ at: performance.now(), rss: m.rss });
    hwm = Math.max(hwm, m.hwm);
  };
  take();
  const timer = setInterval(take, intervalMs);
  timer.unref();
  return {
    /** Highest VmRSS sampled, and the kernel's own VmHWM. */
    peak: () => ({ sampledRss: Math.max(0, ...samples.map((s) => s.rss)), hwm }),
    /** Median VmRSS over the last `ms`. */
    steady(ms: number): number {
      take();
      const since = performance.now() - ms;
      const recent = samples.filter((s) => s.at >= since).map((s) => s.rss).sort((a, b) => a - b);
      return recent[Math.floor(recent.length / 2)] ?? 0;
    },
    stop: () => clearInterval(timer),
  };
}

export const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;
