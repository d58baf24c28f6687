/**
 * `npm run bench:operator [-- --quick | --help]`: keyward-operator's benchmark.
 *
 * control plane → CRD, RBAC, namespaces → operator A (child process, own RBAC)
 * → one AuthService × rounds, each against the bench applying the same 11
 * objects → N AuthServices at once, against the bench applying N × 11 objects
 * → every AuthService Healthy → operator B with a short resync: writes on
 * restart and per idle resync → table + JSON → stop everything. Every figure
 * that has a meaningful baseline is a ratio against one measured in this run
 * (bench/README.md): these machines are shared and noisy.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { operatorCommand } from './operator/build.js';
import { runBurst, runBurstBaseline, type BurstBaseline, type BurstResult } from './operator/burst.js';
import { BASELINE_NAMESPACE, NAMESPACE, type BenchContext } from './operator/context.js';
import { totalReconciles, totalWrites, delta, withCounters, type CountedOperator } from './operator/metrics.js';
import { createPresenceTracker, type PresenceTracker } from './operator/presence.js';
import { memorySampler, phaseLoad, type PhaseLoad } from './operator/proc.js';
import { figure, renderTable, type Figure } from './operator/report.js';
import { runResync, type ResyncResult } from './operator/resync.js';
import { benchSecrets, CHILDREN_PER_AUTHSERVICE } from './operator/sample.js';
import { parseSettings } from './operator/settings.js';
import { runSingle, type SingleResult } from './operator/single.js';
import { buildControlPlane, prepareNamespace, startBenchCluster } from './support/cluster.js';
import { percentile } from './support/percentile.js';
import { MiB, round } from './support/proc-stats.js';
import { benchRun } from './support/run.js';
import { startOperator } from './support/operator-process.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
const say = (line: string): void => void process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

const { cleanups, checkInterrupted, run } = benchRun(say);

/** Logs worth keeping, copied next to the JSON at the end (or on failure). */
const keptLogs: Array<{ from: string; to: string }> = [];
/** The control plane's logs, kept too when something went wrong. */
let planeLogs: (() => void) | undefined;
function keepLogs(): string[] {
  const kept: string[] = [];
  for (const { from, to } of keptLogs) {
    if (!existsSync(from)) continue;
    copyFileSync(from, to);
    kept.push(relative(repo, to));
  }
  return kept;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : 'n/a');
const mib = (bytes: number): number => round(bytes / MiB, 1);
/** An AuthService whose children never all appeared counts as slower than any that did. */
const orInfinity = (values: readonly number[]): number[] => values.map((v) => (Number.isNaN(v) ? Infinity : v));

