// The words the AuthService status carries about a rollout: phase, conditions
// and the printer-column fields. Every step has a Progressing condition saying
// where the rollout is and what it waits for.
import type { Colour, ConditionStatus, Phase } from '../api/types.js';
import { isPreFlip, type RolloutState, type RolloutStep } from './state.js';

export const ROLLOUT_CONDITION_TYPES = ['Progressing', 'Degraded', 'Paused'] as const;
export type RolloutConditionType = (typeof ROLLOUT_CONDITION_TYPES)[number];

/** A metav1.Condition without its times: merge with operator/controller/status.ts mergeConditions(). */
export interface RolloutCondition {
  type: RolloutConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The top-level status fields that follow the rollout (printer columns Active, Image, Preview, Revision). */
export interface RolloutSummary {
  activeColor?: Colour;
  activeRevision?: string;
  activeImage?: string;
  /** Only while a rollout is in flight before the flip. */
  previewColor?: Colour;
  previewRevision?: string;
}

const PROGRESSING_REASONS: Record<RolloutStep, string> = {
  Stable: 'RolloutComplete',
  Deploying: 'DeployingPreview',
  PrePromotionAnalysis: 'PrePromotionAnalysis',
  Paused: 'AwaitingPromotion',
  Promoting: 'Promoting',
  PostPromotionAnalysis: 'PostPromotionAnalysis',
  ScalingDown: 'ScalingDown',
  Aborted: 'RollingBack',
  Degraded: 'RolloutFailed',
};

export function rolloutPhase(state: RolloutState): Phase {
  switch (state.step) {
    case 'Stable':
      return 'Healthy';
    case 'Aborted':
    case 'Degraded':
      return 'Degraded';
    case 'Paused':
      return 'Paused';
    case 'Deploying':
      if (state.active) return 'Progressing';
      return state.failure ? 'Degraded' : 'Pending';
    default:
      return 'Progressing';
  }
}

/** `detail` is what the current step is doing or waiting for, in a sentence. */
export function rolloutConditions(state: RolloutState, detail: string): RolloutCondition[] {
  const { step, failure } = state;
  const firstDeploy = step === 'Deploying' && !state.active;
  const progressing: RolloutCondition = {
    type: 'Progressing',
    status: step === 'Stable' || step === 'Degraded' ? 'False' : 'True',
    reason: firstDeploy ? 'DeployingFirstRevision' : step === 'Degraded' && failure ? failure.reason : PROGRESSING_REASONS[step],
    message: `${step}: ${detail}`,
  };
  const degraded: RolloutCondition = failure
    ? {
        type: 'Degraded',
        status: 'True',
        reason: failure.reason,
        message: `Revision ${failure.revision} failed at ${failure.step}: ${failure.message}`,
      }
    : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'No rollout has failed.' };
  const paused: RolloutCondition =
    step === 'Paused'
      ? { type: 'Paused', status: 'True', reason: 'AwaitingPromotion', message: detail }
      : { type: 'Paused', status: 'False', reason: 'NotPaused', message: 'No rollout is waiting for promote.' };
  return [progressing, degraded, paused];
}

export function rolloutSummary(state: RolloutState): RolloutSummary {
  const preFlip = isPreFlip(state.step);
  return {
    ...(state.active ? { activeColor: state.active.color, activeRevision: state.active.revision, activeImage: state.active.image } : {}),
    ...(preFlip && state.preview ? { previewColor: state.preview.color, previewRevision: state.preview.revision } : {}),
  };
}

/**
 * The summary as it is while the stable Service selects `serving`: the release on that colour is
 * the active one, whatever the decision says. A flip decided but not applied, or a rollback whose
 * traffic has not come back yet, would otherwise show the decided colour with traffic elsewhere.
 * `serving` undefined (no stable Service yet) leaves the decision's summary.
 */
export function servingSummary(state: RolloutState, serving: Colour | undefined): RolloutSummary {
  if (serving === undefined || serving === state.active?.color) return rolloutSummary(state);
  // With two colours, the one serving is the other release (previous or preview): never shown as a preview.
  const release = [state.previous, state.preview].find((r) => r?.color === serving);
  return { activeColor: serving, ...(release ? { activeRevision: release.revision, activeImage: release.image } : {}) };
}
