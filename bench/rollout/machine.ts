/**
 * How busy the shared machine was while a round ran: share of all CPUs busy
 * (every tenant), CPU pressure (/proc/pressure/cpu: share of time some task
 * waited for a CPU) and the CPU the operator used. A latency measured while
 * every task queued for a CPU says more about the neighbours than the operator.
 */
import { readCpuPressure, readCpuSeconds, readMachine, round } from '../support/proc-stats.js';

/** User + system CPU seconds of a process; 0 once it is gone. */
const cpuSecondsOf = (pid: number): number => readCpuSeconds(pid) || 0;

export interface Load {
  seconds: number;
  /** 0–1, all tenants. */
  machineBusy: number;
  /** 0–1: share of the time some task waited for a CPU; NaN without PSI. */
  cpuPressure: number;
  /** CPU seconds per watched process. */
  cpuSeconds: Record<string, number>;
}

const round3 = (v: number): number => round(v, 3);

/** Starts measuring; call the result to read the load since then. */
export function measureLoad(pids: () => Record<string, number>): () => Load {
  const t0 = performance.now();
  const j0 = readMachine();
  const p0 = readCpuPressure();
  const c0 = Object.fromEntries(Object.entries(pids()).map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const j1 = readMachine();
    const p1 = readCpuPressure();
    const cpu: Record<string, number> = {};
    for (const [name, pid] of Object.entries(pids())) cpu[name] = round3(cpuSecondsOf(pid) - (c0[name] ?? 0));
    return {
      seconds: round3(seconds),
      machineBusy: round3((j1.busy - j0.busy) / Math.max(1, j1.total - j0.total)),
      cpuPressure: p0 === undefined || p1 === undefined ? NaN : round3((p1 - p0) / 1e6 / Math.max(seconds, 1e-3)),
      cpuSeconds: cpu,
    };
  };
}
