// The blue/green transition function: (spec, persisted state, commands,
// observation, now) → (next state, actions, events, conditions, phase). Pure:
// no client, no clock; the reconciler gathers the observation, persists the
// state, applies the actions and records the events (README.md beside this file).
//
// Steps (DESIGN.md "Blue/green, in one paragraph"): a new revision goes to the
// idle colour at the live colour's current size → every replica available within
// progressDeadlineSeconds → pre-promotion analysis → promotion gate → flip the
// stable Service and the autoscalers → post-promotion analysis → the old colour
// scales to 0 after scaleDownDelaySeconds. A failure leaves traffic on (or puts
// it back on) the old colour and the failed colour goes to 0 after the delay.
import { COLOURS, type Colour, type Phase } from '../api/types.js';
import { advanceAnalysis, analysisFor, startAnalysis } from './analysis.js';
import { commandVerdict } from './commands.js';
import { type RolloutCondition, type RolloutSummary, rolloutConditions, rolloutPhase, rolloutSummary } from './conditions.js';
import { type Observation, type RolloutSpec, availabilityText, fullyAvailable, previewReplicas } from './observed.js';
import { type Action, type ColourPlan, type Layout, type RunAnalysisAction, actionsFor } from './plan.js';
import {
  COMMANDS,
  type AnalysisPhase,
  type FailureReason,
  HISTORY_LIMIT,
  type Milestone,
  type Release,
  type RolloutCommands,
  type RolloutState,
  type RolloutStep,
  isPostFlip,
  isPreFlip,
} from './state.js';

export interface RolloutInput {
  spec: RolloutSpec;
  /** From readRolloutStatus(status.rollout); undefined for a new AuthService. */
  state: RolloutState | undefined;
  /** From readRolloutStatus(status.rollout). */
  commands: RolloutCommands;
  observed: Observation;
  /** Milliseconds since the epoch. */
  now: number;
}

export interface RolloutEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RolloutDecision {
  /** Persist as status.rollout (writeRolloutStatus) before applying the actions. */
  state: RolloutState;
  /** Where every engine-owned knob should be after this pass. */
  layout: Layout;
  /** What differs between layout and the observation, plus a due measurement; in order. */
  actions: Action[];
  /** Record after the state is persisted; each happens once per transition. */
  events: RolloutEvent[];
  conditions: RolloutCondition[];
  /** The rollout's view of status.phase. */
  phase: Phase;
  /** Top-level status fields (activeColor, activeRevision, activeImage, previewColor, previewRevision). */
  summary: RolloutSummary;
  /** Pass again after this long even if nothing changes (a deadline, a delay, a due measurement). */
  requeueAfterMs?: number;
  /** What the current step does or waits for; also the Progressing condition's message. */
  detail: string;
}

/** Transitions taken in one pass at most; each step moves forward, so a handful suffice. */
const MAX_TRANSITIONS = 12;

interface Pass {
  spec: RolloutSpec;
  observed: Observation;
  now: number;
  at: string;
  events: RolloutEvent[];
}

type StepResult =
  | { moved: true; state: RolloutState }
  | { moved: false; state: RolloutState; detail: string; wakeAt?: number; run?: RunAnalysisAction };

const moved = (state: RolloutState): StepResult => ({ moved: true, state });
const hold = (state: RolloutState, detail: string, wakeAt?: number, run?: RunAnalysisAction): StepResult => ({ moved: false, state, detail, wakeAt, run });

const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');
const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number): string => `${Math.round(ms / 1000)} s`;
const deadlineMs = (pass: Pass): number => pass.spec.rollout.progressDeadlineSeconds * 1000;
const scaleDownDelayMs = (pass: Pass): number => pass.spec.rollout.scaleDownDelaySeconds * 1000;
const describeRelease = (r: Release): string => `${r.color} (revision ${r.revision})`;

/** Appends to the history and, when `type` is given, records an Event. */
function log(pass: Pass, state: RolloutState, reason: string, message: string, type?: 'Normal' | 'Warning'): RolloutState {
  if (type) pass.events.push({ type, reason, message });
  return { ...state, history: [...state.history, { at: pass.at, step: state.step, reason, message }].slice(-HISTORY_LIMIT) };
}

