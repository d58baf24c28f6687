/**
 * `npm run bench:rollout [-- --quick | --help]`: how fast keyward-operator's
 * blue/green engine moves traffic (issue 5, "Benchmark").
 *
 * control plane → CRD, RBAC, namespace → loopback check servers (200, 503) →
 * the bench's watches → operator (child process, own RBAC) → three
 * AuthServices on blue → a warm-up round → rounds of { one rollout per series,
 * then the baseline selector patches } → table + JSON → stop everything.
 *
 * Series: flip (no analysis), pre (pre-promotion analysis, count 1), rollback
 * (post-promotion analysis against a 503). Every latency comes from the
 * bench's own watch stamps, or from a watch stamp and a time the operator
 * wrote into status; the baseline is the bench flipping a selector itself,
 * interleaved with the rollouts so both see the same machine: these machines
 * are shared and noisy, and only a ratio measured in one run means anything.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectAnomalies } from './rollout/anomalies.js';
import { createBaseline, type Baseline, type BaselineSample } from './rollout/baseline.js';
import { startCheckServer, type CheckServer } from './rollout/check-servers.js';
import { breakdown, rolloutFigures } from './rollout/figures.js';
import { measureLoad, type Load } from './rollout/machine.js';
import { startNodeHeartbeat } from './rollout/node-heartbeat.js';
import { renderTable } from './rollout/report.js';
import { deploySeries, rollOnce, type Sample, type Series, type SeriesContext, type SeriesName } from './rollout/series.js';
import { parseSettings, usage, UsageError, type RolloutBenchSettings } from './rollout/settings.js';
import { watchNamespace, type Timeline } from './rollout/timeline.js';
import { sampleSecrets } from '../test/support/operator.js';
import { percentile } from './support/percentile.js';
import { benchRun } from './support/run.js';
import { buildControlPlane, kubeClientFrom, prepareNamespace, startBenchCluster } from './support/cluster.js';
import { startOperator, type OperatorProcess } from './support/operator-process.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMESPACE = 'bench-rollout';
const t0 = performance.now();
const say = (line: string): void => void process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

const { cleanups, checkInterrupted, run } = benchRun(say);

/** The three series, each with its own AuthService and check server. */
function defineSeries(s: RolloutBenchSettings, healthy: CheckServer, failing: CheckServer): Series[] {
  const base = { scaleDownDelaySeconds: s.scaleDownDelaySeconds, progressDeadlineSeconds: Math.max(5, s.rolloutTimeoutSeconds) };
  return [
    { name: 'flip', authService: 'flip', rollout: base, checks: healthy },
    {
      name: 'pre',
      authService: 'pre',
      rollout: { ...base, prePromotionAnalysis: { httpGet: { path: '/health' }, count: 1, intervalSeconds: s.preIntervalSeconds, timeoutSeconds: 2 } },
      checks: healthy,
    },
    {
      name: 'rollback',
      authService: 'rollback',
      rollout: { ...base, postPromotionAnalysis: { httpGet: { path: '/health' }, count: 1, failureLimit: 0, intervalSeconds: s.postIntervalSeconds, timeoutSeconds: 2 } },
      checks: failing,
    },
  ];
}

interface Round {
  round: number;
  samples: Sample[];
  baseline: BaselineSample[];
  load: Load;
}

interface RoundRunner {
  ctx: SeriesContext;
  series: Series[];
  /** Series given up so far, with why; a series that fails once is dropped. */
  dead: Map<SeriesName, string>;
  baseline: Baseline;
  baselinePerRound: number;
  pids: () => Record<string, number>;
}

/** One rollout of every live series, then the baseline patches. */
async function runRound(r: RoundRunner, round: number): Promise<Round> {
  const { ctx, series, dead, pids } = r;
  const done = measureLoad(pids);
  const samples: Sample[] = [];
  for (const one of series) {
    if (dead.has(one.name)) continue;
    checkInterrupted();
    try {
      samples.push(await rollOnce(ctx, one, round));
    } catch (err) {
      checkInterrupted();
      const message = err instanceof Error ? err.message : String(err);
      dead.set(one.name, `round ${round}: ${message}`);
      say(`series ${one.name} stopped: ${message}`);
    }
  }
  checkInterrupted();
  const base = await r.baseline.sample(round, r.baselinePerRound);
  return { round, samples, baseline: base, load: done() };
}

