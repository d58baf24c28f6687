/**
 * N AuthServices at once. The operator's turn first, on a cluster that holds
 * only the single-round objects: the bench creates the N AuthServices as fast
 * as it can and times each one from its create to its children seen; the
 * operator's counters are read before, when the last child appears, and once
 * every AuthService is Healthy and the operator is quiet. Then the baseline:
 * the bench applies the same N × 11 objects itself, in as many parallel lanes
 * as the operator has workers, one AuthService's objects after another per
 * lane — the raw API floor for the same work. It runs second, on a cluster
 * already holding the operator's N, so if anything the baseline is the slower
 * for it and the ratios flatter the operator a little.
 */
import { BASELINE_NAMESPACE, NAMESPACE, TimedOut, describeNodes, waitHealthy, waitQuiet, whileProgressing, withTimeout, type BenchContext } from './context.js';
import type { OperatorCounters } from './metrics.js';
import { benchAuthService, childKeys, childrenOf, gatedOnAvailability } from './sample.js';

export interface BurstResult {
  count: number;
  /** create → last child seen, ms, per AuthService (NaN when it never completed). */
  operatorMs: number[];
  /** create → last child seen of those not waiting for the new colour to be Available, ms, per AuthService. */
  ungatedMs: number[];
  /** first create sent → last child of all seen, ms (NaN when some never appeared). */
  operatorWallMs: number;
  /** first create sent → last create answered, ms. */
  createMs: number;
  before: OperatorCounters;
  /** When the last child appeared (or the wait gave up). */
  childrenPresent: OperatorCounters;
  /** When every AuthService was Healthy and the operator quiet (undefined when that never came). */
  settled: OperatorCounters | undefined;
  /** first create sent → every AuthService Healthy, ms. */
  healthyMs: number;
  incomplete: string[];
}

export interface BurstBaseline {
  /** burst start → last of the group's 11 objects seen, ms, per group (every group is requested at the start). */
  baselineMs: number[];
  baselineWallMs: number;
}

/** Runs `work` over `items` with at most `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export async function runBurst(ctx: BenchContext): Promise<BurstResult> {
  const { settings, admin } = ctx;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const names = Array.from({ length: settings.count }, (_, i) => `burst-${i}`);
  const createdAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  const ungatedAt = new Map<string, number>();
  const incomplete: string[] = [];
  const waits = names.map((name) => {
    const keys = childKeys(childrenOf(NAMESPACE, name, settings.replicas));
    const gated = gatedOnAvailability(name);
    void ctx.tracker.whenPresent(name, keys.filter((k) => !gated.includes(k))).then((t) => void ungatedAt.set(name, t));
    return ctx.tracker.whenPresent(name, keys).then((t) => void doneAt.set(name, t));
  });

  const before = await ctx.operator().counters();
  const t0 = performance.now();
  await inLanes(names, settings.createConcurrency, async (name) => {
    ctx.checkInterrupted();
    createdAt.set(name, performance.now());
    await admin.apply(benchAuthService(NAMESPACE, name, settings.replicas));
  });
  const createMs = performance.now() - t0;
  ctx.say(`  ${settings.count} AuthServices created in ${(createMs / 1000).toFixed(1)} s; waiting for their children`);

  const progress = setInterval(() => ctx.say(`  ${doneAt.size}/${settings.count} AuthServices have all 11 children`), 5000);
  try {
    await whileProgressing(ctx, Promise.all(waits), timeoutMs, 'children of the burst');
  } catch (err) {
    if (!(err instanceof TimedOut)) throw err;
    for (const name of names.filter((n) => !doneAt.has(n))) {
      const missing = childKeys(childrenOf(NAMESPACE, name, settings.replicas)).filter((k) => !ctx.tracker.seen(name).includes(k));
      incomplete.push(`${name}: missing ${missing.join(', ')}`);
    }
    ctx.anomaly(`${incomplete.length} of ${settings.count} AuthServices lacked children (${err.message}); e.g. ${incomplete.slice(0, 3).join('; ')}; ${await describeNodes(ctx)}`);
  } finally {
    clearInterval(progress);
  }
  const childrenPresent = await ctx.operator().counters();
  const operatorWallMs = incomplete.length === 0 ? Math.max(...[...doneAt.values()].map((t) => t - t0)) : NaN;
  ctx.say(`  ${doneAt.size} of ${settings.count} with all children after ${((childrenPresent.at - t0) / 1000).toFixed(1)} s; waiting for every AuthService to be Healthy`);

  const expected = settings.repeats + settings.count;
  const health = await waitHealthy(ctx, expected, timeoutMs);
  const healthyMs = performance.now() - t0;
  if (health.stragglers.length > 0) {
    ctx.anomaly(`only ${health.healthy} of ${expected} AuthServices Healthy ${health.stragglers[0]}; e.g.\n    ${health.stragglers.slice(1).join('\n    ')}`);
  }
  const settled = await waitQuiet(ctx, 3000, timeoutMs);
  if (!settled) ctx.anomaly(`the operator never went quiet (3 s without a reconcile or write) within ${settings.timeoutSeconds} s after the burst`);

  return {
    count: settings.count,
    operatorMs: names.map((n) => (doneAt.get(n) ?? NaN) - createdAt.get(n)!),
    ungatedMs: names.map((n) => (ungatedAt.get(n) ?? NaN) - createdAt.get(n)!),
    operatorWallMs,
    createMs,
    before,
    childrenPresent,
    settled,
    healthyMs: health.stragglers.length > 0 ? NaN : healthyMs,
    incomplete,
  };
}

export async function runBurstBaseline(ctx: BenchContext): Promise<BurstBaseline> {
  const { settings, admin } = ctx;
  const names = Array.from({ length: settings.count }, (_, i) => `burst-${i}`);
  const groups = names.map((name) => ({ name, objects: childrenOf(BASELINE_NAMESPACE, name, settings.replicas) }));
  const seen = groups.map((g) => ctx.baselineTracker.whenPresent(g.name, childKeys(g.objects)));
  const t0 = performance.now();
  await inLanes(groups, settings.workers, async (g) => {
    ctx.checkInterrupted();
    for (const object of g.objects) await admin.apply(object);
  });
  const at = await withTimeout(Promise.all(seen), settings.timeoutSeconds * 1000, 'baseline burst');
  const baselineMs = at.map((t) => t - t0);
  return { baselineMs, baselineWallMs: Math.max(...baselineMs) };
}
