/**
 * p99 latency at half of a measured maximum, open loop by default (see
 * support/open-loop.ts for why not autocannon's pacing). Alongside the client's
 * p99, two checks on what it means: how late the generator itself was
 * (send lag), and the service's own histogram for the route.
 */
import type autocannon from 'autocannon';
import { closedLoop } from '../support/closed-loop.js';
import { openLoop, type PacedRequest } from '../support/open-loop.js';
import { histogramBuckets, p99Bound } from '../support/prometheus.js';
import type { BenchContext } from './context.js';

export interface HalfLoadOutcome {
  route: string;
  pacer: 'open-loop' | 'autocannon';
  maxPerSecond: number;
  targetRate: number;
  achievedRate: number;
  latencyMs: { p50: number; p99: number; max: number };
  failed: number;
  /** Open loop only: due requests that had no token to send. */
  starved: number;
  /** Open loop only: p99 and maximum of how late the generator wrote requests. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
  /** Open loop only: when the requests at or above the p99 were due, seconds into the run. */
  slowestDue: { from: number; to: number } | null;
  /** Upper bound of the bucket of the service's http_request_duration_seconds that holds its p99. */
  serverP99AtMostMs: number;
  /** The same for the database transaction behind the route, when it has one (database_query_duration_seconds). */
  databaseP99AtMostMs: number;
  cpuPressurePercent: number;
}

export interface HalfLoadOptions {
  route: string;
  /** The maximum just measured; the run goes at half of it. */
  maxPerSecond: number;
  connections: number;
  /** The `operation` label of the route's database transaction, if any. */
  databaseOperation?: string;
  open(): PacedRequest | undefined;
  sequence(index: number): autocannon.Request[];
}

export async function runHalfLoad(ctx: BenchContext, sources: HalfLoadOptions): Promise<HalfLoadOutcome> {
  const { route, maxPerSecond } = sources;
  const s = ctx.settings;
  const rate = Math.max(1, Math.round(maxPerSecond / 2));
  const name = `${route.split('/').at(-1)} at half load`;
  ctx.say(`${name}: ${rate} req/s (half of ${maxPerSecond.toFixed(0)}) for ${s.seconds.paced} s, ${s.pacer}`);
  const httpLabel = `route="${route}"`;
  const dbLabel = `operation="${sources.databaseOperation ?? 'none'}"`;
  const scrape = async (): Promise<{ http: Map<number, number>; db: Map<number, number> }> => {
    const text = await ctx.service.metrics();
    return { http: histogramBuckets(text, 'http_request_duration_seconds', httpLabel), db: histogramBuckets(text, 'database_query_duration_seconds', dbLabel) };
  };
  const before = await scrape();
  const { result, stats } = await ctx.phase(name, async () => {
    if (s.pacer === 'autocannon') {
      const r = await closedLoop({ title: name, url: ctx.service.url, connections: sources.connections, durationSeconds: s.seconds.paced, overallRate: rate, requestsFor: sources.sequence, progress: ctx.progress });
      return { achievedRate: r.throughput, latencyMs: r.latencyMs, failed: r.non2xx + r.errors, starved: 0, sendLagP99Ms: NaN, sendLagMaxMs: NaN, slowestDue: null };
    }
    const r = await openLoop({
      title: name,
      host: ctx.service.host,
      port: ctx.service.port,
      rate,
      durationSeconds: s.seconds.paced,
      maxSockets: sources.connections,
      next: sources.open,
      progress: ctx.progress,
    });
    return { achievedRate: r.achievedRate, latencyMs: r.latencyMs, failed: r.non2xx + r.errors, starved: r.starved, sendLagP99Ms: r.sendLagMs.p99, sendLagMaxMs: r.sendLagMs.max, slowestDue: r.slowestDue };
  });
  const after = await scrape();
  const server = p99Bound(after.http, before.http);
  const database = p99Bound(after.db, before.db);
  const outcome: HalfLoadOutcome = {
    route,
    pacer: s.pacer,
    maxPerSecond,
    targetRate: rate,
    achievedRate: result.achievedRate,
    latencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99, max: result.latencyMs.max },
    failed: result.failed,
    starved: result.starved,
    sendLagP99Ms: result.sendLagP99Ms,
    sendLagMaxMs: result.sendLagMaxMs,
    slowestDue: result.slowestDue,
    serverP99AtMostMs: server.p99AtMostSeconds * 1000,
    databaseP99AtMostMs: database.p99AtMostSeconds * 1000,
    cpuPressurePercent: stats.cpuPressurePercent,
  };
  ctx.say(
    `  achieved ${outcome.achievedRate.toFixed(0)} req/s: p50 ${outcome.latencyMs.p50} ms, p99 ${outcome.latencyMs.p99} ms, max ${outcome.latencyMs.max} ms; ` +
      `${Number.isFinite(outcome.sendLagP99Ms) ? `generator send lag p99 ${outcome.sendLagP99Ms} ms (max ${outcome.sendLagMaxMs}); ` : ''}service's own p99 ≤ ${outcome.serverP99AtMostMs} ms` +
      `${sources.databaseOperation ? `, its database transaction's ≤ ${outcome.databaseP99AtMostMs} ms` : ''}${outcome.failed + outcome.starved ? `; ${outcome.failed} failed, ${outcome.starved} starved` : ''}` +
      `${outcome.slowestDue ? `; the slowest 1 % were due ${outcome.slowestDue.from}–${outcome.slowestDue.to} s into the run` : ''}`,
  );
  return outcome;
}
