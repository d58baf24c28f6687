/**
 * The operator's own metrics registry (a separate process from the auth
 * workload, so a separate registry from service/metrics/registry.ts). Names
 * follow controller-runtime's (controller_runtime_reconcile_total{result}, …)
 * under the keyward_operator_ prefix. Labels carry only bounded sets: a result,
 * a kind, a verb — never an object's name, with one exception: the rollout
 * phase gauge is per AuthService, as kube-state-metrics' object gauges are
 * per object. Its series grow with the AuthServices and go with them.
 */
import client from 'prom-client';
import { PHASES, type AuthService } from '../api/types.js';
import type { WriteCounter } from '../kube/client.js';

/** controller-runtime's reconcile results. */
export const reconcileResults = ['success', 'error', 'requeue', 'requeue_after'] as const;
export type ReconcileResult = (typeof reconcileResults)[number];

/**
 * A pass's result as controller-runtime counts it: a pass that asked to be looked at again after a
 * while (a rollout's deadline or delay, a measurement due) is requeue_after, not success; an invalid
 * spec is an error. (requeue, an immediate retry, is never asked for here: it stays at 0.)
 */
export function reconcileResultOf(outcome: 'success' | 'error' | 'invalid', requeuedAfter: boolean): ReconcileResult {
  if (outcome !== 'success') return 'error';
  return requeuedAfter ? 'requeue_after' : 'success';
}

/** Kubernetes verbs for the client's mutating HTTP methods (the verbs RBAC and the audit log use). */
export const writeVerbs = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as const;
export type WriteVerb = (typeof writeVerbs)[keyof typeof writeVerbs];

export interface OperatorMetrics {
  registry: client.Registry;
  reconcileTotal: client.Counter<'result'>;
  reconcileDuration: client.Histogram;
  reconcileErrors: client.Counter;
  queueDepth: client.Gauge;
  watchRestarts: client.Counter<'kind'>;
  apiWrites: client.Counter<'verb'>;
  leader: client.Gauge;
  rolloutPhase: client.Gauge<'namespace' | 'name' | 'phase'>;
  /** One reconcile pass: counts it by result, observes its duration, and counts it as an error when it is one. */
  recordReconcile(result: ReconcileResult, durationSeconds: number): void;
  /** Pass as `onWrite` to createKubeClient to count API writes by verb. */
  countWrite: WriteCounter;
}

export interface OperatorMetricsSources {
  /** Read on scrape, for a queue that keeps its own depth. */
  queueDepth?: () => number;
  /** Read on scrape, e.g. the leader elector's isLeader. */
  isLeader?: () => boolean;
  /** Read on scrape: the AuthServices whose status.phase the rollout phase gauge reports (the controller's cache). */
  authServices?: () => readonly Pick<AuthService, 'metadata' | 'status'>[];
}

// Reconciles are a few server-side applies: tens of milliseconds when idle, seconds under load or with a slow API server.
const reconcileBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createOperatorMetrics(sources: OperatorMetricsSources = {}): OperatorMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const reconcileTotal = new client.Counter({
    name: 'keyward_operator_reconcile_total',
    help: 'Reconcile passes by result',
    labelNames: ['result'],
    registers,
  });
  const reconcileDuration = new client.Histogram({
    name: 'keyward_operator_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass',
    buckets: reconcileBuckets,
    registers,
  });
  const reconcileErrors = new client.Counter({
    name: 'keyward_operator_reconcile_errors_total',
    help: 'Reconcile passes that ended in an error',
    registers,
  });
  const apiWrites = new client.Counter({
    name: 'keyward_operator_api_writes_total',
    help: 'Mutating requests sent to the Kubernetes API server, by verb',
    labelNames: ['verb'],
    registers,
  });
  // Every series exists from the start at 0: rate() over an absent series has no answer
  // (Prometheus docs, "Instrumentation: avoid missing metrics").
  for (const result of reconcileResults) reconcileTotal.inc({ result }, 0);
  for (const verb of Object.values(writeVerbs)) apiWrites.inc({ verb }, 0);

  return {
    registry,
    reconcileTotal,
    reconcileDuration,
    reconcileErrors,
    queueDepth: new client.Gauge({
      name: 'keyward_operator_queue_depth',
      help: 'Keys waiting in the work queue',
      registers,
      collect() {
        if (sources.queueDepth) this.set(sources.queueDepth());
      },
    }),
    watchRestarts: new client.Counter({
      name: 'keyward_operator_watch_restarts_total',
      help: 'Watches restarted after an error, the end of a stream or a stall, by kind',
      labelNames: ['kind'],
      registers,
    }),
    apiWrites,
    leader: new client.Gauge({
      name: 'keyward_operator_leader',
      help: '1 while this process holds the leader Lease, else 0',
      registers,
      collect() {
        if (sources.isLeader) this.set(sources.isLeader() ? 1 : 0);
      },
    }),
    rolloutPhase: new client.Gauge({
      name: 'keyward_operator_rollout_phase',
      help: "1 for the phase an AuthService's status reports (Pending, Progressing, Paused, Healthy, Degraded), 0 for the others",
      // namespace and name are the AuthService's: the chart's ServiceMonitor honours them
      // over the scrape target's own namespace label (honorLabels), as kube-state-metrics' does.
      labelNames: ['namespace', 'name', 'phase'],
      registers,
      collect() {
        if (!sources.authServices) return;
        // Rebuilt from the cache on every scrape, so a deleted AuthService leaves no series behind.
        this.reset();
        for (const { metadata, status } of sources.authServices()) {
          const namespace = metadata.namespace ?? '';
          const name = metadata.name ?? '';
          // Before the first status write no phase is 1: the operator has not looked yet.
          for (const phase of PHASES) this.set({ namespace, name, phase }, status?.phase === phase ? 1 : 0);
        }
      },
    }),
    recordReconcile(result, durationSeconds) {
      reconcileTotal.inc({ result });
      reconcileDuration.observe(durationSeconds);
      if (result === 'error') reconcileErrors.inc();
    },
    countWrite(verb) {
      if (verb !== 'GET') apiWrites.inc({ verb: writeVerbs[verb] });
    },
  };
}
