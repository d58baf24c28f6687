/** The operator benchmark's command line: sizes, timings and the operator's flags, with --quick for a smoke run. */
import { Command, InvalidArgumentError, Option } from 'commander';

export interface Settings {
  quick: boolean;
  /** AuthServices created at once in the burst. */
  count: number;
  /** Interleaved baseline/operator rounds for one AuthService. */
  repeats: number;
  /** The operator's --workers, and the lanes of the burst baseline. */
  workers: number;
  /** Parallel creates when the bench applies the burst. */
  createConcurrency: number;
  /** Replicas of each AuthService (and its HPA's minReplicas): pods kwok simulates. */
  replicas: number;
  /** The second operator's --resync-seconds. */
  resyncSeconds: number;
  /** Idle resyncs to observe. */
  resyncs: number;
  /** kwok nodes. */
  nodes: number;
  /** Longest wait for children, for every AuthService to be Healthy, or for a resync. */
  timeoutSeconds: number;
  /** How the operator runs: compiled JavaScript (as in production) or under tsx. */
  runner: 'compiled' | 'tsx';
  outDir: string;
}

const full = { count: 200, repeats: 5, resyncSeconds: 20, resyncs: 2 };
const quick = { count: 50, repeats: 3, resyncSeconds: 10, resyncs: 1 };

function positive(name: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number`);
    return value;
  };
}

export function parseSettings(argv: string[], defaultOutDir: string): Settings {
  const sized = (flag: string, key: keyof typeof full, what: string): Option =>
    new Option(`--${flag} <n>`, `${what} (default ${full[key]}; --quick ${quick[key]})`).argParser(positive(`--${flag}`));
  const program = new Command('bench:operator')
    .description([
      'Benchmarks keyward-operator (a child process, under its own RBAC) against a',
      'real local control plane (hack/cluster: etcd, kube-apiserver, controller-',
      'manager, scheduler, kwok). Figures, each against a baseline measured in the',
      'same run where one means something (bench/README.md):',
      '  - create → all 11 children present, 1 AuthService (p50, p99), over the',
      '    bench applying the same 11 objects itself;',
      '  - create → all children present, N AuthServices at once (p50, p99, wall),',
      '    over the bench applying the N × 11 objects itself;',
      '  - reconciles per second while working through the N;',
      '  - API writes on restart and per idle resync, all Healthy (target 0);',
      '  - operator RSS with N AuthServices, VmHWM and steady VmRSS (< 150 MiB).',
      'Prints progress and a table; writes bench/results/operator-<timestamp>.json.',
      'Exit 0 when the run completed, targets missed or not; 1 when the run failed;',
      '130 when interrupted. Everything it starts is stopped. A full run takes',
      '4-6 minutes on a shared 2-core machine, --quick about 2.',
    ].join('\n'))
    .option('--quick', 'smoke run: fewer AuthServices, fewer repeats, a shorter resync', false)
    .addOption(sized('count', 'count', 'AuthServices created at once'))
    .addOption(sized('repeats', 'repeats', 'rounds of one AuthService (each: baseline, then operator)'))
    .addOption(sized('resync-seconds', 'resyncSeconds', "--resync-seconds of the operator that measures idle resyncs"))
    .addOption(sized('resyncs', 'resyncs', 'idle resyncs to observe'))
    .addOption(new Option('--workers <n>', "the operator's --workers, and the baseline's parallel lanes").argParser(positive('--workers')).default(4))
    .addOption(new Option('--create-concurrency <n>', 'parallel AuthService creates in the burst').argParser(positive('--create-concurrency')).default(8))
    .addOption(new Option('--replicas <n>', 'spec.replicas and autoscaling.minReplicas of every AuthService (pods kwok runs)').argParser(positive('--replicas')).default(1))
    .addOption(new Option('--nodes <n>', 'kwok nodes').argParser(positive('--nodes')).default(3))
    .addOption(new Option('--timeout-seconds <n>', 'longest wait for children, for Healthy, or for a resync').argParser(positive('--timeout-seconds')).default(180))
    .addOption(new Option('--runner <how>', 'run the operator compiled once to JavaScript at the start (as in production, one snapshot of the code) or under tsx from the working tree').choices(['compiled', 'tsx']).default('compiled'))
    .option('--out-dir <dir>', 'where the JSON and the operator logs go', defaultOutDir)
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    quick: boolean; count?: number; repeats?: number; resyncSeconds?: number; resyncs?: number; workers: number;
    createConcurrency: number; replicas: number; nodes: number; timeoutSeconds: number; runner: Settings['runner']; outDir: string;
  }>();
  const base = o.quick ? quick : full;
  return {
    quick: o.quick,
    count: o.count ?? base.count,
    repeats: o.repeats ?? base.repeats,
    workers: o.workers,
    createConcurrency: o.createConcurrency,
    replicas: o.replicas,
    resyncSeconds: o.resyncSeconds ?? base.resyncSeconds,
    resyncs: o.resyncs ?? base.resyncs,
    nodes: o.nodes,
    timeoutSeconds: o.timeoutSeconds,
    runner: o.runner,
    outDir: o.outDir,
  };
}
