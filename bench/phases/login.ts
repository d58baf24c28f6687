/**
 * Login throughput against the raw bcrypt limit, interleaved: bcrypt, login,
 * bcrypt, login, …, bcrypt. Each login run is compared with the mean of the
 * baseline runs on either side of it, and the figure is the median of those
 * ratios: on a shared machine a neighbour's build can halve the CPU we get for
 * a few seconds, and a baseline taken minutes away would not see it.
 *
 * Both sides are measured the same way, in a window that opens SETTLE_SECONDS
 * after the load starts, as concurrency ÷ mean latency of the operations that
 * end in the window (Little's law: the number in flight is fixed, every
 * connection or loop sends again at once). Counting completions instead is
 * quantised: the pool's threads start together and keep finishing in batches
 * of UV_THREADPOOL_SIZE, so a window of a few seconds gains or loses a whole batch.
 */
import { messageFrom, spawnNode } from '../support/children.js';
import { closedLoop, type ClosedLoopResult } from '../support/closed-loop.js';
import { readCpuSeconds } from '../support/proc-stats.js';
import { loginSequence } from '../support/scenarios.js';
import { median, type BenchContext } from './context.js';

const SETTLE_SECONDS = 2;

export interface BcryptResult {
  cost: number;
  concurrency: number;
  threadpool: number;
  seconds: number;
  /** Compares that ended in the window, and their mean latency (queueing for a pool thread included). */
  completed: number;
  meanLatencyMs: number;
  /** concurrency ÷ mean latency. */
  perSecond: number;
  /** completed ÷ window, for comparison. */
  countedPerSecond: number;
  /** CPU the child used in the window. */
  cpuSeconds: number;
  cpuPercent: number;
  mismatches: number;
}

export interface LoginRound {
  /** autocannon's view of the whole run, settling included. */
  run: ClosedLoopResult;
  /** Logins that ended in the window, and their mean latency. */
  completed: number;
  meanLatencyMs: number;
  /** concurrency ÷ mean latency. */
  perSecond: number;
  countedPerSecond: number;
  /** Service CPU in the window. */
  cpuSeconds: number;
  bcryptBefore: number;
  bcryptAfter: number;
  ratio: number;
}

export interface LoginOutcome {
  rounds: LoginRound[];
  baselines: BcryptResult[];
  /** Median over rounds of login/s ÷ mean of the neighbouring baselines: the target's figure. */
  ratio: number;
  loginPerSecond: number;
  bcryptPerSecond: number;
  failed: number;
  /**
   * Logins per CPU-second of the service ÷ compares per CPU-second of the
   * bcrypt child: the share of the service's CPU that a login spends in
   * bcrypt, whatever share of the machine the neighbours left us.
   */
  cpuNormalisedRatio: number;
}

async function bcryptRun(ctx: BenchContext, n: number): Promise<BcryptResult> {
  const s = ctx.settings;
  const child = spawnNode({
    name: 'bcrypt-baseline',
    args: [ctx.build.bcryptBaseline, String(s.bcryptCost), String(s.connections.login), String(SETTLE_SECONDS), String(s.seconds.baseline)],
    env: { PATH: process.env['PATH'] ?? '', UV_THREADPOOL_SIZE: String(s.threadpool) },
    logFile: `${ctx.tmp}/bcrypt-${n}.log`,
    ipc: true,
  });
  try {
    return await messageFrom<BcryptResult>(child, 'result', (SETTLE_SECONDS + s.seconds.baseline + 120) * 1000);
  } finally {
    await child.stop();
  }
}

