// What the blue/green engine remembers between reconcile passes: the shape of
// AuthService `status.rollout`. Everything needed to resume after an operator
// restart lives here, so a new leader continues exactly where the old one stopped.
//
// JSON keys spell "color" like the rest of the AuthService status (activeColor,
// the auth.keyward.dev/color label); TypeScript names keep the codebase's Colour.
import type { Colour } from '../api/types.js';

/**
 * Where a rollout is. Pre-flip steps: Deploying, PrePromotionAnalysis, Paused,
 * Promoting. Post-flip steps: PostPromotionAnalysis, ScalingDown. Resting
 * steps: Stable (healthy) and Degraded (the last rollout failed; the old colour
 * serves). Aborted is the way from a failure to Degraded.
 */
export const ROLLOUT_STEPS = [
  'Stable',
  'Deploying',
  'PrePromotionAnalysis',
  'Paused',
  'Promoting',
  'PostPromotionAnalysis',
  'ScalingDown',
  'Aborted',
  'Degraded',
] as const;
export type RolloutStep = (typeof ROLLOUT_STEPS)[number];

/** Steps before traffic moves: the preview colour is being brought up, checked or held. */
export const PRE_FLIP_STEPS: readonly RolloutStep[] = ['Deploying', 'PrePromotionAnalysis', 'Paused', 'Promoting'];
/** Steps after traffic moved while the old colour is still up for a fast rollback. */
export const POST_FLIP_STEPS: readonly RolloutStep[] = ['PostPromotionAnalysis', 'ScalingDown'];

/**
 * Condition reasons of a failed rollout; each names the step that failed.
 * AbortedByUser: `keyward-operator abort`.
 */
export const FAILURE_REASONS = [
  'ProgressDeadlineExceeded',
  'PrePromotionAnalysisFailed',
  'PromotionDeadlineExceeded',
  'PostPromotionAnalysisFailed',
  'AbortedByUser',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export const COMMANDS = ['promote', 'abort', 'retry'] as const;
export type RolloutCommand = (typeof COMMANDS)[number];

/**
 * `status.rollout.commands`, written by the CLI (a JSON merge patch, see
 * commands.ts), never by the engine. Each value is the time the command was
 * given; a value the engine has not acknowledged yet is a new command.
 */
export type RolloutCommands = Partial<Record<RolloutCommand, string>>;

/** A colour running a revision. */
export interface Release {
  color: Colour;
  /** Pod-template hash (operator/reconcile/deployment.ts podTemplateHash). */
  revision: string;
  image: string;
}

export interface Failure {
  /** The step that failed. */
  step: RolloutStep;
  reason: FailureReason;
  message: string;
  /** The revision that failed. */
  revision: string;
  at: string;
}

export type AnalysisPhase = 'pre' | 'post';

/** Progress of one pre- or post-promotion analysis run. */
export interface AnalysisProgress {
  phase: AnalysisPhase;
  color: Colour;
  revision: string;
  successes: number;
  failures: number;
  /** 1-based number of the measurement awaited next. */
  measurement: number;
  /** When the awaited measurement is due (an RFC 3339 time). */
  dueAt: string;
  /** What the last measurement said. */
  lastMessage?: string;
}

/** Moments of the current (or last) rollout, for `keyward-operator status`. */
export const MILESTONES = [
  'started',
  'previewAvailable',
  'prePromotionAnalysisPassed',
  'paused',
  'promoted',
  'postPromotionAnalysisPassed',
  'scaledDown',
  'failed',
] as const;
export type Milestone = (typeof MILESTONES)[number];

export interface HistoryEntry {
  at: string;
  /** The step entered (or kept) when this happened. */
  step: RolloutStep;
  /** The Event reason, or what happened when no Event was recorded. */
  reason: string;
  message: string;
}

/** The last entries are kept; older ones are in the Events (and gone once those expire). */
export const HISTORY_LIMIT = 20;

/** `status.rollout` without `commands`. Times are RFC 3339 strings. */
export interface RolloutState {
  step: RolloutStep;
  /**
   * The colour the stable Service selects. Undefined only while the very first
   * revision is being deployed (nothing serves yet).
   */
  active?: Release;
  /**
   * Pre-flip: the colour being brought up with the desired revision (on the
   * first deploy, the colour that will become active). In Aborted: the failed
   * colour, waiting to be scaled to 0.
   */
  preview?: Release;
  /** Post-flip: the colour that served before, kept at its size for a rollback until scaled down. */
  previous?: Release;
  /** When the current step began; deadlines count from here. */
  stepStartedAt?: string;
  /** Promoting: traffic moves at this time (autoPromotionSeconds), or as soon as the preview is ready once it passed. */
  promoteAt?: string;
  /** ScalingDown and Aborted: the other colour goes to 0 replicas at this time. */
  scaleDownAt?: string;
  /**
   * Post-flip, while the stable Service does not select the active colour: when a pass first found
   * it so. The deadline for the Service to move counts from here, not from the decision, so a
   * decision persisted just before the operator stopped for longer than the deadline is still
   * carried out when it runs again, instead of being rolled back untried.
   */
  selectorWaitSince?: string;
  /** `promote` was given for the rollout in flight: the promotion gate will not pause. */
  promoteApproved?: boolean;
  analysis?: AnalysisProgress;
  /** Not rolled out again until the spec changes or `retry` is given. */
  failedRevision?: string;
  /** Set from a failure until the next rollout starts or the spec returns to the active revision. */
  failure?: Failure;
  milestones: Partial<Record<Milestone, string>>;
  /** The command values already acted on (or refused), so each command counts once. */
  acknowledged: RolloutCommands;
  /** Newest last, at most HISTORY_LIMIT entries. */
  history: HistoryEntry[];
}

export const isPreFlip = (step: RolloutStep): boolean => PRE_FLIP_STEPS.includes(step);
export const isPostFlip = (step: RolloutStep): boolean => POST_FLIP_STEPS.includes(step);
