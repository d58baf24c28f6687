/**
 * The bench's own view of the cluster: watches (the operator's informer, a
 * separate connection each) on Deployments, Services and AuthServices of the
 * bench namespace, every event stamped with Date.now() on arrival. Latencies
 * are differences between these stamps, or between a stamp and a time the
 * operator wrote into status (same machine, same clock).
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { AuthService } from '../../operator/api/types.js';
import { createInformer, type Informer } from '../../operator/controller/informer.js';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { pathFor, resources } from '../../operator/kube/resources.js';
import { observeDeployment } from '../../operator/controller/blue-green.js';
import { LABEL_COLOUR } from '../../operator/reconcile/meta.js';
import type { DeploymentObservation } from '../../operator/rollout/observed.js';

/** A colour's Deployment as the bench saw it: the same observation the rollout engine is given. */
export type DeploymentSeen = DeploymentObservation & { kind: 'Deployment'; at: number; name: string };

export interface ServiceSeen {
  kind: 'Service';
  at: number;
  name: string;
  colour?: string;
}

/** A kwok node's Ready condition: a node that misses its heartbeats takes its pods' readiness with it. */
export interface NodeSeen {
  kind: 'Node';
  at: number;
  name: string;
  ready: boolean;
}

export type Seen = DeploymentSeen | ServiceSeen;

function deploymentSeen(at: number, d: V1Deployment): DeploymentSeen {
  return { kind: 'Deployment', at, name: d.metadata?.name ?? '', ...observeDeployment(d) };
}

/**
 * Every replica of `image` ready and available, none of another template left,
 * the controller caught up: the condition the engine gates the flip on
 * (operator/rollout/observed.ts fullyAvailable), judged from the bench's watch.
 */
export function wholeAt(d: DeploymentSeen, image: string, replicas: number): boolean {
  return d.image === image && d.generationObserved && d.specReplicas === replicas && d.statusReplicas === replicas &&
    d.updatedReplicas >= replicas && d.readyReplicas >= replicas && d.availableReplicas >= replicas;
}

export interface Timeline {
  /** Resolves once all three kinds have been listed. */
  readonly synced: Promise<void>;
  /** Deployment and Service observations in arrival order. */
  readonly seen: readonly Seen[];
  /** Every change of a node's readiness (the first listing included), kept for the whole run. */
  readonly nodes: readonly NodeSeen[];
  /** The first observation at or after `since` that satisfies `match`. */
  first<T extends Seen>(kind: T['kind'], name: string, since: number, match: (s: T) => boolean): T | undefined;
  /** The newest observation of an object. */
  latest<T extends Seen>(kind: T['kind'], name: string): T | undefined;
  /** The current AuthService as last seen. */
  authService(name: string): AuthService | undefined;
  /** Resolves with the first non-undefined value of `probe`, evaluated now and after every event. */
  waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T>;
  /** Drops observations older than `before` (memory stays flat over long runs). */
  forget(before: number): void;
  stop(): void;
}

export function watchNamespace(client: KubeClient, namespace: string): Timeline {
  const seen: Seen[] = [];
  const nodes: NodeSeen[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const check of [...waiters]) check();
  };
  const informers: Array<Informer<KubeObject>> = [];
  const watch = (path: string, record?: (at: number, object: KubeObject) => void): Informer<KubeObject> => {
    const informer = createInformer<KubeObject>({
      client,
      path,
      onEvent: (event, object) => {
        const at = Date.now();
        if (object && (event === 'added' || event === 'modified')) record?.(at, object);
        wake();
      },
    });
    informers.push(informer);
    informer.start();
    return informer;
  };
  watch(pathFor(resources.Deployment, namespace), (at, o) => seen.push(deploymentSeen(at, o as V1Deployment)));
  watch(pathFor(resources.Service, namespace), (at, o) => {
    const colour = (o as V1Service).spec?.selector?.[LABEL_COLOUR];
    seen.push({ kind: 'Service', at, name: o.metadata?.name ?? '', ...(colour ? { colour } : {}) });
  });
  const auths = watch(pathFor(resources.AuthService, namespace));
  const nodeReady = new Map<string, boolean>();
  watch('/api/v1/nodes', (at, o) => {
    const conditions = (o as KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? [];
    const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True');
    const name = o.metadata?.name ?? '';
    // Only transitions: heartbeats modify nodes every few seconds.
    if (nodeReady.get(name) !== ready) nodes.push({ kind: 'Node', at, name, ready });
    nodeReady.set(name, ready);
  });

  return {
    synced: Promise.all(informers.map((i) => i.synced)).then(() => undefined),
    seen,
    nodes,
    first<T extends Seen>(kind: T['kind'], name: string, since: number, match: (s: T) => boolean): T | undefined {
      return seen.find((s): s is T => s.kind === kind && s.name === name && s.at >= since && match(s as T));
    },
    latest<T extends Seen>(kind: T['kind'], name: string): T | undefined {
      return seen.findLast((s): s is T => s.kind === kind && s.name === name);
    },
    authService: (name) => auths.get(namespace, name) as unknown as AuthService | undefined,
    waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const check = (): void => {
          let value: T | undefined;
          try {
            value = probe();
          } catch (err) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          if (value === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(value);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    forget(before) {
      // The newest observation of each object stays: latest() must keep answering.
      const newest = new Map<string, Seen>();
      for (const s of seen) newest.set(`${s.kind}/${s.name}`, s);
      const kept = seen.filter((s) => s.at >= before || newest.get(`${s.kind}/${s.name}`) === s);
      seen.splice(0, seen.length, ...kept);
    },
    stop() {
      for (const informer of informers) informer.stop();
    },
  };
}
