/**
 * What every phase of the operator benchmark shares: the clients, the presence
 * trackers, the running operator, progress output, the anomalies found so
 * far, and the waits (children present, every AuthService Healthy, the
 * operator quiet).
 */
import { readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { totalReconciles, totalWrites, type CountedOperator, type OperatorCounters } from './metrics.js';
import type { PresenceTracker } from './presence.js';
import type { Settings } from './settings.js';

/** Where the operator works, and where the bench applies its baseline objects (the operator does not watch it). */
export const NAMESPACE = 'bench';
export const BASELINE_NAMESPACE = 'bench-baseline';

export interface BenchContext {
  settings: Settings;
  admin: KubeClient;
  /** Children and AuthServices in NAMESPACE. */
  tracker: PresenceTracker;
  /** Children in BASELINE_NAMESPACE. */
  baselineTracker: PresenceTracker;
  /** The operator now running. */
  operator(): CountedOperator;
  say(line: string): void;
  /** Something a maintainer should look at (never fixed by the bench). */
  anomaly(text: string): void;
  /** Throws once the run was interrupted (Ctrl-C). */
  checkInterrupted(): void;
}

export class TimedOut extends Error {}

/** Nothing happened for a while: no reconcile, no write, no event on any watched object. */
const stallMs = 15_000;

/**
 * Waits for `promise` while the operator makes progress. Gives up (TimedOut)
 * after `ms`, or sooner once the operator has reconciled and written nothing
 * and no watched object has changed for 15 s: then whatever is missing is not
 * coming, and waiting the full timeout would only make the run longer.
 */
export async function whileProgressing<T>(ctx: BenchContext, promise: Promise<T>, ms: number, what: string): Promise<T> {
  let stop = false;
  const stalled = (async (): Promise<never> => {
    let last = await ctx.operator().counters();
    let activeAt = performance.now();
    while (!stop) {
      await sleep(500);
      if (stop) break;
      const now = await ctx.operator().counters().catch(() => last);
      if (totalReconciles(now) !== totalReconciles(last) || totalWrites(now) !== totalWrites(last) || now.queueDepth > 0) activeAt = performance.now();
      last = now;
      const idleFor = performance.now() - Math.max(activeAt, ctx.tracker.lastEventAt());
      if (idleFor >= stallMs) throw new TimedOut(`${what}: the operator and the watched objects stood still for ${stallMs / 1000} s`);
    }
    return new Promise<never>(() => undefined);
  })();
  try {
    return await withTimeout(Promise.race([promise, stalled]), ms, what);
  } finally {
    stop = true;
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimedOut(`${what}: not done after ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the operator has been quiet for `quietMs`: no reconcile and no
 * write between scrapes, and an empty queue. Returns the last scrape, or
 * undefined on timeout.
 */
export async function waitQuiet(ctx: BenchContext, quietMs: number, timeoutMs: number): Promise<OperatorCounters | undefined> {
  const deadline = performance.now() + timeoutMs;
  let last = await ctx.operator().counters();
  let quietSince = performance.now();
  while (performance.now() < deadline) {
    ctx.checkInterrupted();
    await sleep(250);
    const now = await ctx.operator().counters();
    if (totalReconciles(now) !== totalReconciles(last) || totalWrites(now) !== totalWrites(last) || now.queueDepth > 0) quietSince = performance.now();
    last = now;
    if (performance.now() - quietSince >= quietMs) return now;
  }
  return undefined;
}

interface AuthServiceStatus {
  phase?: string;
  observedGeneration?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/**
 * Waits until `expected` AuthServices report phase Healthy for their current
 * generation; on timeout, or once nothing has happened for 15 s (as in
 * whileProgressing), returns the stragglers' states.
 */
export async function waitHealthy(ctx: BenchContext, expected: number, timeoutMs: number): Promise<{ healthy: number; stragglers: string[] }> {
  const deadline = performance.now() + timeoutMs;
  const healthy = (o: KubeObject): boolean => {
    const status = (o as { status?: AuthServiceStatus }).status;
    return status?.phase === 'Healthy' && status.observedGeneration === o.metadata?.generation;
  };
  let last = await ctx.operator().counters();
  let activeAt = performance.now();
  for (;;) {
    ctx.checkInterrupted();
    const all = ctx.tracker.authServices();
    const count = all.filter(healthy).length;
    if (count >= expected) return { healthy: count, stragglers: [] };
    const now = await ctx.operator().counters();
    if (totalReconciles(now) !== totalReconciles(last) || totalWrites(now) !== totalWrites(last) || now.queueDepth > 0) activeAt = performance.now();
    last = now;
    const stalled = performance.now() - Math.max(activeAt, ctx.tracker.lastEventAt()) >= stallMs;
    if (performance.now() > deadline || stalled) {
      const stragglers = await Promise.all(all.filter((o) => !healthy(o)).slice(0, 3).map((o) => describeStraggler(ctx, o)));
      return { healthy: count, stragglers: [`(${stalled ? 'nothing happened for 15 s' : 'timed out'})`, ...stragglers, await describeNodes(ctx)] };
    }
    await sleep(500);
  }
}

interface DeploymentLike {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; availableReplicas?: number; observedGeneration?: number; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

interface PodLike {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string; lastTransitionTime?: string }> };
}

interface NodeLike {
  metadata?: { name?: string };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; lastTransitionTime?: string }> };
}

/**
 * The kwok nodes' Ready condition and the node lifecycle controller's
 * "NodeNotReady" Events on pods: when a starved kwok misses its node
 * heartbeats, kube-controller-manager marks the node's pods not Ready, and
 * kwok (whose pod-ready stage only acts on pods without an IP) never marks them
 * Ready again.
 */
export async function describeNodes(ctx: BenchContext): Promise<string> {
  try {
    const nodes = await ctx.admin.list<NodeLike & KubeObject>('/api/v1/nodes');
    const ready = nodes.items.map((n) => {
      const c = n.status?.conditions?.find((x) => x.type === 'Ready');
      return `${n.metadata?.name} Ready=${c?.status ?? '?'} since ${c?.lastTransitionTime ?? '?'}`;
    });
    const events = await ctx.admin.list<KubeObject & { count?: number }>(`/api/v1/namespaces/${NAMESPACE}/events`, { fieldSelector: 'reason=NodeNotReady' });
    return `nodes: ${ready.join(', ')}; NodeNotReady events on pods in ${NAMESPACE}: ${events.items.length}`;
  } catch (err) {
    return `nodes: (failed: ${err instanceof Error ? err.message : String(err)})`;
  }
}

/** An AuthService that is not Healthy, with its active Deployment and that Deployment's pods: whose move is it? */
async function describeStraggler(ctx: BenchContext, o: KubeObject): Promise<string> {
  const name = o.metadata?.name ?? '';
  const status = (o as { status?: AuthServiceStatus & { activeColor?: string } }).status;
  const reasons = (status?.conditions ?? []).filter((c) => c.type === 'Ready' || c.type === 'Degraded').map((c) => `${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`);
  const colour = status?.activeColor ?? 'blue';
  const deployment = ctx.tracker.latest(`Deployment/${name}-${colour}`) as DeploymentLike | undefined;
  const conditions = (deployment?.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason ?? ''}`).join(', ');
  const d = deployment
    ? `Deployment ${name}-${colour}: replicas ${deployment.spec?.replicas}, ready ${deployment.status?.readyReplicas ?? 0}, available ${deployment.status?.availableReplicas ?? 0}, observedGeneration ${deployment.status?.observedGeneration ?? '-'}/${deployment.metadata?.generation}, conditions [${conditions}]`
    : `no Deployment ${name}-${colour}`;
  let pods = '';
  try {
    const list = await ctx.admin.list<PodLike & KubeObject>(`/api/v1/namespaces/${NAMESPACE}/pods`, { labelSelector: `app.kubernetes.io/instance=${name}` });
    pods = `; pods: ${list.items.map((p) => `${p.metadata?.name} ${p.status?.phase ?? '?'} on ${p.spec?.nodeName ?? '(unscheduled)'} [${(p.status?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.type === 'Ready' ? ` since ${c.lastTransitionTime ?? '?'}` : ''}`).join(' ')}]`).join(', ') || 'none'}`;
  } catch (err) {
    pods = `; pods: (list failed: ${err instanceof Error ? err.message : String(err)})`;
  }
  return `${name}: phase ${status?.phase ?? '(none)'}, observedGeneration ${status?.observedGeneration ?? '-'}/${o.metadata?.generation}; ${reasons.join('; ')}; ${d}${pods}`;
}

/** A log reader that returns what the operator wrote since the previous call, as parsed JSON lines. */
export function logCursor(file: string) {
  let offset = 0;
  const read = (): Array<Record<string, unknown>> => {
    let size = 0;
    try {
      size = statSync(file).size;
    } catch {
      return [];
    }
    if (size <= offset) return [];
    const text = readFileSync(file).subarray(offset, size).toString('utf8');
    const complete = text.lastIndexOf('\n') + 1;
    offset += Buffer.byteLength(text.slice(0, complete));
    return text.slice(0, complete).split('\n').filter(Boolean).map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { message: line };
      }
    });
  };
  return { read, skip: (): void => void read() };
}

/** Log lines about writes or failures: "created X", "updated X", warnings and errors. */
export function notableLines(lines: ReadonlyArray<Record<string, unknown>>): string[] {
  return lines
    .filter((l) => /^(created|updated) /.test(String(l['message'] ?? '')) || l['level'] === 'warn' || l['level'] === 'error')
    .map((l) => `${l['level'] ?? '?'} ${l['message']}${l['authservice'] ? ` (${l['authservice']})` : ''}${l['error'] ? `: ${l['error']}` : ''}`);
}