/** One login run: SETTLE_SECONDS of load, then the measured window, with the service's CPU read at its edges. */
async function loginRun(ctx: BenchContext, i: number, keep: number): Promise<Omit<LoginRound, 'bcryptBefore' | 'bcryptAfter' | 'ratio'>> {
  const s = ctx.settings;
  const pid = ctx.service.child.pid;
  const from = performance.now() + SETTLE_SECONDS * 1000;
  const until = from + s.seconds.login * 1000;
  let cpuFrom = NaN;
  let cpuUntil = NaN;
  const timers = [
    setTimeout(() => (cpuFrom = readCpuSeconds(pid)), from - performance.now()),
    setTimeout(() => (cpuUntil = readCpuSeconds(pid)), until - performance.now()),
  ];
  let completed = 0;
  let latencySum = 0;
  const run = await closedLoop({
    title: `login ${i}`,
    url: ctx.service.url,
    connections: s.connections.login,
    // autocannon stops when the window closes; answers still in flight then fall outside it anyway.
    durationSeconds: SETTLE_SECONDS + s.seconds.login,
    requestsFor: loginSequence(ctx.accounts, ctx.sessions, keep),
    onResponse: (status, latencyMs) => {
      const now = performance.now();
      if (status === 200 && now >= from && now < until) {
        completed++;
        latencySum += latencyMs;
      }
    },
    progress: ctx.progress,
  }).finally(() => timers.forEach(clearTimeout));
  if (Number.isNaN(cpuUntil)) cpuUntil = readCpuSeconds(pid); // autocannon's own timer fired first
  return {
    run,
    completed,
    meanLatencyMs: latencySum / completed,
    perSecond: s.connections.login / (latencySum / completed / 1000),
    countedPerSecond: completed / s.seconds.login,
    cpuSeconds: cpuUntil - cpuFrom,
  };
}

/** Sessions the later phases need: a token per me connection, a pool per refresh connection. */
export const sessionsWanted = (s: BenchContext['settings']): number => Math.max(s.connections.me, s.connections.refresh * s.refreshPool);

export async function runLogin(ctx: BenchContext): Promise<LoginOutcome> {
  const s = ctx.settings;
  const keep = sessionsWanted(s);
  ctx.say(
    `login vs raw bcrypt: ${s.rounds} round(s) of bcrypt ${s.seconds.baseline} s / login ${s.seconds.login} s (each after ${SETTLE_SECONDS} s settling), ` +
      `cost ${s.bcryptCost}, ${s.connections.login} concurrent, UV_THREADPOOL_SIZE ${s.threadpool}`,
  );
  await closedLoop({ title: 'login warm-up', url: ctx.service.url, connections: s.connections.login, durationSeconds: s.seconds.warmup, requestsFor: loginSequence(ctx.accounts, ctx.sessions, keep), progress: ctx.progress });
  ctx.checkpoint();

  const baselines: BcryptResult[] = [];
  const measureBaseline = async (): Promise<void> => {
    const n = baselines.length + 1;
    const { result } = await ctx.phase(`bcrypt baseline ${n}`, () => bcryptRun(ctx, n), { reportsOwnCpu: { label: 'bcrypt child', cpuPercent: (r) => r.cpuPercent } });
    baselines.push(result);
    ctx.say(`  bcrypt baseline ${n}: ${result.perSecond.toFixed(2)} compare/s (mean latency ${result.meanLatencyMs.toFixed(0)} ms; ${result.completed} counted)`);
  };

  const rounds: LoginRound[] = [];
  await measureBaseline();
  for (let i = 1; i <= s.rounds; i++) {
    const { result } = await ctx.phase(`login ${i}`, () => loginRun(ctx, i, keep));
    const failed = result.run.non2xx + result.run.errors;
    ctx.say(`  login ${i}: ${result.perSecond.toFixed(2)} login/s (mean latency ${result.meanLatencyMs.toFixed(0)} ms; ${result.completed} counted)${failed ? `, ${failed} failed` : ''}`);
    await measureBaseline();
    const [before, after] = [baselines.at(-2)!.perSecond, baselines.at(-1)!.perSecond];
    rounds.push({ ...result, bcryptBefore: before, bcryptAfter: after, ratio: result.perSecond / ((before + after) / 2) });
  }

  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const mean = (xs: number[]): number => sum(xs) / xs.length;
  // Per CPU-second: rate × window ÷ CPU in the window, pooled over the runs.
  const loginPerCpu = sum(rounds.map((r) => r.perSecond * s.seconds.login)) / sum(rounds.map((r) => r.cpuSeconds));
  const comparePerCpu = sum(baselines.map((b) => b.perSecond * b.seconds)) / sum(baselines.map((b) => b.cpuSeconds));
  return {
    rounds,
    baselines,
    ratio: median(rounds.map((r) => r.ratio)),
    loginPerSecond: mean(rounds.map((r) => r.perSecond)),
    bcryptPerSecond: mean(baselines.map((b) => b.perSecond)),
    failed: sum(rounds.map((r) => r.run.non2xx + r.run.errors)),
    cpuNormalisedRatio: loginPerCpu / comparePerCpu,
  };
}
