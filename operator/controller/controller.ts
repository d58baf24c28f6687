/**
 * The controller: informers on AuthServices, every owned kind and Secrets feed
 * one work queue of `namespace/name` keys; workers run reconcile passes;
 * failures back off, successes may ask to be looked at again; every key is
 * resynced periodically. Watch events only enqueue keys.
 */
import { createHash } from 'node:crypto';
import type { AuthService } from '../api/types.js';
import { KIND } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { pathFor, resources, type ResourceType } from '../kube/resources.js';
import { MANAGED_BY, LABEL_MANAGED_BY } from '../reconcile/meta.js';
import { podSecretReferences } from '../reconcile/secrets.js';
import type { OptionalCrds } from '../render.js';
import { inClusterUrl, type ServiceUrlResolver } from './analysis-runner.js';
import { createMeasurements } from './measurements.js';
import { discoverOptionalCrds } from './discovery.js';
import { createEventRecorder } from './events.js';
import { createInformer, objectKey, type Informer } from './informer.js';
import { createWorkQueue, type WorkQueue } from './queue.js';
import { ApplyFailedError, InvalidSpecError, reconcile, type Caches, type StatusWrite } from './reconciler.js';

export interface ControllerHooks {
  /** `requeuedAfter`: the pass asked to be run again after a while (result.requeueAfterMs). */
  onReconcile?: (result: 'success' | 'error' | 'invalid', seconds: number, requeuedAfter: boolean) => void;
  onWatchRestart?: (kind: string, reason: string) => void;
}

export interface ControllerOptions {
  client: KubeClient;
  /** Watch one namespace, or every namespace when undefined. */
  namespace?: string;
  workers?: number;
  resyncMs?: number;
  discoveryMs?: number;
  logger: Logger;
  hooks?: ControllerHooks;
  now?: () => Date;
  /** Where analysis reaches a colour's Service; default: its in-cluster DNS name. */
  serviceUrl?: ServiceUrlResolver;
}

export interface Controller {
  /** Starts informers and workers; resolves once every informer has listed. */
  start(): Promise<void>;
  stop(): Promise<void>;
  isSynced(): boolean;
  /** The AuthServices in the cache, with their status; none while stopped (a standby reports nothing). */
  authServices(): AuthService[];
  readonly queue: WorkQueue;
}

// Children always present; the optional kinds get informers once discovery finds their CRDs.
const ownedKinds: ResourceType[] = [
  resources.Deployment, resources.Service, resources.ServiceAccount, resources.ConfigMap, resources.HorizontalPodAutoscaler,
  resources.NetworkPolicy, resources.PodDisruptionBudget, resources.CronJob,
];
const optionalKinds: Array<[keyof OptionalCrds, ResourceType]> = [
  ['verticalPodAutoscaler', resources.VerticalPodAutoscaler],
  ['serviceMonitor', resources.ServiceMonitor],
  ['prometheusRule', resources.PrometheusRule],
];

const keyOf = objectKey;

/**
 * What the operator keeps of a Secret: its name and a hash of each value. The
 * revision hash needs no more, and the operator's memory then holds no secret
 * values of the cluster (it must watch every Secret its AuthServices may name).
 */
export function secretDigest(secret: KubeObject & { data?: Record<string, string> }): KubeObject & { data: Record<string, string> } {
  const { name, namespace, uid, resourceVersion } = secret.metadata ?? {};
  return {
    apiVersion: secret.apiVersion,
    kind: secret.kind,
    metadata: { name, namespace, uid, resourceVersion },
    data: Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, createHash('sha256').update(v).digest('base64')])),
  } as KubeObject & { data: Record<string, string> };
}

