/**
 * Writes when nothing changed, on a fresh operator process started with a
 * short --resync-seconds once every AuthService is Healthy:
 *  - restart: its first pass over every AuthService (the informers' initial
 *    list) should write nothing;
 *  - idle resyncs: the counters are read, the operator is left alone until the
 *    reconcile counter shows `resyncs` full passes over every AuthService, and
 *    read again. Target: 0 writes per resync.
 * Any write is traced to an object and a field: from the operator's own log
 * ("updated Deployment x") and from the bench's watches (what changed between
 * two versions of the object).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resources } from '../../operator/kube/resources.js';
import { logCursor, notableLines, waitQuiet, type BenchContext } from './context.js';
import { delta, totalReconciles, totalWrites, type OperatorCounters } from './metrics.js';
import type { ObservedChange } from './presence.js';

export interface WindowResult {
  seconds: number;
  reconciles: number;
  writes: Record<string, number>;
  /** Log lines about writes, warnings and errors in the window (at most 40). */
  log: string[];
  /** Objects the operator's writes changed (status-only changes of children, made by Kubernetes' controllers, left out). */
  changes: ObservedChange[];
  /**
   * Status-only changes of children in the window: Kubernetes' controllers
   * (e.g. a Deployment's readyReplicas). The operator is right to react to
   * them, so a window that has any is not idle and is measured again.
   */
  external: ObservedChange[];
}

export interface ResyncResult {
  authServices: number;
  restart: WindowResult;
  /** The last idle window measured: the first undisturbed one, or the last attempt. */
  idle: WindowResult & { resyncs: number; disturbed: boolean };
  /** Every idle window tried, disturbed ones included. */
  attempts: Array<WindowResult & { resyncs: number }>;
}

const idleAttempts = 3;

/** Child status is written by kube-controller-manager, not the operator; an AuthService's status is the operator's. */
const operatorChange = (c: ObservedChange): boolean =>
  c.object.startsWith(`${resources.AuthService.kind}/`) || c.paths.some((p) => !p.startsWith('status'));

function window(from: OperatorCounters, to: OperatorCounters, lines: Array<Record<string, unknown>>, changes: ObservedChange[]): WindowResult {
  return {
    seconds: (to.at - from.at) / 1000,
    reconciles: totalReconciles(to) - totalReconciles(from),
    writes: delta(to.writes, from.writes),
    log: notableLines(lines).slice(0, 40),
    changes: changes.filter(operatorChange).slice(0, 40),
    external: changes.filter((c) => !operatorChange(c)).slice(0, 40),
  };
}

async function waitReconciles(ctx: BenchContext, from: OperatorCounters, count: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    ctx.checkInterrupted();
    if (totalReconciles(await ctx.operator().counters()) - totalReconciles(from) >= count) return true;
    await sleep(250);
  }
  return false;
}

export async function runResync(ctx: BenchContext, authServices: number): Promise<ResyncResult> {
  const { settings } = ctx;
  const log = logCursor(ctx.operator().logFile);

  // The restart pass began when the informers listed, before this function ran: count from the process's zero.
  // The caller turned ctx.tracker.recordChanges on before starting the operator.
  const start: OperatorCounters = { writes: {}, reconciles: {}, reconcileSeconds: { sum: 0, count: 0 }, queueDepth: 0, watchRestarts: 0, heap: { used: 0, total: 0, external: 0 }, at: performance.now() };
  if (!(await waitReconciles(ctx, start, authServices, settings.timeoutSeconds * 1000))) {
    ctx.anomaly(`the restarted operator did not reconcile all ${authServices} AuthServices within ${settings.timeoutSeconds} s`);
  }
  const restartEnd = (await waitQuiet(ctx, 2000, settings.timeoutSeconds * 1000)) ?? (await ctx.operator().counters());
  const restart = window(start, restartEnd, log.read(), ctx.tracker.recordChanges(true));
  restart.seconds = NaN; // started before the first scrape
  ctx.say(`  restart: ${restart.reconciles} reconciles, ${totalWrites(restartEnd)} writes ${JSON.stringify(restart.writes)}`);

  const wanted = authServices * settings.resyncs;
  const budgetMs = (settings.resyncSeconds * (settings.resyncs + 1) + 30) * 1000;
  const attempts: ResyncResult['attempts'] = [];
  for (let attempt = 1; ; attempt++) {
    ctx.tracker.recordChanges(true);
    log.skip();
    const from = await ctx.operator().counters();
    ctx.say(`  idle: waiting for ${settings.resyncs} resync(s) of ${authServices} AuthServices (--resync-seconds ${settings.resyncSeconds})`);
    if (!(await waitReconciles(ctx, from, wanted, budgetMs))) {
      ctx.anomaly(`fewer than ${wanted} reconciles within ${budgetMs / 1000} s of idling: the resync did not run as configured`);
    }
    const to = (await waitQuiet(ctx, 2000, settings.timeoutSeconds * 1000)) ?? (await ctx.operator().counters());
    const idle = window(from, to, log.read(), ctx.tracker.recordChanges(false));
    const resyncs = Math.floor(idle.reconciles / authServices);
    attempts.push({ ...idle, resyncs });
    ctx.say(`  idle: ${idle.reconciles} reconciles (${resyncs} resync(s)) in ${idle.seconds.toFixed(1)} s, writes ${JSON.stringify(idle.writes)}`);
    const disturbed = idle.external.length > 0;
    if (!disturbed || attempt >= idleAttempts) return { authServices, restart, idle: { ...idle, resyncs, disturbed }, attempts };
    const e = idle.external[0]!;
    ctx.say(`  idle window disturbed: ${idle.external.length} status change(s) by Kubernetes' controllers (e.g. ${e.object}: ${e.paths.slice(0, 2).join('; ')}); measuring again`);
  }
}