async function main(): Promise<void> {
  const s = parseSettings(process.argv.slice(2), join(repo, 'bench/results'));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const args = process.argv.slice(2);
  const command = `npm run bench:operator${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const loadBefore = loadavg();
  const total = s.repeats + s.count;
  say(`Keyward operator benchmark (${s.quick ? 'quick' : 'full'}): ${s.repeats} single round(s), ${s.count} AuthServices at once, ` +
    `${s.workers} workers, ${s.replicas} replica(s) each, resync ${s.resyncSeconds} s × ${s.resyncs}`);
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}: shared, so other tenants' work is noise`);
  mkdirSync(s.outDir, { recursive: true });

  const tmp = mkdtempSync(join(tmpdir(), 'keyward-bench-operator-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));

  const buildDir = join(repo, 'bench/results', `.build-operator-${process.pid}`);
  cleanups.push(() => rmSync(buildDir, { recursive: true, force: true }));
  say(s.runner === 'compiled' ? 'compiling the operator to JavaScript (it runs as plain node, as in production)' : 'the operator runs under tsx from the working tree');
  const build = operatorCommand(repo, s.runner, buildDir, (line) => say(`  ${line}`));
  checkInterrupted();

  buildControlPlane(repo, say);
  checkInterrupted();
  let planePids: () => Record<string, number> = () => ({});
  planeLogs = () => {
    for (const component of ['kube-controller-manager', 'kwok', 'kube-apiserver']) {
      keptLogs.push({ from: join(tmp, 'plane', `${component}.log`), to: join(s.outDir, `operator-${stamp}.${component}.log`) });
    }
  };
  const cluster = await startBenchCluster({
    dir: join(tmp, 'plane'),
    nodes: s.nodes,
    log: (line) => say(`  ${line}`),
    onStarted: (plane) => {
      cleanups.push(() => plane.stop());
      planePids = () => Object.fromEntries(plane.components().filter((c) => c.name !== 'kube-scheduler').map((c) => [c.name, c.pid]));
    },
  });
  checkInterrupted();
  const { admin } = cluster;
  await prepareNamespace(admin, NAMESPACE, benchSecrets(NAMESPACE));
  await prepareNamespace(admin, BASELINE_NAMESPACE, benchSecrets(BASELINE_NAMESPACE));

  const anomalies: string[] = [];
  const trackers: PresenceTracker[] = [];
  const tracker = createPresenceTracker(admin, NAMESPACE, say);
  const baselineTracker = createPresenceTracker(admin, BASELINE_NAMESPACE, say);
  trackers.push(tracker, baselineTracker);
  cleanups.push(() => trackers.forEach((t) => t.stop()));
  await Promise.all([tracker.synced, baselineTracker.synced]);

  let operator: CountedOperator | undefined;
  const launch = async (label: string, resyncSeconds: number): Promise<CountedOperator> => {
    const logFile = join(tmp, `operator-${label}.log`);
    keptLogs.push({ from: logFile, to: join(s.outDir, `operator-${stamp}.operator-${label}.log`) });
    const t0 = performance.now();
    const started = withCounters(await startOperator({
      repo,
      cli: build.cli,
      kubeconfig: cluster.operatorKubeconfig,
      namespace: NAMESPACE,
      flags: ['--workers', String(s.workers), '--resync-seconds', String(resyncSeconds)],
      logFile,
      readyTimeoutMs: 120_000,
    }));
    cleanups.push(() => started.stop());
    say(`operator ${label}: pid ${started.pid}, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (user keyward-operator, --namespace ${NAMESPACE}, --resync-seconds ${resyncSeconds}, --workers ${s.workers})`);
    return started;
  };
  const ctx: BenchContext = {
    settings: s,
    admin,
    tracker,
    baselineTracker,
    operator: () => {
      if (!operator) throw new Error('no operator running');
      return operator;
    },
    say,
    anomaly: (text) => {
      anomalies.push(text);
      say(`ANOMALY: ${text}`);
    },
    checkInterrupted: () => {
      checkInterrupted();
    },
  };
  const pids = (): Record<string, number> => ({ ...(operator ? { operator: operator.pid } : {}), ...planePids() });
  const loads: Record<string, PhaseLoad> = {};

  // Operator A: no resync during the timed phases (an hour), so every reconcile there is caused by an event.
  operator = await launch('a', 3600);
  const memA = memorySampler(operator.pid);
  cleanups.push(() => memA.stop());
  await sleep(3000);
  const emptyRss = memA.steady(2000);
  const emptyHeap = (await operator.counters()).heap;
  say(`operator A RSS with no AuthService: ${mib(emptyRss)} MiB (JS heap used ${mib(emptyHeap.used)} MiB)`);

  say(`phase 1: one AuthService, ${s.repeats} round(s), each against the bench applying the same ${CHILDREN_PER_AUTHSERVICE} objects`);
  let done = phaseLoad(pids);
  const single: SingleResult = await runSingle(ctx);
  loads['single'] = done();

  say(`phase 2a: ${s.count} AuthServices created at once (${s.createConcurrency} parallel creates)`);
  done = phaseLoad(pids);
  const burst: BurstResult = await runBurst(ctx);
  loads['burst'] = done();
  await sleep(5000);
  const peakA = memA.peak();
  const steadyA = memA.steady(5000);
  const heapA = (await operator.counters()).heap;
  memA.stop();
  say(`operator A RSS with ${total} AuthServices: steady ${mib(steadyA)} MiB, peak (VmHWM) ${mib(peakA.hwm)} MiB (JS heap used ${mib(heapA.used)} MiB)`);

  say(`phase 2b: baseline: the bench applies ${s.count} × ${CHILDREN_PER_AUTHSERVICE} objects itself in ${s.workers} lanes (namespace ${BASELINE_NAMESPACE}, not watched by the operator)`);
  done = phaseLoad(pids);
  const burstBaseline: BurstBaseline = await runBurstBaseline(ctx);
  loads['burstBaseline'] = done();
  say(`  baseline: ${ms(burstBaseline.baselineWallMs)} for ${s.count * CHILDREN_PER_AUTHSERVICE} objects`);
  baselineTracker.stop();

  say(`phase 3: operator B with --resync-seconds ${s.resyncSeconds}: writes on restart and per idle resync`);
  await operator.stop();
  tracker.recordChanges(true);
  done = phaseLoad(pids);
  operator = await launch('b', s.resyncSeconds);
  const memB = memorySampler(operator.pid);
  cleanups.push(() => memB.stop());
  const resync: ResyncResult = await runResync(ctx, total);
  loads['resync'] = done();
  const steadyB = memB.steady(5000);
  const peakB = memB.peak();
  const heapB = (await operator.counters()).heap;
  memB.stop();
  await operator.stop();
  operator = undefined;

  // Figures.
  const burstReconciles = totalReconciles(burst.childrenPresent) - totalReconciles(burst.before);
  const burstSeconds = (burst.childrenPresent.at - burst.before.at) / 1000;
  const settledAt = burst.settled ?? burst.childrenPresent;
  const burstWrites = totalWrites(settledAt) - totalWrites(burst.before);
  const durationCount = settledAt.reconcileSeconds.count - burst.before.reconcileSeconds.count;
  const meanReconcileMs = durationCount > 0 ? ((settledAt.reconcileSeconds.sum - burst.before.reconcileSeconds.sum) / durationCount) * 1000 : NaN;
  const idleWrites = Object.values(resync.idle.writes).reduce((a, b) => a + b, 0);
  const restartWrites = Object.values(resync.restart.writes).reduce((a, b) => a + b, 0);
  const n = s.count;
  const figures: Figure[] = [
    figure({ id: 'single_p50_ms', label: '1 AuthService: create → 11 children, p50', value: percentile(orInfinity(single.operatorMs), 50), baseline: percentile(single.baselineMs, 50), unit: 'ms', note: 'baseline: the bench applies the 11 objects itself, sequentially, until its watch sees them' }),
    figure({ id: 'single_p99_ms', label: `1 AuthService: p99 (max of ${s.repeats})`, value: percentile(orInfinity(single.operatorMs), 99), baseline: percentile(single.baselineMs, 99), unit: 'ms' }),
    figure({ id: 'burst_p50_ms', label: `${n} at once: create → children, p50`, value: percentile(orInfinity(burst.operatorMs), 50), baseline: percentile(burstBaseline.baselineMs, 50), unit: 'ms', note: `baseline: ${n} × 11 objects applied in ${s.workers} lanes, each group timed from the burst start` }),
    figure({ id: 'burst_p99_ms', label: `${n} at once: create → children, p99`, value: percentile(orInfinity(burst.operatorMs), 99), baseline: percentile(burstBaseline.baselineMs, 99), unit: 'ms' }),
    figure({ id: 'burst_ungated_p50_ms', label: `${n} at once: create → the 9 ungated, p50`, value: percentile(orInfinity(burst.ungatedMs), 50), baseline: percentile(burstBaseline.baselineMs, 50), unit: 'ms', note: 'all children but the stable Service and the HPA, which wait for the first colour to be Available' }),
    figure({ id: 'burst_ungated_p99_ms', label: `${n} at once: create → the 9 ungated, p99`, value: percentile(orInfinity(burst.ungatedMs), 99), baseline: percentile(burstBaseline.baselineMs, 99), unit: 'ms' }),
    figure({ id: 'burst_wall_ms', label: `${n} at once: wall time to all children`, value: burst.incomplete.length > 0 ? NaN : burst.operatorWallMs, baseline: burstBaseline.baselineWallMs, unit: 'ms' }),
    // AuthServices against AuthServices: a reconcile is one pass, and an AuthService takes several (its
    // children's events bring more), so reconciles/s over AuthServices/s would flatter the operator.
    figure({ id: 'authservices_per_second', label: `AuthServices/s with all children, working through ${n}`, value: burst.incomplete.length > 0 ? NaN : n / (burst.operatorWallMs / 1000), baseline: n / (burstBaseline.baselineWallMs / 1000), unit: '/s', note: 'baseline: AuthServices-worth of applies (11 objects) per second the bench itself managed' }),
    figure({ id: 'reconciles_per_second', label: `reconciles/s working through ${n}`, value: burstReconciles / burstSeconds, unit: '/s' }),
    figure({ id: 'reconciles_per_authservice', label: 'reconcile passes per AuthService created', value: burstReconciles / n, unit: '' }),
    figure({ id: 'writes_per_authservice', label: 'API writes per AuthService created', value: burstWrites / n, baseline: CHILDREN_PER_AUTHSERVICE, unit: '', note: 'operator: applies + Events + status patches until settled; baseline: the 11 applies' }),
    figure({ id: 'writes_on_restart', label: `API writes on restart (${total} Healthy)`, value: restartWrites, unit: '', target: { op: '<=', value: 0 } }),
    figure({
      id: 'writes_per_idle_resync',
      label: resync.idle.disturbed ? 'API writes per idle resync (DISTURBED)' : 'API writes per idle resync',
      value: resync.idle.resyncs > 0 ? idleWrites / resync.idle.resyncs : NaN,
      unit: '',
      target: { op: '<=', value: 0 },
      ...(resync.idle.disturbed ? { note: `every one of ${resync.attempts.length} idle windows saw status changes made by Kubernetes' controllers, so the operator had something to react to` } : {}),
    }),
    figure({ id: 'rss_peak_mib', label: `operator RSS peak (VmHWM), ${total} AuthServices`, value: mib(Math.max(peakA.hwm, peakB.hwm)), baseline: mib(emptyRss), unit: 'MiB', target: { op: '<', value: 150 }, note: 'baseline: steady RSS with no AuthService' }),
    figure({ id: 'rss_steady_after_burst_mib', label: `RSS steady after creating ${total}`, value: mib(steadyA), baseline: mib(emptyRss), unit: 'MiB', target: { op: '<', value: 150 }, note: 'operator A, 5 s after every AuthService settled' }),
    figure({ id: 'rss_steady_after_restart_mib', label: `RSS steady, restarted with ${total}`, value: mib(steadyB), baseline: mib(emptyRss), unit: 'MiB', target: { op: '<', value: 150 }, note: 'operator B, after its idle resyncs' }),
  ];
  const explain = (w: ResyncResult['idle'] | ResyncResult['restart']): string =>
    `; log: ${w.log.slice(0, 5).join(' | ') || '(no write logged)'}; objects changed: ${w.changes.length}` +
    `${w.changes.slice(0, 3).map((c) => `\n    ${c.object}: ${c.paths.slice(0, 6).join('; ')}${c.paths.length > 6 ? '; …' : ''}`).join('')} (all in the JSON)`;
  if (restartWrites > 0) anomalies.push(`${restartWrites} API write(s) when the operator restarted with every AuthService settled: ${JSON.stringify(resync.restart.writes)}${explain(resync.restart)}`);
  if (resync.idle.disturbed) {
    const e = resync.idle.external[0];
    anomalies.push(`no undisturbed idle window in ${resync.attempts.length} tries: Kubernetes' controllers kept changing children ` +
      `(${resync.idle.external.length} status change(s) in the last, e.g. ${e?.object}: ${e?.paths.slice(0, 3).join('; ')}); ` +
      `its ${idleWrites} write(s) ${JSON.stringify(resync.idle.writes)} may be reactions, not idle writes${explain(resync.idle)}`);
  } else if (idleWrites > 0) {
    anomalies.push(`${idleWrites} API write(s) over ${resync.idle.resyncs} idle resync(s) with nothing else changing: ${JSON.stringify(resync.idle.writes)}${explain(resync.idle)}`);
  }

  const loadAfter = loadavg();
  process.stdout.write(`\n${renderTable(figures)}\n\n`);
  process.stdout.write(`1 AuthService, per round (ms): operator ${single.operatorMs.map((v) => v.toFixed(0)).join(', ')} ` +
    `(the 9 ungated: ${single.ungatedMs.map((v) => v.toFixed(0)).join(', ')}); baseline ${single.baselineMs.map((v) => v.toFixed(0)).join(', ')}\n`);
  process.stdout.write(`${n} at once: creates took ${ms(burst.createMs)}; every AuthService Healthy after ${ms(burst.healthyMs)}; mean reconcile ${ms(meanReconcileMs)}; ` +
    `writes by verb ${JSON.stringify(delta(settledAt.writes, burst.before.writes))}\n`);
  process.stdout.write(`idle: ${resync.idle.reconciles} reconciles (${resync.idle.resyncs} resync(s)) in ${resync.idle.seconds.toFixed(1)} s; restart: ${resync.restart.reconciles} reconciles\n`);
  for (const [phase, load] of Object.entries(loads)) {
    process.stdout.write(`load ${phase}: ${load.seconds} s, machine ${(load.machineBusy * 100).toFixed(0)} % busy, CPU s ${Object.entries(load.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
  }
  process.stdout.write(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (2 cores: above 2 means waiting for CPU)\n`);
  if (anomalies.length > 0) process.stdout.write(`\nAnomalies (for the operator's owner; the bench changes nothing):\n${anomalies.map((a) => `- ${a}`).join('\n')}\n`);

  if (anomalies.length > 0) planeLogs?.();
  const logs = keepLogs();
  const out = join(s.outDir, `operator-${stamp}.json`);
  writeFileSync(out, `${JSON.stringify({
    command,
    startedAt: stamp,
    settings: s,
    operatorSource: build.source,
    sample: `sampleAuthService (test/support/operator.ts) with replicas ${s.replicas}, autoscaling.minReplicas ${s.replicas}, backup on, ServiceMonitor and PrometheusRule off: ${CHILDREN_PER_AUTHSERVICE} children`,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadBefore, loadAfter },
    figures,
    raw: {
      single,
      burst: { ...burst, meanReconcileMs, reconcilesPerSecondToSettled: burst.settled ? (totalReconciles(burst.settled) - totalReconciles(burst.before)) / ((burst.settled.at - burst.before.at) / 1000) : NaN },
      resync,
      memory: { emptyRss, emptyHeap, operatorA: { steady: steadyA, ...peakA, heap: heapA }, operatorB: { steady: steadyB, ...peakB, heap: heapB } },
      burstBaseline,
    },
    loads,
    anomalies,
    logs,
  }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  say(`wrote ${relative(repo, out)}${logs.length ? `; operator logs ${logs.join(', ')}` : ''}`);
}

run({
  name: 'bench:operator',
  main,
  onFailure: () => {
    planeLogs?.();
    const logs = keepLogs();
    if (logs.length) process.stderr.write(`operator logs kept: ${logs.join(', ')}\n`);
  },
});
