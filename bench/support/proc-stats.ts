/**
 * Memory and CPU of a process from /proc, sampled while the load runs, plus
 * how busy the whole machine was: these machines are shared, so a phase in
 * which other tenants took CPU should be visible in the results.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MiB = 1024 * 1024;

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // USER_HZ on every mainstream Linux build
  }
}
const ticks = clockTicksPerSecond();

/** VmRSS and VmHWM (the peak RSS over the process's life) in bytes. */
export function readMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** User + system CPU seconds the process (all its threads) has used; NaN once it is gone. */
export function readCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  // The command name (field 2) may contain spaces; fields after it are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime, stime: fields 14 and 15 of proc(5)
}

/** Busy and total jiffies of the whole machine (all CPUs) from /proc/stat. */
export function readMachine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Microseconds during which some task waited for a CPU (PSI, Linux ≥ 4.20), or undefined. */
export function readCpuPressure(): number | undefined {
  try {
    const match = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface PhaseStats {
  phase: string;
  seconds: number;
  /** Highest VmRSS sampled during the phase. */
  peakRssMiB: number;
  /** CPU of the watched process over the phase, in % of one core (threads can take it past 100). */
  cpuPercent: number;
  /** The bench process itself (load generator), in % of one core. */
  benchCpuPercent: number;
  /** The whole machine, in % of all cores. */
  machineBusyPercent: number;
  /**
   * Share of the phase during which some runnable task waited for a CPU
   * (/proc/pressure/cpu "some"): the bench's own processes contribute, but a
   * high figure in a light phase means other tenants took the cores.
   */
  cpuPressurePercent: number;
}

/** Samples one process's RSS every `intervalMs` and accounts CPU per named phase. */
export class ProcessSampler {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = 0;
  private phaseStart:
    | { name: string; at: number; cpu: number; bench: NodeJS.CpuUsage; machine: { busy: number; total: number }; pressure: number | undefined }
    | undefined;
  readonly phases: PhaseStats[] = [];
  readonly samples: { t: number; rssMiB: number }[] = [];
  private readonly started = performance.now();

  constructor(private readonly pid: number, private readonly intervalMs = 200) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    try {
      const { rss } = readMemory(this.pid);
      this.peakRss = Math.max(this.peakRss, rss);
      this.samples.push({ t: Math.round(performance.now() - this.started), rssMiB: round(rss / MiB, 1) });
    } catch {
      /* the process is gone; the caller notices through its exit */
    }
  }

  begin(name: string): void {
    this.sample();
    this.peakRss = 0;
    this.sample();
    this.phaseStart = { name, at: performance.now(), cpu: readCpuSeconds(this.pid), bench: process.cpuUsage(), machine: readMachine(), pressure: readCpuPressure() };
  }

  end(): PhaseStats {
    const start = this.phaseStart;
    if (!start) throw new Error('ProcessSampler.end() without begin()');
    this.sample();
    const seconds = (performance.now() - start.at) / 1000;
    const bench = process.cpuUsage(start.bench);
    const machine = readMachine();
    const pressure = readCpuPressure();
    const stats: PhaseStats = {
      phase: start.name,
      seconds: round(seconds, 1),
      peakRssMiB: round(this.peakRss / MiB, 1),
      cpuPercent: round(((readCpuSeconds(this.pid) - start.cpu) / seconds) * 100, 0),
      benchCpuPercent: round(((bench.user + bench.system) / 1e6 / seconds) * 100, 0),
      machineBusyPercent: round(((machine.busy - start.machine.busy) / Math.max(1, machine.total - start.machine.total)) * 100, 0),
      cpuPressurePercent: pressure === undefined || start.pressure === undefined ? NaN : round((pressure - start.pressure) / 1e4 / seconds, 0),
    };
    this.phases.push(stats);
    this.phaseStart = undefined;
    return stats;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export { MiB };
