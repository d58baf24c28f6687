// Every object an AuthService should own, from data alone: the reconciler
// applies this list and `keyward-operator render -f` prints it.
import type { KubernetesObject, V1ObjectMeta } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { defaultAuthService } from './api/defaults.js';
import type { AuthService, AuthServiceInput, Colour } from './api/types.js';
import { desiredBackupCronJob, desiredBackupScripts } from './reconcile/backup.js';
import { desiredDeployment } from './reconcile/deployment.js';
import { desiredHorizontalPodAutoscaler } from './reconcile/hpa.js';
import { desiredNetworkPolicy } from './reconcile/networkpolicy.js';
import { desiredPodDisruptionBudget } from './reconcile/pdb.js';
import { desiredPrometheusRule } from './reconcile/prometheusrule.js';
import { desiredColourService, desiredService } from './reconcile/service.js';
import { desiredServiceAccount } from './reconcile/serviceaccount.js';
import { desiredServiceMonitor } from './reconcile/servicemonitor.js';
import { desiredVerticalPodAutoscaler } from './reconcile/vpa.js';

/** Which optional CRDs the cluster has; objects of a missing one are left out. */
export interface OptionalCrds {
  verticalPodAutoscaler: boolean;
  serviceMonitor: boolean;
  prometheusRule: boolean;
}

export interface RenderOptions {
  /** The colour the stable Service, the HPA and the VPA point at. */
  activeColour: Colour;
  /**
   * The colour the stable Service selects now, which the PodDisruptionBudget protects; default
   * activeColour. It differs while a flip is decided but not applied: the budget moves once traffic has.
   */
  servingColour?: Colour | undefined;
  /** secretsHash() of the Secrets the pods read ('' when rendering without a cluster). */
  secretsHash: string;
  /** Replicas per colour; by default spec.replicas for the active colour and 0 for the idle one. */
  replicas?: Partial<Record<Colour, number>>;
  /** Default: every optional CRD present, so that a render shows everything. */
  crds?: Partial<OptionalCrds>;
  /** For an AuthService without metadata.namespace (a manifest as written); default "default", as kubectl. */
  namespace?: string;
}

/** An object ready for server-side apply: apiVersion, kind and a named, namespaced metadata. */
export type RenderedObject = KubernetesObject & { apiVersion: string; kind: string; metadata: V1ObjectMeta & { name: string } };

function rendered(object: KubernetesObject): RenderedObject {
  const { apiVersion, kind, metadata } = object;
  if (!apiVersion || !kind || !metadata?.name) throw new Error(`a builder returned an object without apiVersion, kind or name: ${JSON.stringify(object)}`);
  // A fresh tree per object: builders reuse label maps, and a caller that edits
  // one object must not change another.
  return structuredClone(object) as RenderedObject;
}

const other = (colour: Colour): Colour => (colour === 'blue' ? 'green' : 'blue');

/**
 * The steady state of an AuthService: both colours running the current spec
 * (the idle one scaled to nothing unless told otherwise), the Services with
 * traffic on `activeColour`, and every enabled feature whose CRD is present.
 * The spec is defaulted first, so a manifest as written works too.
 */
export function renderAll(input: AuthService | AuthServiceInput, options: RenderOptions): RenderedObject[] {
  const auth = defaultAuthService({
    ...input,
    metadata: { ...input.metadata, namespace: input.metadata.namespace ?? options.namespace ?? 'default' },
  });
  const { activeColour, secretsHash } = options;
  const idleColour = other(activeColour);
  const crds: OptionalCrds = { verticalPodAutoscaler: true, serviceMonitor: true, prometheusRule: true, ...options.crds };
  const replicas = { [activeColour]: auth.spec.replicas, [idleColour]: 0, ...options.replicas } as Record<Colour, number>;

  const objects: Array<KubernetesObject | undefined> = [
    desiredServiceAccount(auth),
    desiredBackupScripts(auth),
    desiredService(auth, activeColour),
    desiredColourService(auth, 'blue'),
    desiredColourService(auth, 'green'),
    desiredDeployment(auth, 'blue', { replicas: replicas.blue, secretsHash }),
    desiredDeployment(auth, 'green', { replicas: replicas.green, secretsHash }),
    desiredHorizontalPodAutoscaler(auth, activeColour),
    crds.verticalPodAutoscaler ? desiredVerticalPodAutoscaler(auth, activeColour) : undefined,
    desiredPodDisruptionBudget(auth, options.servingColour ?? activeColour),
    desiredNetworkPolicy(auth),
    crds.serviceMonitor ? desiredServiceMonitor(auth) : undefined,
    crds.prometheusRule ? desiredPrometheusRule(auth, options.servingColour ?? activeColour) : undefined,
    desiredBackupCronJob(auth),
  ];
  return objects.filter((o): o is KubernetesObject => o !== undefined).map(rendered);
}

/** Multi-document YAML, one document per object, as `kubectl apply -f` reads it. */
export function toYaml(objects: readonly object[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
