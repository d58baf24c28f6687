/**
 * What the AuthService's status should say, from what the reconcile pass saw.
 * Pure: the reconciler gathers the facts, this decides the words, and the
 * status is written only when the result differs from what is there (a
 * difference in progress figures alone at most every few seconds).
 */
import type { AuthServiceStatus, Colour, Condition, ConditionStatus, Phase } from '../api/types.js';
import type { DeploymentObservation } from '../rollout/observed.js';
import { isSubset } from './drift.js';

/** The serving colour's Deployment as the engine observed it, with the count it should run. */
export type DeploymentFacts = DeploymentObservation & { desiredReplicas: number };

export type FeatureState =
  | { state: 'applied' }
  | { state: 'disabled' }
  | { state: 'crd-missing'; crd: string };

export interface StatusFacts {
  generation: number;
  /** The colour serving traffic (or about to, on a first deploy). */
  activeColour: Colour;
  active: DeploymentFacts;
  /** The Secrets the pods read that do not exist (or lack the key). */
  missingSecrets: string[];
  /** Set when applying a child failed this pass. */
  applyError?: { kind: string; name: string; message: string };
  features: { VerticalPodAutoscaler: FeatureState; ServiceMonitor: FeatureState; PrometheusRule: FeatureState };
}

export interface ConditionSpec {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

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

/** An operator-level problem that outranks whatever the rollout says (it cannot progress until fixed). */
function blocker(facts: StatusFacts): ConditionSpec | undefined {
  if (facts.applyError) {
    return { type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: `Applying ${facts.applyError.kind} ${facts.applyError.name} failed: ${facts.applyError.message}` };
  }
  if (facts.missingSecrets.length > 0) {
    return { type: 'Degraded', status: 'True', reason: 'SecretNotFound', message: `Missing Secret keys the pods need: ${facts.missingSecrets.join(', ')}.` };
  }
  return undefined;
}

/**
 * At rest, not one ready pod in the serving colour: nothing answers, whatever the rollout says. The
 * rollout is done (Healthy) and has no reason to look at readiness again, so without this the phase
 * stayed Healthy through a database outage that left every pod unready. A colour short of a few
 * ready pods (an HPA scale-up, a node drain) still serves, and Ready=False says so.
 */
function nothingServes(facts: StatusFacts, phase: Phase): ConditionSpec | undefined {
  const { active } = facts;
  if (phase !== 'Healthy' || !active.exists || active.desiredReplicas === 0 || active.readyReplicas > 0) return undefined;
  return {
    type: 'Degraded',
    status: 'True',
    reason: 'NoReplicaReady',
    message: `None of the ${active.desiredReplicas} replicas of the ${facts.activeColour} colour is ready: nothing serves. Their readiness probe fails; the pods' /health/ready answer names the cause (the database, draining).`,
  };
}

/** What the blue/green engine said this pass (operator/rollout). */
export interface RolloutView {
  phase: Phase;
  conditions: ConditionSpec[];
  summary: Pick<AuthServiceStatus, 'activeColor' | 'activeRevision' | 'activeImage' | 'previewColor' | 'previewRevision'>;
  /** status.rollout as the engine persists it. */
  rollout: Record<string, unknown>;
}

/** The status the AuthService should carry; `previous` supplies the transition times to keep. */
export function desiredStatus(facts: StatusFacts, rollout: RolloutView, previous: AuthServiceStatus | undefined, now: string): AuthServiceStatus {
  const { active } = facts;
  const readyText = `${active.readyReplicas}/${active.desiredReplicas}`;
  const block = blocker(facts) ?? nothingServes(facts, rollout.phase);
  const phase: Phase = block ? 'Degraded' : rollout.phase;
  const servingReady = active.exists && active.readyReplicas >= active.desiredReplicas && active.desiredReplicas > 0;
  const ready: ConditionSpec = servingReady
    ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `The ${facts.activeColour} colour serves with ${readyText} replicas ready.` }
    : { type: 'Ready', status: 'False', reason: active.exists ? 'ReplicasNotReady' : 'DeploymentMissing', message: active.exists ? `${readyText} replicas of the ${facts.activeColour} colour are ready.` : `No Deployment serves the ${facts.activeColour} colour yet.` };
  // One Degraded condition holds one reason: the blocker's, with the rollout's own failure (a
  // rollback, a deadline) kept in the message, where it would otherwise vanish until the blocker does.
  const fromRollout = rollout.conditions.map((c) =>
    block && c.type === 'Degraded' ? (c.status === 'True' ? { ...block, message: `${block.message}; the rollout is degraded too (${c.reason}): ${c.message}` } : block) : c,
  );
  if (!fromRollout.some((c) => c.type === 'Degraded')) {
    fromRollout.push(block ?? { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'Every owned object is in its desired state.' });
  }
  const { previewColor: _p, previewRevision: _r, ...rest } = previous ?? {};
  return {
    ...rest,
    ...rollout.summary,
    observedGeneration: facts.generation,
    phase,
    replicas: active.desiredReplicas,
    readyReplicas: active.readyReplicas,
    readyText,
    rollout: rollout.rollout,
    conditions: mergeConditions(previous?.conditions, [
      ready,
      ...fromRollout,
      featureCondition('VerticalPodAutoscaler', facts.features.VerticalPodAutoscaler),
      featureCondition('ServiceMonitor', facts.features.ServiceMonitor),
      featureCondition('PrometheusRule', facts.features.PrometheusRule),
    ], facts.generation, now),
  };
}

/** Conditions keep their lastTransitionTime until their status changes (metav1.Condition semantics). */
export function mergeConditions(previous: readonly Condition[] | undefined, next: ConditionSpec[], generation: number, now: string): Condition[] {
  return next.map((c) => {
    const old = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = old && old.status === c.status ? old.lastTransitionTime : now;
    return { ...c, observedGeneration: generation, lastTransitionTime };
  });
}

/** The status without its progress figures: the ready counts and the wording of each condition. */
function withoutProgress(status: AuthServiceStatus): AuthServiceStatus {
  const { readyReplicas: _count, readyText: _text, conditions, ...rest } = status;
  return { ...rest, conditions: (conditions ?? []).map(({ message: _message, ...c }) => ({ ...c, message: '' })) };
}

/**
 * True when `next` differs from `current` only in progress figures — ready
 * counts, and messages of conditions whose status and reason stay ("1/3
 * available" → "2/3 available") — while the phase, every condition's status
 * and reason, and the persisted rollout are unchanged. Such a change is worth
 * showing, but not once per pod within one burst of readiness events.
 */
export function onlyProgress(current: AuthServiceStatus | undefined, next: AuthServiceStatus): boolean {
  if (!current) return false;
  const a = withoutProgress(current);
  const b = withoutProgress(next);
  return isSubset(a, b) && isSubset(b, a);
}

/**
 * The live status as this operator writes it, for comparing with the one it would write:
 * `status.rollout.commands` belongs to the CLI (rollout/commands.ts) and is never in what the
 * operator applies. Left in, one command made the two differ for the rest of the object's life,
 * and every pass wrote the status again.
 */
export function ownStatus(live: AuthServiceStatus | undefined): AuthServiceStatus | undefined {
  if (!live?.rollout || !('commands' in live.rollout)) return live;
  const { commands: _cli, ...rollout } = live.rollout;
  return { ...live, rollout };
}