const mark = (state: RolloutState, milestone: Milestone, at: string): RolloutState => ({ ...state, milestones: { ...state.milestones, [milestone]: at } });

/** The fields that describe one rollout in flight, cleared when it ends. */
function withoutRollout(state: RolloutState): RolloutState {
  const { preview: _p, previous: _v, promoteAt: _a, scaleDownAt: _s, promoteApproved: _o, analysis: _n, ...rest } = state;
  return rest;
}

function desiredRelease(pass: Pass, color: Colour): Release {
  return { color, revision: pass.observed.desiredRevision, image: pass.observed.desiredImage };
}

// ---------------------------------------------------------------- entering steps

function beginFirstDeploy(pass: Pass, state: RolloutState, color: Colour, why: string): RolloutState {
  const { failure: _f, failedRevision: _r, active: _a, ...rest } = withoutRollout(state);
  const preview = desiredRelease(pass, color);
  const next: RolloutState = { ...rest, step: 'Deploying', preview, stepStartedAt: pass.at, milestones: { started: pass.at } };
  const replicas = previewReplicas(pass.spec, pass.observed, undefined);
  return log(pass, next, 'RolloutStarted', `${why}: revision ${preview.revision} (${preview.image}) on ${color} at ${replicas} replicas; it takes traffic once every replica is available`, 'Normal');
}

