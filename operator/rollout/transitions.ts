// The moves between rollout steps: each takes the state of one step and
// returns the state of the next, with its history entry and Event. Shared by
// the step functions (steps.ts) and the commands (promote, abort, retry).
import type { Colour } from '../api/types.js';
import { analysisFor, startAnalysis } from './analysis.js';
import { commandVerdict } from './commands.js';
import { type Observation, type RolloutSpec, previewReplicas } from './observed.js';
import {
  COMMANDS,
  type FailureReason,
  HISTORY_LIMIT,
  type Milestone,
  type Release,
  type RolloutCommands,
  type RolloutState,
  isPostFlip,
} from './state.js';

export interface RolloutEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** One call of nextRollout: its inputs and the Events it records. */
export interface Pass {
  spec: RolloutSpec;
  observed: Observation;
  now: number;
  at: string;
  events: RolloutEvent[];
}

export const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');
export const iso = (ms: number): string => new Date(ms).toISOString();
export const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
export const deadlineMs = (pass: Pass): number => pass.spec.rollout.progressDeadlineSeconds * 1000;
const scaleDownDelayMs = (pass: Pass): number => pass.spec.rollout.scaleDownDelaySeconds * 1000;
export const describeRelease = (r: Release): string => `${r.color} (revision ${r.revision})`;

/** Appends to the history and, when `type` is given, records an Event. */
export function log(pass: Pass, state: RolloutState, reason: string, message: string, type?: 'Normal' | 'Warning'): RolloutState {
  if (type) pass.events.push({ type, reason, message });
  return { ...state, history: [...state.history, { at: pass.at, step: state.step, reason, message }].slice(-HISTORY_LIMIT) };
}

export const mark = (state: RolloutState, milestone: Milestone, at: string): RolloutState => ({ ...state, milestones: { ...state.milestones, [milestone]: at } });

/** The fields that describe one rollout in flight, cleared when it ends. */
export function withoutRollout(state: RolloutState): RolloutState {
  const { preview: _p, previous: _v, promoteAt: _a, scaleDownAt: _s, promoteApproved: _o, analysis: _n, ...rest } = state;
  return rest;
}

function desiredRelease(pass: Pass, color: Colour): Release {
  return { color, revision: pass.observed.desiredRevision, image: pass.observed.desiredImage };
}

// ---------------------------------------------------------------- entering steps

export function beginFirstDeploy(pass: Pass, state: RolloutState, color: Colour, why: string): RolloutState {
  const { failure: _f, failedRevision: _r, active: _a, ...rest } = withoutRollout(state);
  const preview = desiredRelease(pass, color);
  const next: RolloutState = { ...rest, step: 'Deploying', preview, stepStartedAt: pass.at, milestones: { started: pass.at } };
  const replicas = previewReplicas(pass.spec, pass.observed, undefined);
  return log(pass, next, 'RolloutStarted', `${why}: revision ${preview.revision} (${preview.image}) on ${color} at ${replicas} replicas; it takes traffic once every replica is available`, 'Normal');
}

export function beginRollout(pass: Pass, state: RolloutState, color: Colour, why = ''): RolloutState {
  const active = state.active!;
  const { failure: _f, failedRevision: _r, ...rest } = withoutRollout(state);
  const preview = desiredRelease(pass, color);
  const next: RolloutState = { ...rest, step: 'Deploying', preview, stepStartedAt: pass.at, milestones: { started: pass.at } };
  const replicas = previewReplicas(pass.spec, pass.observed, active.color);
  return log(
    pass,
    next,
    'RolloutStarted',
    `Revision ${preview.revision} (${preview.image}) on ${color} at ${replicas} replicas, next to ${describeRelease(active)}${why}`,
    'Normal',
  );
}

export function enterAnalysisOrGate(pass: Pass, state: RolloutState): RolloutState {
  const check = analysisFor(pass.spec, 'pre');
  if (!check) return enterGate(pass, state);
  const preview = state.preview!;
  const next: RolloutState = { ...state, step: 'PrePromotionAnalysis', stepStartedAt: pass.at, analysis: startAnalysis('pre', preview, check, pass.now) };
  return log(pass, next, 'AnalysisStarted', `Pre-promotion analysis of ${describeRelease(preview)}: ${check.count} measurements every ${check.intervalSeconds} s, ${check.failureLimit} failures tolerated`);
}

export function enterGate(pass: Pass, state: RolloutState): RolloutState {
  const preview = state.preview!;
  const { analysis: _n, ...rest } = state;
  if (!pass.spec.rollout.autoPromotion && !state.promoteApproved) {
    const next = mark({ ...rest, step: 'Paused', stepStartedAt: pass.at }, 'paused', pass.at);
    return log(pass, next, 'Paused', `${describeRelease(preview)} is available and checked; traffic stays on ${state.active!.color} until promote is given`, 'Normal');
  }
  const wait = state.promoteApproved ? 0 : pass.spec.rollout.autoPromotionSeconds * 1000;
  const next: RolloutState = { ...rest, step: 'Promoting', stepStartedAt: pass.at, promoteAt: iso(pass.now + wait) };
  return log(pass, next, 'PromotionGateOpen', `Traffic moves to ${preview.color} ${wait > 0 ? `at ${next.promoteAt}` : 'now'}, once every replica is ready`);
}

