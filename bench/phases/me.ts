/**
 * `GET /api/auth/me` against a bare node:http server doing the same token
 * verification, interleaved (bare, service, bare, …, bare) for the same
 * reason as login: each service run is compared with the bare runs on either
 * side of it, and the figure is the median ratio.
 *
 * Then the same for an Express 5 app with one route and nothing else
 * (bare, Express, bare, …): not a target, the floor of the ratio for any
 * Express application on this machine, printed beside it.
 */
import { messageFrom, spawnNode } from '../support/children.js';
import { closedLoop, type ClosedLoopResult } from '../support/closed-loop.js';
import { meSequence } from '../support/scenarios.js';
import { median, type BenchContext } from './context.js';

export interface MeRound {
  service: ClosedLoopResult;
  bareBefore: number;
  bareAfter: number;
  ratio: number;
}

export interface MeOutcome {
  rounds: MeRound[];
  /** The one-route Express app's rounds, against the bare runs on either side. */
  expressRounds: MeRound[];
  /** Median of expressRounds' ratios: the least any Express app pays here. */
  expressRatio: number;
  expressPerSecond: number;
  expressCpuMicros: number;
  bare: ClosedLoopResult[];
  /** Median over rounds of service req/s ÷ mean of the neighbouring bare runs: the target's figure. */
  ratio: number;
  servicePerSecond: number;
  barePerSecond: number;
  failed: number;
  /** Requests per CPU-second of the service ÷ of the bare server: the per-request cost, independent of the CPU share we got. */
  cpuNormalisedRatio: number;
  /** CPU per request, microseconds. */
  serviceCpuMicros: number;
  bareCpuMicros: number;
}

export async function runMe(ctx: BenchContext): Promise<MeOutcome> {
  const s = ctx.settings;
  const baseline = (name: string, script: string): ReturnType<typeof spawnNode> =>
    spawnNode({
      name,
      args: [script],
      env: { PATH: process.env['PATH'] ?? '', UV_THREADPOOL_SIZE: String(s.threadpool), JWT_SIGNING_KEY: ctx.signingKeyPem },
      logFile: `${ctx.tmp}/${name}.log`,
      ipc: true,
    });
  const bareChild = baseline('me-baseline', ctx.build.meServerBaseline);
  const expressChild = baseline('me-express-baseline', ctx.build.meExpressBaseline);
  try {
    const bareUrl = `http://127.0.0.1:${await messageFrom<number>(bareChild, 'listening', 30_000)}`;
    const expressUrl = `http://127.0.0.1:${await messageFrom<number>(expressChild, 'listening', 30_000)}`;
    const run = (title: string, url: string, seconds: number): Promise<ClosedLoopResult> =>
      closedLoop({ title, url, connections: s.connections.me, durationSeconds: seconds, requestsFor: meSequence(ctx.sessions), progress: ctx.progress });
    ctx.say(`me vs bare node:http verify: ${s.rounds} round(s) of ${s.seconds.max} s each, ${s.connections.me} connections`);
    await run('me (bare) warm-up', bareUrl, s.seconds.warmup);
    await run('me warm-up', ctx.service.url, s.seconds.warmup);
    await run('me (Express floor) warm-up', expressUrl, s.seconds.warmup);
    ctx.checkpoint();

    const bare: ClosedLoopResult[] = [];
    const bareCpu: number[] = [];
    const measureBare = async (): Promise<void> => {
      const n = bare.length + 1;
      const { result, stats } = await ctx.phase(`me bare ${n}`, () => run(`me (bare) ${n}`, bareUrl, s.seconds.max), { watch: { pid: bareChild.pid, label: 'bare server' } });
      bare.push(result);
      bareCpu.push((stats.cpuPercent / 100) * stats.seconds);
      ctx.say(`  me bare ${n}: ${result.throughput.toFixed(0)} req/s, p99 ${result.latencyMs.p99} ms`);
    };

    const rounds: MeRound[] = [];
    const serviceCpu: number[] = [];
    await measureBare();
    for (let i = 1; i <= s.rounds; i++) {
      const { result, stats } = await ctx.phase(`me ${i}`, () => run(`me ${i}`, ctx.service.url, s.seconds.max));
      serviceCpu.push((stats.cpuPercent / 100) * stats.seconds);
      ctx.say(`  me ${i}: ${result.throughput.toFixed(0)} req/s, p99 ${result.latencyMs.p99} ms${result.non2xx + result.errors ? `, ${result.non2xx + result.errors} failed` : ''}`);
      await measureBare();
      const [before, after] = [bare.at(-2)!.throughput, bare.at(-1)!.throughput];
      rounds.push({ service: result, bareBefore: before, bareAfter: after, ratio: result.throughput / ((before + after) / 2) });
    }

    const expressRounds: MeRound[] = [];
    const expressCpu: number[] = [];
    for (let i = 1; i <= s.rounds; i++) {
      const { result, stats } = await ctx.phase(`me Express floor ${i}`, () => run(`me (Express floor) ${i}`, expressUrl, s.seconds.max), {
        watch: { pid: expressChild.pid, label: 'Express floor' },
      });
      expressCpu.push((stats.cpuPercent / 100) * stats.seconds);
      ctx.say(`  me Express floor ${i}: ${result.throughput.toFixed(0)} req/s, p99 ${result.latencyMs.p99} ms`);
      await measureBare();
      const [before, after] = [bare.at(-2)!.throughput, bare.at(-1)!.throughput];
      expressRounds.push({ service: result, bareBefore: before, bareAfter: after, ratio: result.throughput / ((before + after) / 2) });
    }

    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const expressOk = sum(expressRounds.map((r) => r.service.ok));
    const serviceOk = sum(rounds.map((r) => r.service.ok));
    const bareOk = sum(bare.map((b) => b.ok));
    const serviceCpuMicros = (sum(serviceCpu) / serviceOk) * 1e6;
    const bareCpuMicros = (sum(bareCpu) / bareOk) * 1e6;
    return {
      rounds,
      expressRounds,
      expressRatio: median(expressRounds.map((r) => r.ratio)),
      expressPerSecond: expressOk / sum(expressRounds.map((r) => r.service.durationSeconds)),
      expressCpuMicros: (sum(expressCpu) / expressOk) * 1e6,
      bare,
      ratio: median(rounds.map((r) => r.ratio)),
      servicePerSecond: serviceOk / sum(rounds.map((r) => r.service.durationSeconds)),
      barePerSecond: bareOk / sum(bare.map((b) => b.durationSeconds)),
      failed: sum(rounds.map((r) => r.service.non2xx + r.service.errors)),
      cpuNormalisedRatio: bareCpuMicros / serviceCpuMicros,
      serviceCpuMicros,
      bareCpuMicros,
    };
  } finally {
    await Promise.all([bareChild.stop(), expressChild.stop()]);
  }
}