function beginRollout(pass: Pass, state: RolloutState, color: Colour, why = ''): RolloutState {
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

function enterAnalysisOrGate(pass: Pass, state: RolloutState): RolloutState {
  const check = analysisFor(pass.spec, 'pre');
  if (!check) return enterGate(pass, state);
  const preview = state.preview!;
  const next: RolloutState = { ...state, step: 'PrePromotionAnalysis', stepStartedAt: pass.at, analysis: startAnalysis('pre', preview, check, pass.now) };
  return log(pass, next, 'AnalysisStarted', `Pre-promotion analysis of ${describeRelease(preview)}: ${check.count} measurements every ${check.intervalSeconds} s, ${check.failureLimit} failures tolerated`);
}

function enterGate(pass: Pass, state: RolloutState): RolloutState {
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

function flip(pass: Pass, state: RolloutState): RolloutState {
  const preview = state.preview!;
  const active = state.active!;
  const { preview: _p, promoteAt: _a, promoteApproved: _o, ...rest } = state;
  const check = analysisFor(pass.spec, 'post');
  let next: RolloutState = mark({ ...rest, step: 'ScalingDown', active: preview, previous: active, stepStartedAt: pass.at }, 'promoted', pass.at);
  if (check) next = { ...next, step: 'PostPromotionAnalysis', analysis: startAnalysis('post', preview, check, pass.now) };
  next = log(pass, next, 'Promoted', `Traffic moved from ${describeRelease(active)} to ${describeRelease(preview)}`, 'Normal');
  return check ? next : enterScalingDown(pass, next);
}

function enterScalingDown(pass: Pass, state: RolloutState): RolloutState {
  const { analysis: _n, ...rest } = state;
  const next: RolloutState = { ...rest, step: 'ScalingDown', stepStartedAt: pass.at, scaleDownAt: iso(pass.now + scaleDownDelayMs(pass)) };
  return log(pass, next, 'ScaleDownScheduled', `${describeRelease(state.previous!)} stays up for a fast rollback until ${next.scaleDownAt}, then scales to 0`);
}

/** A failure before the flip: traffic never left the active colour. */
function abortPreFlip(pass: Pass, state: RolloutState, reason: FailureReason, message: string): RolloutState {
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
function rollback(pass: Pass, state: RolloutState, reason: FailureReason, message: string): RolloutState {
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

function applyCommands(pass: Pass, state: RolloutState, commands: RolloutCommands): RolloutState {
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

// ---------------------------------------------------------------- steps

/** Pre-flip: a newer spec replaces the revision in flight on the same colour; the live colour is not touched. */
function supersede(pass: Pass, state: RolloutState): RolloutState | undefined {
  const preview = state.preview!;
  const desired = pass.observed.desiredRevision;
  if (desired === preview.revision) return undefined;
  if (!state.active) return beginFirstDeploy(pass, state, preview.color, `Replaces revision ${preview.revision}`);
  if (desired === state.active.revision) {
    const next: RolloutState = { ...withoutRollout(state), step: 'Stable', stepStartedAt: pass.at };
    return log(pass, next, 'Superseded', `The spec is back at revision ${desired}, which serves on ${state.active.color}; the rollout of ${preview.revision} stops and ${preview.color} scales to 0`, 'Normal');
  }
  return beginRollout(pass, state, preview.color, `; replaces revision ${preview.revision}, which was at ${state.step}`);
}

function stepStable(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  if (!pass.observed.deployments[active.color].exists) {
    return moved(beginFirstDeploy(pass, state, active.color, `Deployment of the active colour ${active.color} is missing`));
  }
  if (pass.observed.desiredRevision !== active.revision) return moved(beginRollout(pass, state, other(active.color)));
  return hold(state, `revision ${active.revision} serves on ${active.color}`);
}

function stepDeploying(pass: Pass, state: RolloutState): StepResult {
  const replaced = supersede(pass, state);
  if (replaced) return moved(replaced);
  const preview = state.preview!;
  const d = pass.observed.deployments[preview.color];
  const count = previewReplicas(pass.spec, pass.observed, state.active?.color);
  const started = Date.parse(state.stepStartedAt ?? pass.at);
  if (fullyAvailable(d, preview.revision, count)) {
    const took = seconds(pass.now - started);
    if (!state.active) {
      const { preview: _p, failure: _f, ...rest } = state;
      const next = mark(mark({ ...rest, step: 'Stable', active: preview, stepStartedAt: pass.at }, 'previewAvailable', pass.at), 'promoted', pass.at);
      return moved(log(pass, next, 'Promoted', `First revision ${preview.revision} serves on ${preview.color}: ${count} replicas available after ${took}`, 'Normal'));
    }
    const next = log(pass, mark(state, 'previewAvailable', pass.at), 'PreviewAvailable', `${preview.color}: all ${count} replicas of revision ${preview.revision} available after ${took}`, 'Normal');
    return moved(enterAnalysisOrGate(pass, next));
  }
  const deadline = started + deadlineMs(pass);
  const progress = `${preview.color}: ${availabilityText(d, preview.revision, count)}`;
  if (pass.now >= deadline) {
    const message = `${progress} after ${pass.spec.rollout.progressDeadlineSeconds} s (progressDeadlineSeconds)`;
    if (state.active) return moved(abortPreFlip(pass, state, 'ProgressDeadlineExceeded', message));
    // The first revision has nothing to fall back on: say so and keep waiting.
    const waiting = 'no earlier revision to fall back on, still waiting (retry restarts the deadline)';
    if (state.failure) return hold(state, `${progress}; ${waiting}`);
    const failed = mark({ ...state, failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message, revision: preview.revision, at: pass.at } }, 'failed', pass.at);
    return hold(log(pass, failed, 'ProgressDeadlineExceeded', `${message}; ${waiting}`, 'Warning'), `${progress}; ${waiting}`);
  }
  return hold(state, `${progress} (revision ${preview.revision}); deadline ${iso(deadline)}`, deadline);
}

function stepAnalysis(pass: Pass, state: RolloutState, phase: AnalysisPhase): StepResult {
  const check = analysisFor(pass.spec, phase);
  const release = phase === 'pre' ? state.preview! : state.active!;
  // The checks were removed from the spec meanwhile: nothing left to wait for.
  const progress = state.analysis ?? (check ? startAnalysis(phase, release, check, pass.now) : undefined);
  if (!check || !progress) return moved(phase === 'pre' ? enterGate(pass, state) : enterScalingDown(pass, state));
  const outcome = advanceAnalysis(progress, check, pass.observed.analysis, state.milestones.started ?? '', pass.now);
  const next: RolloutState = { ...state, analysis: outcome.progress };
  switch (outcome.verdict) {
    case 'passed': {
      const passed = log(pass, mark(next, phase === 'pre' ? 'prePromotionAnalysisPassed' : 'postPromotionAnalysisPassed', pass.at), 'AnalysisPassed', outcome.summary, 'Normal');
      return moved(phase === 'pre' ? enterGate(pass, passed) : enterScalingDown(pass, passed));
    }
    case 'failed': {
      const failed = log(pass, next, 'AnalysisFailed', outcome.summary, 'Warning');
      return moved(
        phase === 'pre'
          ? abortPreFlip(pass, failed, 'PrePromotionAnalysisFailed', outcome.summary)
          : rollback(pass, failed, 'PostPromotionAnalysisFailed', outcome.summary),
      );
    }
    case 'waiting': {
      const deferred = phase === 'post' && pass.observed.desiredRevision !== release.revision ? `; revision ${pass.observed.desiredRevision} starts after these checks` : '';
      return hold(next, outcome.detail + deferred, outcome.wakeAt, outcome.run);
    }
  }
}

function stepPrePromotionAnalysis(pass: Pass, state: RolloutState): StepResult {
  const replaced = supersede(pass, state);
  return replaced ? moved(replaced) : stepAnalysis(pass, state, 'pre');
}

function stepPaused(pass: Pass, state: RolloutState): StepResult {
  const replaced = supersede(pass, state);
  if (replaced) return moved(replaced);
  const preview = state.preview!;
  if (state.promoteApproved) {
    const next: RolloutState = { ...state, step: 'Promoting', stepStartedAt: pass.at, promoteAt: pass.at };
    return moved(log(pass, next, 'PromotionGateOpen', `Traffic moves to ${preview.color} once every replica is ready`));
  }
  if (pass.spec.rollout.autoPromotion) {
    // autoPromotion was switched on while paused: the pause counts as the wait.
    const pausedAt = Date.parse(state.stepStartedAt ?? pass.at);
    const promoteAt = iso(Math.max(pass.now, pausedAt + pass.spec.rollout.autoPromotionSeconds * 1000));
    const next: RolloutState = { ...state, step: 'Promoting', stepStartedAt: pass.at, promoteAt };
    return moved(log(pass, next, 'PromotionGateOpen', `autoPromotion is on: traffic moves to ${preview.color} at ${promoteAt}, once every replica is ready`));
  }
  return hold(state, `${describeRelease(preview)} is available and checked; waiting for promote (traffic stays on ${state.active!.color})`);
}

function stepPromoting(pass: Pass, state: RolloutState): StepResult {
  const replaced = supersede(pass, state);
  if (replaced) return moved(replaced);
  const preview = state.preview!;
  const promoteAt = Date.parse(state.promoteAt ?? state.stepStartedAt ?? pass.at);
  if (!state.promoteApproved && pass.now < promoteAt) {
    return hold(state, `traffic moves to ${preview.color} at ${iso(promoteAt)} (autoPromotionSeconds)`, promoteAt);
  }
  const count = previewReplicas(pass.spec, pass.observed, state.active!.color);
  const d = pass.observed.deployments[preview.color];
  if (fullyAvailable(d, preview.revision, count)) return moved(flip(pass, state));
  const deadline = Math.max(promoteAt, Date.parse(state.stepStartedAt ?? pass.at)) + deadlineMs(pass);
  const progress = `${preview.color}: ${availabilityText(d, preview.revision, count)}`;
  if (pass.now >= deadline) {
    return moved(abortPreFlip(pass, state, 'PromotionDeadlineExceeded', `${progress}; not every replica was ready to take traffic within ${pass.spec.rollout.progressDeadlineSeconds} s`));
  }
  return hold(state, `waiting until every replica of ${preview.color} is ready before moving traffic (${progress}); deadline ${iso(deadline)}`, deadline);
}

function stepPostPromotionAnalysis(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  if (pass.observed.serviceSelectorColor !== active.color) {
    // Decided, not yet applied (or undone by someone): checks start once traffic is there.
    const deadline = Date.parse(state.milestones.promoted ?? state.stepStartedAt ?? pass.at) + deadlineMs(pass);
    if (pass.now >= deadline) {
      return moved(rollback(pass, state, 'PromotionDeadlineExceeded', `the stable Service did not select ${active.color} within ${pass.spec.rollout.progressDeadlineSeconds} s`));
    }
    // Look again when the first measurement would be due: by then the flip has usually landed.
    const firstDue = state.analysis ? Date.parse(state.analysis.dueAt) : pass.now;
    const wakeAt = Math.min(deadline, Math.max(firstDue, pass.now + 1000));
    return hold(state, `waiting for the stable Service to select ${active.color} (${availabilityText(pass.observed.deployments[active.color], active.revision)})`, wakeAt);
  }
  return stepAnalysis(pass, state, 'post');
}

function stepScalingDown(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  const previous = state.previous!;
  if (pass.observed.desiredRevision !== active.revision) {
    // The old colour is idle already: it takes the newer revision instead of going to 0.
    const { previous: _v, ...rest } = state;
    return moved(beginRollout(pass, rest, previous.color, `; ${previous.color} was waiting to scale down`));
  }
  const scaleDownAt = Date.parse(state.scaleDownAt ?? pass.at);
  if (pass.now < scaleDownAt) return hold(state, `${describeRelease(previous)} scales to 0 at ${iso(scaleDownAt)}`, scaleDownAt);
  const { previous: _v, scaleDownAt: _s, ...rest } = state;
  const next = mark({ ...rest, step: 'Stable', stepStartedAt: pass.at }, 'scaledDown', pass.at);
  return moved(log(pass, next, 'ScaledDown', `${describeRelease(previous)} scaled to 0; its Deployment stays for a fast rollback`, 'Normal'));
}

function stepAborted(pass: Pass, state: RolloutState): StepResult {
  const back = state.active!;
  const failed = state.preview!;
  const desired = pass.observed.desiredRevision;
  if (pass.observed.serviceSelectorColor !== back.color) {
    const d = pass.observed.deployments[back.color];
    return hold(state, `traffic goes back to ${back.color} once all its replicas are ready (${availabilityText(d, back.revision)}); ${failed.color} stays up until then`);
  }
  if (desired !== back.revision && desired !== state.failedRevision) {
    // A newer spec (or retry): the failed colour is idle and takes it at once.
    const { preview: _p, ...rest } = state;
    return moved(beginRollout(pass, rest, failed.color, desired === failed.revision ? '; retried' : ''));
  }
  const scaleDownAt = Date.parse(state.scaleDownAt ?? pass.at);
  if (pass.now < scaleDownAt) return hold(state, `traffic is on ${back.color}; ${describeRelease(failed)} scales to 0 at ${iso(scaleDownAt)}`, scaleDownAt);
  const { preview: _p, scaleDownAt: _s, ...rest } = state;
  let next = mark({ ...rest, step: 'Degraded' as RolloutStep, stepStartedAt: pass.at }, 'scaledDown', pass.at);
  next = log(pass, next, 'ScaledDown', `${describeRelease(failed)} scaled to 0; ${back.color} serves`, 'Normal');
  return moved(next);
}

function stepDegraded(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  const desired = pass.observed.desiredRevision;
  if (!pass.observed.deployments[active.color].exists) {
    return moved(beginFirstDeploy(pass, state, active.color, `Deployment of the active colour ${active.color} is missing`));
  }
  if (desired === active.revision) {
    const { failure: _f, failedRevision: _r, ...rest } = state;
    const next: RolloutState = { ...rest, step: 'Stable', stepStartedAt: pass.at };
    return moved(log(pass, next, 'Recovered', `The spec is back at revision ${desired}, which serves on ${active.color}`, 'Normal'));
  }
  if (desired !== state.failedRevision) return moved(beginRollout(pass, state, other(active.color)));
  const f = state.failure;
  return hold(state, `revision ${desired} failed${f ? ` at ${f.step} (${f.reason}: ${f.message})` : ''}; ${describeRelease(active)} serves. Change the spec or give retry`);
}

const STEPS: Record<RolloutStep, (pass: Pass, state: RolloutState) => StepResult> = {
  Stable: stepStable,
  Deploying: stepDeploying,
  PrePromotionAnalysis: stepPrePromotionAnalysis,
  Paused: stepPaused,
  Promoting: stepPromoting,
  PostPromotionAnalysis: stepPostPromotionAnalysis,
  ScalingDown: stepScalingDown,
  Aborted: stepAborted,
  Degraded: stepDegraded,
};

// ---------------------------------------------------------------- start and layout

/**
 * No status.rollout (a new AuthService, or status lost): adopt the colour the
 * stable Service selects if its Deployment exists, else deploy blue.
 */
function initialState(pass: Pass, commands: RolloutCommands): RolloutState {
  // Commands found before there is any state are stale: acknowledge them unread.
  const empty: RolloutState = { step: 'Stable', milestones: {}, acknowledged: { ...commands }, history: [] };
  const { observed } = pass;
  const selected = observed.serviceSelectorColor;
  const running = COLOURS.filter((c) => observed.deployments[c].exists && observed.deployments[c].specReplicas > 0);
  const adopt = selected !== undefined && observed.deployments[selected].exists ? selected : running.length === 1 ? running[0] : undefined;
  const d = adopt !== undefined ? observed.deployments[adopt] : undefined;
  if (adopt === undefined || d?.revision === undefined) return beginFirstDeploy(pass, empty, 'blue', 'First deploy');
  const active: Release = { color: adopt, revision: d.revision, image: d.image ?? '' };
  return log(pass, { ...empty, active, stepStartedAt: pass.at }, 'Adopted', `status.rollout was empty; ${describeRelease(active)} is running and taken as the active colour`, 'Normal');
}

function layoutOf(pass: Pass, state: RolloutState): Layout {
  const { spec, observed } = pass;
  const colours: Partial<Record<Colour, ColourPlan>> = {};
  const { active, preview, previous, step } = state;
  const resting = step === 'Stable' || step === 'Degraded';
  if (active) {
    colours[active.color] = {
      // The live colour keeps its pod template unless it is the desired one already: never a rolling update under traffic.
      template: observed.desiredRevision === active.revision ? 'desired' : 'keep',
      // Never resized by a rollout; at rest the HPA owns the count, or spec.replicas does.
      replicas: resting && !spec.autoscaling.enabled ? spec.replicas : 'keep',
    };
  }
  if (preview && isPreFlip(step)) colours[preview.color] = { template: 'desired', replicas: previewReplicas(spec, observed, active?.color) };
  if (preview && step === 'Aborted') colours[preview.color] = { template: 'keep', replicas: 'keep' };
  if (previous) colours[previous.color] = { template: 'keep', replicas: 'keep' };
  // Any other colour is idle: finish every scale-down, including one a crash interrupted.
  for (const c of COLOURS) if (!colours[c] && observed.deployments[c].exists) colours[c] = { template: 'keep', replicas: 0 };

  let selector: Colour | undefined = observed.serviceSelectorColor;
  if (active && selector !== active.color) {
    const plan = colours[active.color];
    const want = plan && plan.replicas !== 'keep' ? plan.replicas : undefined;
    // Traffic only ever moves to a colour whose every replica is ready; until then it stays where it is.
    if (fullyAvailable(observed.deployments[active.color], active.revision, want)) selector = active.color;
  }
  const autoscaling = spec.autoscaling.enabled || spec.verticalAutoscaling.enabled;
  return { ...(selector !== undefined ? { selector } : {}), ...(autoscaling && selector !== undefined ? { autoscalers: selector } : {}), colours };
}

/** Drops undefined members, so a state compares and serialises the same however it was built. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = compact(v);
  return out as T;
}

/** One reconcile pass of the blue/green rollout. */
export function nextRollout(input: RolloutInput): RolloutDecision {
  const { spec, observed, now } = input;
  const pass: Pass = { spec, observed, now, at: iso(now), events: [] };
  let state = input.state ? applyCommands(pass, input.state, input.commands) : initialState(pass, input.commands);
  let result: StepResult | undefined;
  for (let i = 0; i < MAX_TRANSITIONS; i++) {
    result = STEPS[state.step](pass, state);
    state = result.state;
    if (!result.moved) break;
  }
  state = compact(state);
  const settled = result && !result.moved ? result : undefined;
  const detail = settled?.detail ?? 'still moving; looks again shortly';
  const layout = layoutOf(pass, state);
  const actions = actionsFor(layout, observed, previewReplicas(spec, observed, state.active?.color));
  if (settled?.run) actions.push(settled.run);
  const wakeAt = settled ? settled.wakeAt : now + 1000;
  return {
    state,
    layout,
    actions,
    events: pass.events,
    conditions: rolloutConditions(state, detail),
    phase: rolloutPhase(state),
    summary: rolloutSummary(state),
    ...(wakeAt !== undefined ? { requeueAfterMs: Math.max(1000, wakeAt - now) } : {}),
    detail,
  };
}
