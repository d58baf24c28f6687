/** The benchmark's command line: every duration, concurrency and service setting, with --quick for a smoke run. */
import { Command, InvalidArgumentError, Option } from 'commander';

export interface Settings {
  quick: boolean;
  bcryptCost: number;
  threadpool: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  accounts: number;
  pacer: 'open-loop' | 'autocannon';
  connections: { login: number; me: number; refresh: number; mix: number };
  /** Refresh tokens (sessions) per refresh connection. */
  refreshPool: number;
  /** Interleaved baseline/service rounds for the login and me ratios. */
  rounds: number;
  seconds: { warmup: number; baseline: number; login: number; max: number; refresh: number; paced: number; mix: number };
  outDir: string;
  /** Write a V8 CPU profile of the service next to the JSON. */
  cpuProf: boolean;
}

const full = { rounds: 3, refreshPool: 4, warmup: 3, baseline: 5, login: 8, max: 5, refresh: 10, paced: 15, mix: 30 };
const quick = { rounds: 1, refreshPool: 2, warmup: 1, baseline: 3, login: 4, max: 3, refresh: 4, paced: 5, mix: 8 };

function positive(name: string, integerOnly = true) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (integerOnly && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integerOnly ? 'whole ' : ''}number`);
    }
    return value;
  };
}

export function parseSettings(argv: string[], defaultOutDir: string): Settings {
  const seconds = (flag: string, phase: Exclude<keyof typeof full, 'rounds' | 'refreshPool'>, what: string): Option =>
    new Option(`--${flag} <s>`, `${what} (default ${full[phase]} s; --quick ${quick[phase]} s)`).argParser(positive(`--${flag}`, false));
  const program = new Command('bench:service')
    .description(
      [
        'Benchmarks the Keyward auth service (a child process) against real PostgreSQL',
        'and Redis on loopback. Each figure is a ratio or a bound against a baseline',
        'measured in the same run on this machine (see bench/README.md):',
        '  login/s ÷ raw bcrypt compare/s (same cost, pool size, concurrency)  ≥ 0.85',
        '  me req/s ÷ a bare node:http server doing the same verification     ≥ 0.6',
        '  p99 of me, and of refresh, at half their measured maximum          < 100 ms',
        "  cache hit rate under the guide's mix (80 % login+me, 20 % register) ≥ 0.8",
        '  peak RSS of the service process                                    < 256 MiB',
        'Prints a table and writes bench/results/service-<timestamp>.json. Exit status',
        '0 even when a target is missed, 1 when the run failed, 130 when interrupted.',
      ].join('\n'),
    )
    .option('--quick', 'smoke run of about a minute (shorter phases)', false)
    .addOption(new Option('--bcrypt-cost <n>', 'BCRYPT_COST of the service and the bcrypt baseline').env('BCRYPT_COST').argParser(positive('--bcrypt-cost')).default(12))
    .addOption(new Option('--threadpool <n>', 'UV_THREADPOOL_SIZE of the service and the bcrypt baseline').env('UV_THREADPOOL_SIZE').argParser(positive('--threadpool')).default(4))
    .addOption(new Option('--log-level <level>', 'LOG_LEVEL of the service (its production default is info)').choices(['error', 'warn', 'info', 'debug']).default('info'))
    .addOption(new Option('--accounts <n>', 'accounts seeded for logins').argParser(positive('--accounts')).default(1000))
    .addOption(new Option('--pacer <kind>', 'how the half-load latency runs are paced (README: why open-loop)').choices(['open-loop', 'autocannon']).default('open-loop'))
    .addOption(new Option('--login-connections <n>', 'concurrent logins, and concurrent compares of the bcrypt baseline').argParser(positive('--login-connections')).default(8))
    .addOption(new Option('--me-connections <n>', 'connections for the me runs (service and bare server)').argParser(positive('--me-connections')).default(32))
    .addOption(new Option('--refresh-connections <n>', 'connections for the refresh run').argParser(positive('--refresh-connections')).default(16))
    .addOption(new Option('--refresh-pool <n>', `refresh tokens (sessions) per refresh connection (default ${full.refreshPool}; --quick ${quick.refreshPool})`).argParser(positive('--refresh-pool')))
    .addOption(new Option('--mix-connections <n>', 'connections for the guide\'s load mix').argParser(positive('--mix-connections')).default(8))
    .addOption(new Option('--rounds <n>', `interleaved baseline/service rounds for the login and me ratios (default ${full.rounds}; --quick ${quick.rounds})`).argParser(positive('--rounds')))
    .addOption(seconds('warmup', 'warmup', 'warm-up before the login, me and refresh runs, not counted'))
    .addOption(seconds('baseline-duration', 'baseline', 'each bcrypt baseline run (rounds + 1 of them), after 2 s settling'))
    .addOption(seconds('login-duration', 'login', 'each login run, after 2 s settling'))
    .addOption(seconds('max-duration', 'max', 'each me run, on the service and on the bare server'))
    .addOption(seconds('refresh-duration', 'refresh', 'the maximum-throughput refresh run'))
    .addOption(seconds('paced-duration', 'paced', 'each half-load latency run'))
    .addOption(seconds('mix-duration', 'mix', 'the guide\'s load mix'))
    .addOption(new Option('--out-dir <dir>', 'where the JSON goes').default(defaultOutDir, 'bench/results'))
    .option('--cpu-prof', 'also write a V8 CPU profile of the service there (open it in Chrome DevTools)', false)
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    quick: boolean; bcryptCost: number; threadpool: number; logLevel: Settings['logLevel']; accounts: number; pacer: Settings['pacer'];
    loginConnections: number; meConnections: number; refreshConnections: number; refreshPool?: number; mixConnections: number;
    rounds?: number; warmup?: number; baselineDuration?: number; loginDuration?: number; maxDuration?: number; refreshDuration?: number;
    pacedDuration?: number; mixDuration?: number; outDir: string; cpuProf: boolean;
  }>();
  const base = o.quick ? quick : full;
  return {
    quick: o.quick,
    bcryptCost: o.bcryptCost,
    threadpool: o.threadpool,
    logLevel: o.logLevel,
    accounts: o.accounts,
    pacer: o.pacer,
    connections: { login: o.loginConnections, me: o.meConnections, refresh: o.refreshConnections, mix: o.mixConnections },
    refreshPool: o.refreshPool ?? base.refreshPool,
    rounds: o.rounds ?? base.rounds,
    seconds: {
      warmup: o.warmup ?? base.warmup,
      baseline: o.baselineDuration ?? base.baseline,
      login: o.loginDuration ?? base.login,
      max: o.maxDuration ?? base.max,
      refresh: o.refreshDuration ?? base.refresh,
      paced: o.pacedDuration ?? base.paced,
      mix: o.mixDuration ?? base.mix,
    },
    outDir: o.outDir,
    cpuProf: o.cpuProf,
  };
}
