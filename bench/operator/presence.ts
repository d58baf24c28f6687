/**
 * When did each child of an AuthService first appear? One list-then-watch per
 * kind for the whole namespace (label selector `app.kubernetes.io/instance`,
 * present on every child), using the operator's own informer, so 200
 * AuthServices cost 8 watches rather than 200 × 11 GETs per tick. A child
 * counts as present at the moment its ADDED event reaches the bench.
 *
 * It also keeps the last version of every object and, while `recordChanges`
 * is on, what changed between versions: the idle-resync phase uses that to
 * name the object and the field behind any write.
 */
import { createInformer, type Informer } from '../../operator/controller/informer.js';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { pathFor, resources, type ResourceType } from '../../operator/kube/resources.js';
import { LABEL_INSTANCE } from '../../operator/reconcile/meta.js';
import { differences } from './diff.js';

/** The kinds an AuthService owns on a cluster without the optional CRDs. */
export const childKinds: ResourceType[] = [
  resources.Deployment, resources.Service, resources.ServiceAccount, resources.ConfigMap,
  resources.HorizontalPodAutoscaler, resources.NetworkPolicy, resources.PodDisruptionBudget, resources.CronJob,
];

export interface ObservedChange {
  at: number;
  /** `Kind/name`, or `AuthService/name`. */
  object: string;
  resourceVersion: string | undefined;
  /** Paths that differ from the previous version (metadata.resourceVersion and managedFields times left out). */
  paths: string[];
}

export interface PresenceTracker {
  /** Resolves once every informer has listed. */
  readonly synced: Promise<void>;
  /** Resolves with the performance.now() at which the last of `keys` (`Kind/name`) of `instance` was first seen. */
  whenPresent(instance: string, keys: readonly string[]): Promise<number>;
  /** `Kind/name` of the children seen so far for `instance`. */
  seen(instance: string): string[];
  /** The newest version of an object seen, by `Kind/name`. */
  latest(key: string): KubeObject | undefined;
  /** Between start and stop, every MODIFIED and DELETED event is kept with what changed. */
  recordChanges(on: boolean): ObservedChange[];
  /** performance.now() of the last event on any watched object. */
  lastEventAt(): number;
  /** performance.now() at which each child of `instance` was first seen, by `Kind/name`. */
  firstSeen(instance: string): Record<string, number>;
  /** AuthServices (the tracker watches them too), for phases and conditions. */
  authServices(): KubeObject[];
  stop(): void;
}

interface Waiter {
  keys: readonly string[];
  resolve: (at: number) => void;
}

export function createPresenceTracker(client: KubeClient, namespace: string, log: (line: string) => void): PresenceTracker {
  const firstSeen = new Map<string, Map<string, number>>();
  const waiters = new Map<string, Waiter[]>();
  const latest = new Map<string, KubeObject>();
  let changes: ObservedChange[] | undefined;
  let lastEventAt = performance.now();

  const settle = (instance: string): void => {
    const seen = firstSeen.get(instance);
    const pending = waiters.get(instance);
    if (!seen || !pending) return;
    const still = pending.filter((w) => {
      if (!w.keys.every((k) => seen.has(k))) return true;
      w.resolve(Math.max(...w.keys.map((k) => seen.get(k)!)));
      return false;
    });
    if (still.length > 0) waiters.set(instance, still);
    else waiters.delete(instance);
  };

  const onObject = (kind: string, type: string, object: KubeObject | undefined): void => {
    const at = performance.now();
    lastEventAt = at;
    const name = object?.metadata?.name;
    if (!object || !name) return;
    const key = `${kind}/${name}`;
    const previous = latest.get(key);
    if (type === 'deleted') latest.delete(key);
    else latest.set(key, object);
    if (changes && (type === 'modified' || type === 'deleted')) {
      changes.push({ at, object: key, resourceVersion: object.metadata?.resourceVersion, paths: type === 'deleted' ? ['(deleted)'] : differences(previous, object) });
    }
    if (kind === resources.AuthService.kind || type !== 'added') return;
    const instance = object.metadata?.labels?.[LABEL_INSTANCE];
    if (!instance) return;
    let seen = firstSeen.get(instance);
    if (!seen) firstSeen.set(instance, (seen = new Map()));
    if (!seen.has(key)) seen.set(key, at);
    settle(instance);
  };

  const informers: Informer<KubeObject>[] = [...childKinds, resources.AuthService].map((type) => {
    const informer = createInformer<KubeObject>({
      client,
      path: pathFor(type, namespace),
      ...(type === resources.AuthService ? {} : { labelSelector: LABEL_INSTANCE }),
      onEvent: (event, object) => onObject(type.kind, event, object),
      log: (message, meta) => log(`presence watch of ${type.kind}s: ${message} ${JSON.stringify(meta ?? {})}`),
    });
    informer.start();
    return informer;
  });

  return {
    synced: Promise.all(informers.map((i) => i.synced)).then(() => undefined),
    whenPresent(instance, keys) {
      return new Promise((resolve) => {
        waiters.set(instance, [...(waiters.get(instance) ?? []), { keys, resolve }]);
        settle(instance);
      });
    },
    seen: (instance) => [...(firstSeen.get(instance)?.keys() ?? [])],
    lastEventAt: () => lastEventAt,
    firstSeen: (instance) => Object.fromEntries(firstSeen.get(instance) ?? []),
    latest: (key) => latest.get(key),
    recordChanges(on) {
      const kept = changes ?? [];
      changes = on ? [] : undefined;
      return kept;
    },
    authServices: () => [...latest.entries()].filter(([k]) => k.startsWith(`${resources.AuthService.kind}/`)).map(([, o]) => o),
    stop: () => informers.forEach((i) => i.stop()),
  };
}
