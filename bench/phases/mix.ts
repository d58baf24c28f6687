/**
 * The guide's Artillery mix (80 % login then me, 20 % register) and the cache
 * hit rate it produces, from the service's own counters read before and after.
 */
import { closedLoop, type ClosedLoopResult } from '../support/closed-loop.js';
import { cacheCounters, difference, hitRates, type CacheCounters, type HitRates } from '../support/prometheus.js';
import { mixSequence, newTally, type MixTallies } from '../support/scenarios.js';
import type { BenchContext } from './context.js';

export interface MixOutcome {
  result: ClosedLoopResult;
  tallies: MixTallies;
  perSecond: { login: number; me: number; register: number };
  cache: { counters: CacheCounters; rates: HitRates };
}

export async function runMix(ctx: BenchContext, runId: string): Promise<MixOutcome> {
  const s = ctx.settings;
  const tallies: MixTallies = { login: newTally(), me: newTally(), register: newTally() };
  ctx.say(`the guide's mix (80 % login then me, 20 % register): ${s.connections.mix} connections, ${s.seconds.mix} s`);
  const before = cacheCounters(await ctx.service.metrics());
  const { result } = await ctx.phase('mix', () =>
    closedLoop({ title: 'mix', url: ctx.service.url, connections: s.connections.mix, durationSeconds: s.seconds.mix, requestsFor: mixSequence(ctx.accounts, tallies, runId), progress: ctx.progress }),
  );
  const counters = difference(cacheCounters(await ctx.service.metrics()), before);
  const rates = hitRates(counters);
  const per = (n: number): number => Math.round((n / result.durationSeconds) * 100) / 100;
  const perSecond = { login: per(tallies.login.ok), me: per(tallies.me.ok), register: per(tallies.register.ok) };
  ctx.say(`  login ${perSecond.login}/s, me ${perSecond.me}/s, register ${perSecond.register}/s; ${rates.lookups} cache lookups, ${(rates.anyLevel * 100).toFixed(1)} % answered by a cache level`);
  return { result, tallies, perSecond, cache: { counters, rates } };
}
