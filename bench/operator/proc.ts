/**
 * Memory and CPU of a process from /proc, and how busy the whole machine was:
 * the machines are shared, so a phase in which other tenants took the CPU
 * should show in the results rather than be mistaken for the operator's cost.
 */
import { readCpuSeconds, readMachine, readMemory, round } from '../support/proc-stats.js';

/** User + system CPU seconds of a process, 0 once it is gone. */
const cpuSecondsOf = (pid: number): number => readCpuSeconds(pid) || 0;

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
  const machine = readMachine();
  const before = Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  return () => {
    const after = readMachine();
    const cpuSeconds: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids())) cpuSeconds[name] = round(cpuSecondsOf(pid) - (before[name] ?? 0), 2);
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
    let m: { rss: number; hwm: number };
    try {
      m = readMemory(pid);
    } catch {
      return; // the process is gone
    }
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
