// Builders for rollout tests: specs, persisted states and observations, with
// times in seconds after T0 so a table row reads like a timeline.
import { withDefaults } from '../../../operator/api/defaults.js';
import type { Analysis, Colour } from '../../../operator/api/types.js';
import { MISSING_DEPLOYMENT, type DeploymentObservation, type MeasurementResult, type Observation, type RolloutSpec } from '../../../operator/rollout/observed.js';
import type { Action } from '../../../operator/rollout/plan.js';
import type { AnalysisProgress, Release, RolloutCommands, RolloutState, RolloutStep } from '../../../operator/rollout/state.js';

export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
/** Milliseconds since the epoch, `s` seconds after T0. */
export const at = (s: number): number => T0 + s * 1000;
/** The same moment as an RFC 3339 string. */
export const t = (s: number): string => new Date(at(s)).toISOString();

export const A = 'aaaa000001';
export const B = 'bbbb000002';
export const C = 'cccc000003';
export const image = (revision: string): string => `registry.example/keyward-service:${revision}`;

export const BLUE_A: Release = { color: 'blue', revision: A, image: image(A) };
export const GREEN_B: Release = { color: 'green', revision: B, image: image(B) };

export interface SpecOptions {
  replicas?: number;
  autoscaling?: boolean;
  minReplicas?: number;
  maxReplicas?: number;
  vpa?: boolean;
  autoPromotion?: boolean;
  autoPromotionSeconds?: number;
  progressDeadlineSeconds?: number;
  scaleDownDelaySeconds?: number;
  /** null: no pre-promotion analysis. */
  pre?: Partial<Analysis> | null;
  post?: Partial<Analysis> | null;
}

/** A spec as the API server defaults it (so an AuthServiceSpec is what the engine is tested with), autoscaling off unless asked. */
export function spec(o: SpecOptions = {}): RolloutSpec {
  const full = withDefaults({
    image: image(A),
    database: { urlSecretRef: { name: 'auth-db' } },
    jwt: { keysSecretRef: { name: 'auth-jwt' } },
    replicas: o.replicas ?? 3,
    autoscaling: { enabled: o.autoscaling ?? false, minReplicas: o.minReplicas ?? 3, maxReplicas: o.maxReplicas ?? 50 },
    verticalAutoscaling: { enabled: o.vpa ?? false, updateMode: 'Off' },
    rollout: {
      autoPromotion: o.autoPromotion ?? true,
      autoPromotionSeconds: o.autoPromotionSeconds ?? 0,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      scaleDownDelaySeconds: o.scaleDownDelaySeconds ?? 30,
      prePromotionAnalysis: { count: 3, intervalSeconds: 5, failureLimit: 0, timeoutSeconds: 5, ...(o.pre ?? {}) },
      postPromotionAnalysis: { count: 3, intervalSeconds: 10, failureLimit: 0, timeoutSeconds: 5, ...(o.post ?? {}) },
    },
  });
  const rollout: RolloutSpec['rollout'] = { ...full.rollout };
  if (o.pre === null) delete rollout.prePromotionAnalysis;
  if (o.post === null) delete rollout.postPromotionAnalysis;
  return { ...full, rollout };
}

// ---------------------------------------------------------------- deployments

/** A Deployment of `revision` with all `n` replicas ready and available. */
export function up(revision: string, n = 3): DeploymentObservation {
  return { exists: true, revision, image: image(revision), specReplicas: n, statusReplicas: n, updatedReplicas: n, readyReplicas: n, availableReplicas: n, generationObserved: true };
}

/** `n` replicas asked for, `ready` of them ready. */
export function partly(revision: string, n: number, ready: number): DeploymentObservation {
  return { ...up(revision, n), readyReplicas: ready, availableReplicas: ready };
}

export const none = MISSING_DEPLOYMENT;

export interface ObservationOptions {
  desired?: string;
  blue?: DeploymentObservation;
  green?: DeploymentObservation;
  selector?: Colour;
  autoscaler?: Colour;
  hpa?: number;
  analysis?: MeasurementResult;
}

export function observe(o: ObservationOptions = {}): Observation {
  const desired = o.desired ?? A;
  return {
    desiredRevision: desired,
    desiredImage: image(desired),
    deployments: { blue: o.blue ?? none, green: o.green ?? none },
    ...(o.selector ? { serviceSelectorColor: o.selector } : {}),
    ...(o.autoscaler ? { autoscalerColor: o.autoscaler } : {}),
    ...(o.hpa !== undefined ? { hpaDesiredReplicas: o.hpa } : {}),
    ...(o.analysis ? { analysis: o.analysis } : {}),
  };
}

// ---------------------------------------------------------------- persisted states

function state(step: RolloutStep, more: Partial<RolloutState>): RolloutState {
  return { step, milestones: {}, acknowledged: {}, history: [], ...more };
}

const rolloutOfB = { started: t(0) };