export function flip(pass: Pass, state: RolloutState): RolloutState {
  const preview = state.preview!;
  const active = state.active!;
  const { preview: _p, promoteAt: _a, promoteApproved: _o, ...rest } = state;
  const check = analysisFor(pass.spec, 'post');
  let next: RolloutState = mark({ ...rest, step: 'ScalingDown', active: preview, previous: active, stepStartedAt: pass.at }, 'promoted', pass.at);
  if (check) next = { ...next, step: 'PostPromotionAnalysis', analysis: startAnalysis('post', preview, check, pass.now) };
  next = log(pass, next, 'Promoted', `Traffic moved from ${describeRelease(active)} to ${describeRelease(preview)}`, 'Normal');
  return check ? next : enterScalingDown(pass, next);
}

export function enterScalingDown(pass: Pass, state: RolloutState): RolloutState {
  const { analysis: _n, ...rest } = state;
  const next: RolloutState = { ...rest, step: 'ScalingDown', stepStartedAt: pass.at, scaleDownAt: iso(pass.now + scaleDownDelayMs(pass)) };
  return log(pass, next, 'ScaleDownScheduled', `${describeRelease(state.previous!)} stays up for a fast rollback until ${next.scaleDownAt}, then scales to 0`);
}

/** A failure before the flip: traffic never left the active colour. */
export function abortPreFlip(pass: Pass, state: RolloutState, reason: FailureReason, message: string): RolloutState {
  const preview = state.preview!;
  const active = state.active!;
  const { promoteAt: _a, promoteApproved: _o, analysis: _n, ...rest } = state;
  const scaleDownAt = iso(pass.now + scaleDownDelayMs(pass));
  const next: RolloutState = mark(
    {
      ...rest,
      step: 'Aborted',
      stepStartedAt: pass.at,
      scaleDownAt,
      failedRevision: preview.revision,
      failure: { step: state.step, reason, message, revision: preview.revision, at: pass.at },
    },
    'failed',
    pass.at,
  );
  return log(pass, next, 'Aborted', `${reason}: ${message}. Traffic stays on ${describeRelease(active)}; ${preview.color} scales to 0 at ${scaleDownAt}`, 'Warning');
}

/** A failure after the flip: traffic goes back to the previous colour, which is still up. */
export function rollback(pass: Pass, state: RolloutState, reason: FailureReason, message: string): RolloutState {
  const failed = state.active!;
  const back = state.previous!;
  const { previous: _v, analysis: _n, ...rest } = state;
  const scaleDownAt = iso(pass.now + scaleDownDelayMs(pass));
  const next: RolloutState = mark(
    {
      ...rest,
      step: 'Aborted',
      active: back,
      preview: failed,
      stepStartedAt: pass.at,
      scaleDownAt,
      failedRevision: failed.revision,
      failure: { step: state.step, reason, message, revision: failed.revision, at: pass.at },
    },
    'failed',
    pass.at,
  );
  return log(pass, next, 'RolledBack', `${reason}: ${message}. Traffic goes back to ${describeRelease(back)}; ${failed.color} scales to 0 at ${scaleDownAt}`, 'Warning');
}

// ---------------------------------------------------------------- commands

/** Acts on each command not acknowledged yet (abort first), then acknowledges them all. */
export function applyCommands(pass: Pass, state: RolloutState, commands: RolloutCommands): RolloutState {
  let next = state;
  for (const command of COMMANDS) {
    const given = commands[command];
    if (given === undefined || state.acknowledged[command] === given) continue;
    const verdict = commandVerdict(command, next, pass.spec);
    if (!verdict.accepted) {
      next = log(pass, next, 'CommandIgnored', `${command}: ${verdict.message}`, 'Normal');
      continue;
    }
    switch (command) {
      case 'abort':
        next = isPostFlip(next.step) ? rollback(pass, next, 'AbortedByUser', 'abort was given') : abortPreFlip(pass, next, 'AbortedByUser', 'abort was given');
        break;
      case 'retry': {
        const { failedRevision: _r, ...rest } = next;
        // A first deploy past its deadline gets a new deadline; a failed rollout starts over when its step sees no failedRevision.
        next = next.active ? rest : { ...rest, failure: undefined, stepStartedAt: pass.at };
        next = log(pass, next, 'Retried', verdict.message, 'Normal');
        break;
      }
      case 'promote':
        next = log(pass, { ...next, promoteApproved: true }, 'PromotionApproved', verdict.message, 'Normal');
        break;
    }
  }
  return { ...next, acknowledged: { ...commands } };
}