const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const s = parseSettings(argv, join(repo, 'bench/results'));
  if (!s) {
    process.stdout.write(usage);
    process.exit(0); // nothing started yet
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const command = `npm run bench:rollout${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const loadBefore = loadavg();
  say(`Keyward rollout benchmark (${s.quick ? 'quick' : 'full'}): ${s.rollouts} rollouts per series (${s.series.join(', ')}), ${s.replicas} replicas, ` +
    `${s.baselinePerRollout} baseline patches per round`);
  say(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}: shared, so other tenants' work is noise`);
  mkdirSync(s.outDir, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'keyward-bench-rollout-'));
  cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
  const operatorLog = join(tmp, 'operator.log');
  const keptLog = join(s.outDir, `rollout-${stamp}.operator.log`);
  cleanups.push(() => existsSync(operatorLog) && copyFileSync(operatorLog, keptLog));
  if (s.keepLogs) {
    cleanups.push(() => {
      const planeDir = join(tmp, 'plane');
      for (const file of existsSync(planeDir) ? readdirSync(planeDir).filter((f) => f.endsWith('.log')) : []) {
        copyFileSync(join(planeDir, file), join(s.outDir, `rollout-${stamp}.${file}`));
      }
    });
  }

  buildControlPlane(repo, say);
  checkInterrupted();
  let planePids: () => Record<string, number> = () => ({});
  const cluster = await startBenchCluster({
    dir: join(tmp, 'plane'),
    nodes: s.nodes,
    log: (line) => say(`  ${line}`),
    onStarted: (plane) => {
      cleanups.push(() => plane.stop());
      planePids = () => Object.fromEntries(plane.components().filter((c) => c.name === 'kube-apiserver' || c.name === 'etcd').map((c) => [c.name, c.pid]));
    },
  });
  await prepareNamespace(cluster.admin, NAMESPACE, sampleSecrets(NAMESPACE));
  checkInterrupted();
  // The harness's kwok nodes never heartbeat: without these, every pod turns not ready ~50 s in (node-heartbeat.ts).
  const heartbeat = await startNodeHeartbeat(cluster.admin, 10_000, say);
  cleanups.push(() => heartbeat.stop());

  const healthy = await startCheckServer(200);
  cleanups.push(() => healthy.close());
  const failing = await startCheckServer(503);
  cleanups.push(() => failing.close());
  const series = defineSeries(s, healthy, failing).filter((one) => s.series.includes(one.name));
  const urlMap = join(tmp, 'service-urls.json');
  writeFileSync(urlMap, JSON.stringify(Object.fromEntries(series.flatMap((one) =>
    (['blue', 'green'] as const).map((colour) => [`${NAMESPACE}/${one.authService}-${colour}`, one.checks.url])))));

  const timeline: Timeline = watchNamespace(cluster.admin, NAMESPACE);
  cleanups.push(() => timeline.stop());
  await timeline.synced;

  const readyStart = performance.now();
  const operator: OperatorProcess = await startOperator({
    repo,
    cli: ['--import', 'tsx', 'operator/cli.ts'],
    kubeconfig: cluster.operatorKubeconfig,
    namespace: NAMESPACE,
    flags: ['--service-url-map', urlMap],
    logFile: operatorLog,
    readyTimeoutMs: 120_000,
  });
  cleanups.push(() => operator.stop());
  say(`operator: pid ${operator.pid} (node --import tsx operator/cli.ts run, user keyward-operator), ready in ${((performance.now() - readyStart) / 1000).toFixed(1)} s`);
  const pids = (): Record<string, number> => ({ operator: operator.pid, ...planePids() });
  checkInterrupted();

  const ctx: SeriesContext = { admin: cluster.admin, namespace: NAMESPACE, timeline, replicas: s.replicas, timeoutMs: s.rolloutTimeoutSeconds * 1000 };
  await Promise.all(series.map((one) => deploySeries(ctx, one, 'keyward-service:bench-initial')));
  say(`AuthServices ${series.map((one) => one.authService).join(', ')} Healthy on blue`);
  const baseline = await createBaseline({ client: await kubeClientFrom(cluster.operatorKubeconfig), namespace: NAMESPACE, timeline, timeoutMs: 30_000 });
  checkInterrupted();

  const dead = new Map<SeriesName, string>();
  say('warm-up round (not counted): one rollout of each series');
  const runner: RoundRunner = { ctx, series, dead, baseline, baselinePerRound: s.baselinePerRollout, pids };
  const warmUp = await runRound(runner, 0);
  const rounds: Round[] = [];
  const budgetEnds = performance.now() + s.budgetSeconds * 1000;
  let stoppedEarly: string | undefined;
  for (let round = 1; round <= s.rollouts; round++) {
    if (dead.size === series.length) break;
    if (performance.now() > budgetEnds) {
      stoppedEarly = `time budget of ${s.budgetSeconds} s spent after ${round - 1} round(s)`;
      say(stoppedEarly);
      break;
    }
    const r = await runRound(runner, round);
    rounds.push(r);
    const text = r.samples.map((x) => (x.series === 'rollback' ? `rollback ${ms(x.rollbackMs)}` : `${x.series} ${ms(x.flipMs)}`)).join(', ');
    say(`round ${round}/${s.rollouts}: ${text}; baseline patch ${r.baseline.map((b) => b.roundTripMs.toFixed(0)).join('/')} ms; ` +
      `machine ${(r.load.machineBusy * 100).toFixed(0)} % busy, CPU pressure ${(r.load.cpuPressure * 100).toFixed(0)} %`);
  }

  const samples = rounds.flatMap((r) => r.samples);
  const figureInput = { series: s.series, samples, baseline: rounds.flatMap((r) => r.baseline), preIntervalSeconds: s.preIntervalSeconds, postIntervalSeconds: s.postIntervalSeconds };
  const figures = rolloutFigures(figureInput);

  const anomalies = collectAnomalies({
    samples,
    dead,
    nodes: timeline.nodes,
    since: warmUp.samples[0]?.patchAt ?? rounds[0]?.samples[0]?.patchAt ?? Date.now(),
    operatorLog: operator.logLines(),
  });

  const loads = rounds.map((r) => r.load);
  const pressures = loads.map((l) => l.cpuPressure).filter(Number.isFinite);
  const opCpu = loads.reduce((a, l) => a + (l.cpuSeconds['operator'] ?? 0), 0);
  const loadAfter = loadavg();
  const out = process.stdout;
  out.write(`\n${renderTable(figures)}\n\n`);
  out.write(`p99 of ${rounds.length} values per series is their maximum (nearest rank). Times are Date.now() stamps of the bench's watch events and of the operator's status milestones (one machine, one clock).\n`);
  for (const line of breakdown(figureInput)) out.write(`${line}\n`);
  out.write(`machine over ${rounds.length} rounds: ${(loads.reduce((a, l) => a + l.machineBusy, 0) / Math.max(1, loads.length) * 100).toFixed(0)} % busy on average, ` +
    `CPU pressure p50 ${(percentile(pressures, 50) * 100).toFixed(0)} % / max ${(percentile(pressures, 100) * 100).toFixed(0)} %, operator CPU ${opCpu.toFixed(1)} s; ` +
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')} (2 cores: above 2 means waiting for CPU)\n`);
  if (percentile(pressures, 50) > 0.5) out.write(`note: tasks waited for a CPU more than half the time: the tails (p99) are the neighbours' as much as the operator's; compare ratios, rerun when quieter\n`);
  out.write(`kwok nodes kept Ready by the bench's heartbeats (${heartbeat.beats} status patches; the harness sends none, see bench/README.md)\n`);
  if (stoppedEarly) out.write(`note: ${stoppedEarly}\n`);
  if (anomalies.length > 0) out.write(`\nAnomalies (each says whose it is; the bench changes nothing):\n${anomalies.map((a) => `- ${a}`).join('\n')}\n`);

  const json = join(s.outDir, `rollout-${stamp}.json`);
  writeFileSync(json, `${JSON.stringify({
    command,
    startedAt: stamp,
    settings: s,
    operator: { runner: 'child process: node --import tsx operator/cli.ts run', log: relative(repo, keptLog) },
    series: series.map(({ name, authService, rollout }) => ({ name, authService, rollout })),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadBefore, loadAfter },
    figures,
    rounds,
    warmUp,
    stoppedEarly: stoppedEarly ?? null,
    nodeReadiness: timeline.nodes.map((n) => ({ ...n, at: new Date(n.at).toISOString() })),
    anomalies,
  }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  say(`wrote ${relative(repo, json)}; operator log ${relative(repo, keptLog)}`);
}

run({
  name: 'bench:rollout',
  main,
  handled: (err) => {
    if (!(err instanceof UsageError)) return undefined;
    process.stderr.write(`bench:rollout: ${err.message}\n\n${usage}`);
    return 2;
  },
});