export function createController(options: ControllerOptions): Controller {
  const { client, logger } = options;
  const now = options.now ?? (() => new Date());
  const queue = createWorkQueue();
  const informers = new Map<string, Informer<KubeObject>>();
  const events = createEventRecorder(client, 'keyward-operator', (err) => logger.warn('could not record an Event', { error: err instanceof Error ? err.message : String(err) }), now);
  const measurements = createMeasurements((key) => queue.add(key));
  const statusWrites = new Map<string, StatusWrite>();
  const serviceUrl = options.serviceUrl ?? inClusterUrl;
  let crds: OptionalCrds = { verticalPodAutoscaler: false, serviceMonitor: false, prometheusRule: false };
  let timers: NodeJS.Timeout[] = [];
  let running = false;
  let workers: Promise<void>[] = [];

  const enqueueAll = (): void => {
    for (const auth of informers.get(KIND)?.list() ?? []) queue.add(keyOf(auth.metadata?.namespace, auth.metadata?.name));
  };

  const ownedSelector = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
  const enqueueOwner = (object: KubeObject | undefined): void => {
    const owner = object?.metadata?.ownerReferences?.find((o) => o.kind === KIND && o.controller);
    if (owner) queue.add(keyOf(object?.metadata?.namespace, owner.name));
  };

  /** A Secret change concerns every AuthService in its namespace that reads it. */
  const secretUsers = (secret: KubeObject | undefined): string[] =>
    (informers.get(KIND)?.list() ?? [])
      .filter((a) => a.metadata?.namespace === secret?.metadata?.namespace)
      .filter((a) => podSecretReferences((a as unknown as AuthService).spec).some((r) => r.secret === secret?.metadata?.name))
      .map((a) => keyOf(a.metadata?.namespace, a.metadata?.name));

  const watch = (
    type: ResourceType,
    onObject: (object: KubeObject | undefined) => void,
    extra: { labelSelector?: string; transform?: (o: KubeObject) => KubeObject } = {},
  ): Informer<KubeObject> => {
    const informer = createInformer<KubeObject>({
      client,
      path: pathFor(type, options.namespace),
      ...extra,
      onEvent: (event, object) => {
        if (event !== 'synced') onObject(object);
      },
      onRestart: (reason) => options.hooks?.onWatchRestart?.(type.kind, reason),
      log: (message, meta) => logger.warn(message, { kind: type.kind, ...meta }),
    });
    informers.set(type.kind, informer);
    informer.start();
    return informer;
  };

  const caches: Caches = {
    get: <T>(kind: string, namespace: string, name: string) => informers.get(kind)?.get(namespace, name) as T | undefined,
  };

  async function refreshDiscovery(): Promise<void> {
    try {
      const found = await discoverOptionalCrds(client);
      const appeared = optionalKinds.filter(([key]) => found[key] && !crds[key]);
      crds = found;
      for (const [, type] of appeared) {
        // A CRD removed and installed again: its informer is still there and resumes by itself.
        if (informers.has(type.kind)) continue;
        logger.info(`${type.kind} CRD found; watching and applying ${type.kind}s`);
        const informer = watch(type, enqueueOwner, { labelSelector: ownedSelector });
        // Applying before the cache is filled would write objects that already exist; but a list
        // that never succeeds (RBAC) must not stall discovery either.
        await Promise.race([informer.synced, new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
      }
      if (appeared.length > 0) enqueueAll();
    } catch (err) {
      logger.warn('discovery of optional CRDs failed; will retry', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async function work(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const [namespace, name] = key.split('/') as [string, string];
      const started = performance.now();
      try {
        const result = await reconcile({ client, caches, crds: () => crds, events, now, logger, serviceUrl, measurements, statusWrites }, namespace, name);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        options.hooks?.onReconcile?.('success', (performance.now() - started) / 1000, result.requeueAfterMs !== undefined);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof InvalidSpecError) {
          // Terminal: the status already says why; no backoff retries, only a spec change or the resync.
          logger.warn('invalid AuthService spec', { authservice: key, error: message });
          options.hooks?.onReconcile?.('invalid', (performance.now() - started) / 1000, false);
        } else {
          logger.warn('reconcile failed; backing off', { authservice: key, error: message, failures: queue.failures(key) + 1 });
          queue.addRateLimited(key);
          // The earlier of the two wins: a rollout timer is not held back by another child's failure.
          if (err instanceof ApplyFailedError && err.requeueAfterMs !== undefined) queue.addAfter(key, err.requeueAfterMs);
          options.hooks?.onReconcile?.('error', (performance.now() - started) / 1000, false);
        }
      } finally {
        queue.done(key);
      }
    }
  }

  return {
    queue,
    isSynced: () => running && [...informers.values()].every((i) => i.isSynced()),
    authServices: () => (running ? ((informers.get(KIND)?.list() ?? []) as unknown as AuthService[]) : []),
    async start() {
      running = true;
      await refreshDiscovery();
      watch(resources.AuthService, (o) => queue.add(keyOf(o?.metadata?.namespace, o?.metadata?.name)));
      for (const type of ownedKinds) watch(type, enqueueOwner, { labelSelector: ownedSelector });
      watch(resources.Secret, (o) => secretUsers(o).forEach((k) => queue.add(k)), { transform: secretDigest });
      await Promise.all([...informers.values()].map((i) => i.synced));
      logger.info('caches synced', { kinds: [...informers.keys()] });
      workers = Array.from({ length: options.workers ?? 4 }, () => work());
      timers = [
        setInterval(enqueueAll, options.resyncMs ?? 300_000),
        setInterval(() => void refreshDiscovery(), options.discoveryMs ?? 60_000),
      ];
      for (const t of timers) t.unref();
    },
    async stop() {
      running = false;
      for (const t of timers) clearInterval(t);
      for (const informer of informers.values()) informer.stop();
      queue.shutDown();
      await Promise.all(workers);
    },
  };
}
