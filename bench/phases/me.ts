/**
 * `GET /api/auth/me` against a bare node:http server doing the same token
 * verification, interleaved (bare, service, bare, …, bare) for the same
 * reason as login: each service run is compared with the bare runs on either
 * side of it, and the figure is the median ratio.
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
  const bareChild = spawnNode({
    name: 'me-baseline',
    args: [ctx.build.meServerBaseline],
    env: { PATH: process.env['PATH'] ?? '', UV_THREADPOOL_SIZE: String(s.threadpool), JWT_SIGNING_KEY: ctx.signingKeyPem },
    logFile: `${ctx.tmp}/me-baseline.log`,
    ipc: true,
  });
  try {
    const bareUrl = `http://127.0.0.1:${await messageFrom<number>(bareChild, 'listening', 30_000)}`;
    const run = (title: string, url: string, seconds: number): Promise<ClosedLoopResult> =>
      closedLoop({ title, url, connections: s.connections.me, durationSeconds: seconds, requestsFor: meSequence(ctx.sessions), progress: ctx.progress });
    ctx.say(`me vs bare node:http verify: ${s.rounds} round(s) of ${s.seconds.max} s each, ${s.connections.me} connections`);
    await run('me (bare) warm-up', bareUrl, s.seconds.warmup);
    await run('me warm-up', ctx.service.url, s.seconds.warmup);
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

    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const serviceOk = sum(rounds.map((r) => r.service.ok));
    const bareOk = sum(bare.map((b) => b.ok));
    const serviceCpuMicros = (sum(serviceCpu) / serviceOk) * 1e6;
    const bareCpuMicros = (sum(bareCpu) / bareOk) * 1e6;
    return {
      rounds,
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
    await bareChild.stop();
  }
}
