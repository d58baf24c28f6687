// What the engine needs to know about the world, gathered by the reconciler
// before each pass, and the readiness tests it makes on it.
import type { Autoscaling, Colour, Rollout, VerticalAutoscaling } from '../api/types.js';

/** One colour's Deployment (`<name>-<colour>`), as read from the API server. */
export interface DeploymentObservation {
  exists: boolean;
  /** Its pod template's auth.keyward.dev/revision label. */
  revision?: string;
  /** Its auth-service container's image (used only to adopt a cluster whose status.rollout is missing). */
  image?: string;
  /** spec.replicas. */
  specReplicas: number;
  /** status.replicas: pods of every ReplicaSet of the Deployment. */
  statusReplicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** status.observedGeneration >= metadata.generation: the status describes the current spec. */
  generationObserved: boolean;
}

/** The outcome of one runAnalysis action. */
export interface MeasurementResult {
  /** The runAnalysis action's key; a result with any other key is ignored. */
  key: string;
  ok: boolean;
  /** What was seen, e.g. "GET /health → 503" or "result 0.04 ≥ 0.01". */
  message: string;
}

export interface Observation {
  /** podTemplateHash() of the current spec and Secrets. */
  desiredRevision: string;
  /** spec.image. */
  desiredImage: string;
  deployments: Record<Colour, DeploymentObservation>;
  /** The colour in the stable Service's selector; undefined when the Service or the colour label is missing. */
  serviceSelectorColor?: Colour;
  /**
   * The colour the HPA (and the VPA, when there is one) targets; undefined when
   * none exists or they disagree.
   */
  autoscalerColor?: Colour;
  /** The HPA's status.desiredReplicas, when an HPA exists. */
  hpaDesiredReplicas?: number;
  /** The latest measurement result not yet handed to the engine (or handed again: stale keys are ignored). */
  analysis?: MeasurementResult;
}

/** The spec fields the engine reads; an AuthServiceSpec is one. */
export interface RolloutSpec {
  replicas: number;
  autoscaling: Pick<Autoscaling, 'enabled' | 'minReplicas' | 'maxReplicas'>;
  verticalAutoscaling: Pick<VerticalAutoscaling, 'enabled'>;
  rollout: Rollout;
}

export const MISSING_DEPLOYMENT: DeploymentObservation = {
  exists: false,
  specReplicas: 0,
  statusReplicas: 0,
  updatedReplicas: 0,
  readyReplicas: 0,
  availableReplicas: 0,
  generationObserved: true,
};

/**
 * Every replica of `revision` is ready and available and no other pods are
 * left: the only state in which the stable Service may select this colour.
 * `replicas` is the count it must run (undefined: whatever spec.replicas says).
 */
export function fullyAvailable(d: DeploymentObservation, revision: string, replicas?: number): boolean {
  const want = replicas ?? d.specReplicas;
  return (
    d.exists &&
    d.generationObserved &&
    d.revision === revision &&
    want > 0 &&
    d.specReplicas === want &&
    d.statusReplicas === want &&
    d.updatedReplicas >= want &&
    d.readyReplicas >= want &&
    d.availableReplicas >= want
  );
}

/** "2/3 available" for messages; pods of another revision do not count. */
export function availabilityText(d: DeploymentObservation, revision: string, replicas?: number): string {
  if (!d.exists) return 'Deployment not created yet';
  const want = replicas ?? d.specReplicas;
  if (d.revision !== revision) return `0/${want} available (still at revision ${d.revision ?? 'unknown'})`;
  return `${Math.min(d.availableReplicas, d.updatedReplicas)}/${want} available`;
}

const clamp = (n: number, min: number, max: number): number => Math.min(max, Math.max(min, n));

/**
 * The size of a colour brought up next to a live one: the live colour's
 * current count, i.e. the HPA's desired figure when autoscaling is on (never
 * minReplicas: a colour seeded at the minimum falls over when traffic moves),
 * else spec.replicas. With autoscaling on and nothing known yet (first deploy),
 * spec.replicas within the HPA's bounds. Recomputed every pass until the flip, so the preview
 * follows the HPA while it waits.
 */
export function previewReplicas(spec: RolloutSpec, observed: Observation, live: Colour | undefined): number {
  if (!spec.autoscaling.enabled) return spec.replicas;
  const { minReplicas, maxReplicas } = spec.autoscaling;
  const liveCount = live !== undefined && observed.deployments[live].exists ? observed.deployments[live].specReplicas : undefined;
  // The larger of the two: the HPA's status lags its scale writes, and reads 0
  // before its first metrics; the live Deployment lags the HPA's decision.
  const current = Math.max(observed.hpaDesiredReplicas ?? 0, liveCount ?? 0);
  return clamp(current > 0 ? current : spec.replicas, minReplicas, maxReplicas);
}