export const S = {
  stable: (active: Release = BLUE_A) => state('Stable', { active, stepStartedAt: t(-1000) }),
  firstDeploying: (more: Partial<RolloutState> = {}) =>
    state('Deploying', { preview: BLUE_A, stepStartedAt: t(0), milestones: { ...rolloutOfB }, ...more }),
  deploying: (more: Partial<RolloutState> = {}) =>
    state('Deploying', { active: BLUE_A, preview: GREEN_B, stepStartedAt: t(0), milestones: { ...rolloutOfB }, ...more }),
  preAnalysis: (progress: Partial<AnalysisProgress> = {}, more: Partial<RolloutState> = {}) =>
    state('PrePromotionAnalysis', {
      active: BLUE_A,
      preview: GREEN_B,
      stepStartedAt: t(100),
      milestones: { ...rolloutOfB, previewAvailable: t(100) },
      analysis: { phase: 'pre', color: 'green', revision: B, successes: 0, failures: 0, measurement: 1, dueAt: t(100), ...progress },
      ...more,
    }),
  paused: (more: Partial<RolloutState> = {}) =>
    state('Paused', {
      active: BLUE_A,
      preview: GREEN_B,
      stepStartedAt: t(120),
      milestones: { ...rolloutOfB, previewAvailable: t(100), prePromotionAnalysisPassed: t(120), paused: t(120) },
      ...more,
    }),
  promoting: (promoteAt: number, more: Partial<RolloutState> = {}) =>
    state('Promoting', {
      active: BLUE_A,
      preview: GREEN_B,
      stepStartedAt: t(120),
      promoteAt: t(promoteAt),
      milestones: { ...rolloutOfB, previewAvailable: t(100), prePromotionAnalysisPassed: t(120) },
      ...more,
    }),
  postAnalysis: (progress: Partial<AnalysisProgress> = {}, more: Partial<RolloutState> = {}) =>
    state('PostPromotionAnalysis', {
      active: GREEN_B,
      previous: BLUE_A,
      stepStartedAt: t(130),
      milestones: { ...rolloutOfB, previewAvailable: t(100), prePromotionAnalysisPassed: t(120), promoted: t(130) },
      analysis: { phase: 'post', color: 'green', revision: B, successes: 0, failures: 0, measurement: 1, dueAt: t(140), ...progress },
      ...more,
    }),
  scalingDown: (more: Partial<RolloutState> = {}) =>
    state('ScalingDown', {
      active: GREEN_B,
      previous: BLUE_A,
      stepStartedAt: t(160),
      scaleDownAt: t(190),
      milestones: { ...rolloutOfB, previewAvailable: t(100), prePromotionAnalysisPassed: t(120), promoted: t(130), postPromotionAnalysisPassed: t(160) },
      ...more,
    }),
  /** Traffic never left blue; green failed its deadline. */
  abortedBeforeFlip: (more: Partial<RolloutState> = {}) =>
    state('Aborted', {
      active: BLUE_A,
      preview: GREEN_B,
      stepStartedAt: t(600),
      scaleDownAt: t(630),
      failedRevision: B,
      failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message: 'green: 1/3 available after 600 s', revision: B, at: t(600) },
      milestones: { ...rolloutOfB, failed: t(600) },
      ...more,
    }),
  /** Green served and failed its post-promotion checks; traffic is going back to blue. */
  rolledBack: (more: Partial<RolloutState> = {}) =>
    state('Aborted', {
      active: BLUE_A,
      preview: GREEN_B,
      stepStartedAt: t(170),
      scaleDownAt: t(200),
      failedRevision: B,
      failure: { step: 'PostPromotionAnalysis', reason: 'PostPromotionAnalysisFailed', message: 'GET /health → 503', revision: B, at: t(170) },
      milestones: { ...rolloutOfB, previewAvailable: t(100), promoted: t(130), failed: t(170) },
      ...more,
    }),
  degraded: (more: Partial<RolloutState> = {}) =>
    state('Degraded', {
      active: BLUE_A,
      stepStartedAt: t(630),
      failedRevision: B,
      failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message: 'green: 1/3 available after 600 s', revision: B, at: t(600) },
      milestones: { ...rolloutOfB, failed: t(600), scaledDown: t(630) },
      ...more,
    }),
};

/** The measurement key the engine uses for the rollout of B that started at t(0). */
export const key = (phase: 'pre' | 'post', n: number, revision = B, started = t(0)): string => `${phase}/${revision}/${started}/${n}`;
export const measured = (phase: 'pre' | 'post', n: number, ok: boolean, message = ok ? 'GET /health → 200' : 'GET /health → 503'): MeasurementResult => ({
  key: key(phase, n),
  ok,
  message,
});

export const commands = (c: RolloutCommands): RolloutCommands => c;

/** An action in a few words, for tables. */
export function brief(a: Action): string {
  switch (a.kind) {
    case 'setColour':
      return `set ${a.colour} ${a.template} ${a.replicas}`;
    case 'flipSelector':
      return `flip ${a.colour}`;
    case 'moveAutoscalers':
      return `autoscalers ${a.colour}`;
    case 'runAnalysis':
      return `measure ${a.phase} ${a.colour} ${a.measurement}/${a.count}`;
  }
}
