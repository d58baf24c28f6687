/**
 * One level-based reconcile pass for one AuthService: read the world from the
 * informer caches, compute every child with the pure builders, apply only what
 * differs, write status only when it differs, and say when to look again.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { KubeError } from '../kube/client.js';
import { API_VERSION, KIND } from '../api/types.js';
import { podTemplateHash } from '../reconcile/deployment.js';
import { podSecretReferences, secretsHash, type SecretLike } from '../reconcile/secrets.js';
import { renderAll, type OptionalCrds } from '../render.js';
import { isSubset } from './drift.js';
import type { EventRecorder } from './events.js';
import { desiredStatus, type DeploymentFacts, type FeatureState, type StatusFacts } from './status.js';

/** Read access to what the informers hold. */
export interface Caches {
  get<T>(kind: string, namespace: string, name: string): T | undefined;
}

export interface ReconcilerDeps {
  client: KubeClient;
  caches: Caches;
  /** Which optional CRDs discovery found. */
  crds: () => OptionalCrds;
  events: EventRecorder;
  now: () => Date;
  logger: Logger;
}

export interface ReconcileResult {
  /** Look again after this long even without an event (e.g. an optional CRD may appear). */
  requeueAfterMs?: number;
  /** Objects applied this pass (0 on an idle resync). */
  applied: number;
}

/** A spec the builders cannot turn into objects: retrying will not help until the spec changes. */
export class InvalidSpecError extends Error {}

const crdNames = {
  VerticalPodAutoscaler: 'verticalpodautoscalers.autoscaling.k8s.io',
  ServiceMonitor: 'servicemonitors.monitoring.coreos.com',
  PrometheusRule: 'prometheusrules.monitoring.coreos.com',
} as const;

function deploymentFacts(live: V1Deployment | undefined, desiredReplicas: number): DeploymentFacts {
  const status = live?.status;
  return {
    exists: live !== undefined,
    desiredReplicas,
    replicas: status?.replicas ?? 0,
    readyReplicas: status?.readyReplicas ?? 0,
    availableReplicas: status?.availableReplicas ?? 0,
    updatedReplicas: status?.updatedReplicas ?? 0,
    observed: live !== undefined && (status?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 0),
    deadlineExceeded: status?.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded') ?? false,
  };
}

/** Secret keys the pods need that are absent ("secret/key"). Optional keys do not count. */
function missingSecretKeys(auth: AuthService, secrets: ReadonlyMap<string, SecretLike | undefined>): string[] {
  return podSecretReferences(auth.spec)
    .filter((ref) => !ref.optional && secrets.get(ref.secret)?.data?.[ref.key] === undefined)
    .map((ref) => `${ref.secret}/${ref.key}`);
}

function featureState(enabled: boolean, present: boolean, kind: keyof typeof crdNames): FeatureState {
  if (!enabled) return { state: 'disabled' };
  return present ? { state: 'applied' } : { state: 'crd-missing', crd: crdNames[kind] };
}

export async function reconcile(deps: ReconcilerDeps, namespace: string, name: string): Promise<ReconcileResult> {
  const auth = deps.caches.get<AuthService>(KIND, namespace, name);
  // Gone, or going: ownerReferences let the garbage collector remove the children.
  if (!auth || auth.metadata.deletionTimestamp) return { applied: 0 };
  const { spec } = auth;

  const secretNames = [...new Set(podSecretReferences(spec).map((r) => r.secret))];
  const secrets = new Map(secretNames.map((s) => [s, deps.caches.get<SecretLike & KubeObject>('Secret', namespace, s)]));
  const hash = secretsHash(spec, [...secrets.values()].filter((s): s is SecretLike & KubeObject => s !== undefined));
  const revision = podTemplateHash(auth, hash);

  const activeColour: Colour = auth.status?.activeColor ?? 'blue';
  const idleColour: Colour = activeColour === 'blue' ? 'green' : 'blue';
  const liveActive = deps.caches.get<V1Deployment>('Deployment', namespace, `${name}-${activeColour}`);
  // With autoscaling on, the HPA owns the count: apply what it decided, never fight it.
  const activeReplicas = spec.autoscaling.enabled
    ? (liveActive?.spec?.replicas ?? Math.max(spec.replicas, spec.autoscaling.minReplicas))
    : spec.replicas;

  const crds = deps.crds();
  let desired: KubeObject[];
  try {
    desired = renderAll(auth, { activeColour, replicas: { [activeColour]: activeReplicas, [idleColour]: 0 } as Record<Colour, number>, secretsHash: hash, crds });
  } catch (err) {
    throw new InvalidSpecError(`the spec cannot be rendered: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  let applied = 0;
  let applyError: StatusFacts['applyError'];
  // What the API server answered to our applies: fresher than the cache for this pass's status.
  const answers = new Map<string, KubeObject>();
  for (const object of desired) {
    const kind = object.kind!;
    const objectName = object.metadata!.name!;
    const live = deps.caches.get<KubeObject>(kind, namespace, objectName);
    if (live && isSubset(object, live)) continue;
    try {
      answers.set(`${kind}/${objectName}`, await deps.client.apply(object));
      applied += 1;
      const verb = live ? 'Updated' : 'Created';
      deps.logger.info(`${verb.toLowerCase()} ${kind} ${objectName}`, { authservice: `${namespace}/${name}` });
      await deps.events.record(auth, 'Normal', verb, `${verb} ${kind} ${objectName}${live ? ' (it differed from the desired state)' : ''}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      applyError ??= { kind, name: objectName, message };
      deps.logger.warn(`applying ${kind} ${objectName} failed`, { authservice: `${namespace}/${name}`, error: message });
      await deps.events.record(auth, 'Warning', 'ApplyFailed', `Applying ${kind} ${objectName} failed: ${message}`).catch(() => undefined);
    }
  }

  const facts: StatusFacts = {
    generation: auth.metadata.generation ?? 0,
    activeColour,
    revision,
    image: spec.image,
    active: deploymentFacts((answers.get(`Deployment/${name}-${activeColour}`) as V1Deployment | undefined) ?? liveActive, activeReplicas),
    missingSecrets: missingSecretKeys(auth, secrets),
    ...(applyError ? { applyError } : {}),
    features: {
      VerticalPodAutoscaler: featureState(spec.verticalAutoscaling.enabled, crds.verticalPodAutoscaler, 'VerticalPodAutoscaler'),
      ServiceMonitor: featureState(spec.monitoring.serviceMonitor.enabled, crds.serviceMonitor, 'ServiceMonitor'),
      PrometheusRule: featureState(spec.monitoring.prometheusRule.enabled, crds.prometheusRule, 'PrometheusRule'),
    },
  };
  const status = desiredStatus(facts, auth.status, deps.now().toISOString());
  if (!isSubset(status, auth.status ?? {})) {
    await deps.client.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, status } as KubeObject);
    if (auth.status?.phase !== status.phase) {
      const warning = status.phase === 'Degraded';
      const reason = status.conditions?.find((c) => c.type === (warning ? 'Degraded' : 'Ready'));
      await deps.events.record(auth, warning ? 'Warning' : 'Normal', `Phase${status.phase}`, reason?.message ?? `Phase is ${status.phase}.`);
    }
  }
  if (applyError) throw new KubeError(500, 'ApplyFailed', `applying ${applyError.kind} ${applyError.name}: ${applyError.message}`);

  const waitingForCrd = Object.values(facts.features).some((f) => f.state === 'crd-missing');
  return { applied, ...(waitingForCrd ? { requeueAfterMs: 60_000 } : {}) };
}
