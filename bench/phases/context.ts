/** What every phase of the run gets: settings, the running service, progress output, and the phase recorder. */
import type { Build } from '../support/build.js';
import { ProcessSampler, type PhaseStats } from '../support/proc-stats.js';
import type { Accounts, Session } from '../support/scenarios.js';
import type { ServiceProcess } from '../support/service-process.js';
import type { Settings } from '../support/settings.js';

export interface PhaseRecord {
  phase: string;
  /** Whose CPU the row shows: the service, the bare server, the bcrypt child. */
  process: string;
  stats: PhaseStats;
  result: unknown;
}

export interface BenchContext {
  settings: Settings;
  build: Build;
  service: ServiceProcess;
  /** Scratch directory of this run (logs of the children). */
  tmp: string;
  signingKeyPem: string;
  accounts: Accounts;
  /** Sessions opened by the login runs, reused by me and refresh. */
  sessions: Session[];
  records: PhaseRecord[];
  say(line: string): void;
  progress(line: string): void;
  /** Throws when the run was interrupted or the service died. */
  checkpoint(): void;
  /**
   * Runs `work` as a named phase, recording the CPU of `watch` (default: the
   * service, whose RSS is sampled all along) and of the machine around it.
   */
  phase<T>(name: string, work: () => Promise<T>, options?: PhaseOptions<T>): Promise<{ result: T; stats: PhaseStats }>;
}

export interface PhaseOptions<T> {
  /** Another process to account CPU to (the bare server). */
  watch?: { pid: number; label: string };
  /** A process that reports its own CPU (the bcrypt child, gone before the phase ends). */
  reportsOwnCpu?: { label: string; cpuPercent: (result: T) => number };
}

export interface RecorderOptions {
  /** Samples the service's RSS all along; accounts its CPU per phase. */
  serviceSampler: ProcessSampler;
  records: PhaseRecord[];
  checkpoint(): void;
  say(line: string): void;
}

export function phaseRecorder({ serviceSampler, records, checkpoint, say }: RecorderOptions): BenchContext['phase'] {
  return async (name, work, options = {}) => {
    // A watched child gets a sampler of its own for the phase, sampling all along like the
    // service's: without start() its RSS peak was the maximum of the reads at begin and end.
    const own = options.watch ? new ProcessSampler(options.watch.pid) : undefined;
    own?.start();
    const sampler = own ?? serviceSampler;
    sampler.begin(name);
    const result = await work().finally(() => own?.stop());
    const stats = sampler.end();
    const reported = options.reportsOwnCpu;
    const label = reported?.label ?? options.watch?.label ?? 'service';
    if (reported) Object.assign(stats, { cpuPercent: reported.cpuPercent(result), peakRssMiB: NaN });
    records.push({ phase: name, process: label, stats, result });
    checkpoint();
    say(`    ${name}: ${label} ${stats.cpuPercent}% CPU, bench ${stats.benchCpuPercent}%, machine ${stats.machineBusyPercent}% busy, CPU pressure ${stats.cpuPressurePercent}%`);
    return { result, stats };
  };
}

export const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
