/**
 * What the AuthService's status should say, from what the reconcile pass saw.
 * Pure: the reconciler gathers the facts, this decides the words, and the
 * status is written only when the result differs from what is there.
 */
import type { AuthServiceStatus, Colour, Condition, ConditionStatus, Phase } from '../api/types.js';

export interface DeploymentFacts {
  exists: boolean;
  desiredReplicas: number;
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  updatedReplicas: number;
  /** The Deployment controller has seen the latest spec. */
  observed: boolean;
  /** Deployment condition Progressing=False with reason ProgressDeadlineExceeded. */
  deadlineExceeded: boolean;
}

export type FeatureState =
  | { state: 'applied' }
  | { state: 'disabled' }
  | { state: 'crd-missing'; crd: string };

export interface StatusFacts {
  generation: number;
  activeColour: Colour;
  revision: string;
  image: string;
  active: DeploymentFacts;
  /** The Secrets the pods read that do not exist (or lack the key). */
  missingSecrets: string[];
  /** Set when applying a child failed this pass. */
  applyError?: { kind: string; name: string; message: string };
  features: { VerticalPodAutoscaler: FeatureState; ServiceMonitor: FeatureState; PrometheusRule: FeatureState };
}

interface ConditionSpec {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

function phaseOf(facts: StatusFacts): Phase {
  if (facts.applyError || facts.missingSecrets.length > 0 || facts.active.deadlineExceeded) return 'Degraded';
  if (!facts.active.exists) return 'Pending';
  if (isRolledOut(facts.active)) return 'Healthy';
  return facts.active.readyReplicas === 0 && facts.active.updatedReplicas === 0 ? 'Pending' : 'Progressing';
}

const isRolledOut = (d: DeploymentFacts): boolean =>
  d.exists && d.observed && d.updatedReplicas === d.desiredReplicas && d.availableReplicas === d.desiredReplicas && d.replicas === d.desiredReplicas;

function featureCondition(type: string, feature: FeatureState): ConditionSpec {
  switch (feature.state) {
    case 'applied':
      return { type, status: 'True', reason: 'Applied', message: `${type} is applied.` };
    case 'disabled':
      return { type, status: 'False', reason: 'Disabled', message: `${type} is turned off in the spec.` };
    case 'crd-missing':
      return {
        type,
        status: 'False',
        reason: 'CRDNotInstalled',
        message: `The ${feature.crd} CustomResourceDefinition is not installed; the operator looks again every minute and applies the ${type} once it is.`,
      };
  }
}

function conditionSpecs(facts: StatusFacts, phase: Phase): ConditionSpec[] {
  const { active } = facts;
  const readyText = `${active.readyReplicas}/${active.desiredReplicas}`;
  const degraded: ConditionSpec = facts.applyError
    ? { type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: `Applying ${facts.applyError.kind} ${facts.applyError.name} failed: ${facts.applyError.message}` }
    : facts.missingSecrets.length > 0
      ? { type: 'Degraded', status: 'True', reason: 'SecretNotFound', message: `Missing Secret keys the pods need: ${facts.missingSecrets.join(', ')}.` }
      : active.deadlineExceeded
        ? { type: 'Degraded', status: 'True', reason: 'ProgressDeadlineExceeded', message: `Deployment ${facts.activeColour} did not become available within its progress deadline (${readyText} ready).` }
        : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'Every owned object is in its desired state.' };
  return [
    phase === 'Healthy'
      ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `The ${facts.activeColour} colour serves with ${readyText} replicas ready.` }
      : { type: 'Ready', status: 'False', reason: active.exists ? 'ReplicasNotReady' : 'DeploymentMissing', message: active.exists ? `${readyText} replicas of the ${facts.activeColour} colour are ready.` : `Deployment for the ${facts.activeColour} colour does not exist yet.` },
    phase === 'Progressing' || phase === 'Pending'
      ? { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `Bringing the ${facts.activeColour} colour to revision ${facts.revision} (${readyText} ready).` }
      : { type: 'Progressing', status: 'False', reason: phase === 'Healthy' ? 'Stable' : 'Stalled', message: phase === 'Healthy' ? `Revision ${facts.revision} is fully rolled out.` : 'No progress until the Degraded condition is resolved.' },
    degraded,
    featureCondition('VerticalPodAutoscaler', facts.features.VerticalPodAutoscaler),
    featureCondition('ServiceMonitor', facts.features.ServiceMonitor),
    featureCondition('PrometheusRule', facts.features.PrometheusRule),
  ];
}

/** Conditions keep their lastTransitionTime until their status changes (metav1.Condition semantics). */
export function mergeConditions(previous: readonly Condition[] | undefined, next: ConditionSpec[], generation: number, now: string): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now;
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

/** The status the AuthService should carry; `previous` supplies the transition times to keep. */
export function desiredStatus(facts: StatusFacts, previous: AuthServiceStatus | undefined, now: string): AuthServiceStatus {
  const phase = phaseOf(facts);
  return {
    ...previous,
    observedGeneration: facts.generation,
    phase,
    activeColor: facts.activeColour,
    activeRevision: facts.revision,
    activeImage: facts.image,
    replicas: facts.active.desiredReplicas,
    readyReplicas: facts.active.readyReplicas,
    readyText: `${facts.active.readyReplicas}/${facts.active.desiredReplicas}`,
    conditions: mergeConditions(previous?.conditions, conditionSpecs(facts, phase), facts.generation, now),
  };
}
