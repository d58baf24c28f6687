/**
 * Maximum refresh throughput; each connection rotates its own pool of sessions' refresh tokens.
 *
 * When autocannon stops it drops the connections with requests in flight; the
 * service still rotates those tokens, and the pool keeps the old one. Presented
 * again later, inside the reuse grace window, it gets the same successor back.
 * Each run is followed by a pause that lets cut-off requests finish, so the
 * next run does not present a token a request of this one is still rotating
 * (bench/README.md, "Found by this bench, and fixed").
 */
import { closedLoop, type ClosedLoopResult } from '../support/closed-loop.js';
import { newTally, refreshSequence, type Tally } from '../support/scenarios.js';
import type { BenchContext } from './context.js';

export interface RefreshOutcome {
  result: ClosedLoopResult;
  tally: Tally;
  /** The current (latest) refresh token of every session, per connection: the half-load run continues from them. */
  pools: string[][];
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1000));

export async function runRefresh(ctx: BenchContext): Promise<RefreshOutcome> {
  const s = ctx.settings;
  const pools = Array.from({ length: s.connections.refresh }, (_, c) => ctx.sessions.slice(c * s.refreshPool, (c + 1) * s.refreshPool).map((t) => t.refresh));
  const tally = newTally();
  const run = (title: string, seconds: number, t: Tally): Promise<ClosedLoopResult> =>
    closedLoop({ title, url: ctx.service.url, connections: s.connections.refresh, durationSeconds: seconds, requestsFor: refreshSequence(pools, t), progress: ctx.progress });
  ctx.say(`refresh: ${s.connections.refresh} connections × ${s.refreshPool} sessions, ${s.seconds.warmup} s warm-up + ${s.seconds.refresh} s`);
  await run('refresh warm-up', s.seconds.warmup, newTally());
  await settle();
  ctx.checkpoint();
  const { result } = await ctx.phase('refresh', () => run('refresh', s.seconds.refresh, tally));
  await settle();
  ctx.say(`  refresh: ${result.throughput.toFixed(0)} req/s, p99 ${result.latencyMs.p99} ms${result.non2xx + result.errors ? `, ${result.non2xx + result.errors} failed` : ''}`);
  return { result, tally, pools };
}
