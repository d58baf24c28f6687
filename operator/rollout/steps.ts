// One function per rollout step: given the state and what was observed, move
// on (a transition from transitions.ts) or hold and say what the step waits for.
import { COLOURS } from '../api/types.js';
import { advanceAnalysis, analysisFor, startAnalysis } from './analysis.js';
import { availabilityText, fullyAvailable, previewReplicas } from './observed.js';
import type { RunAnalysisAction } from './plan.js';
import type { AnalysisPhase, Release, RolloutCommands, RolloutState, RolloutStep } from './state.js';
import {
  type Pass,
  abortPreFlip,
  beginFirstDeploy,
  beginRollout,
  deadlineMs,
  describeRelease,
  enterAnalysisOrGate,
  enterGate,
  enterScalingDown,
  flip,
  iso,
  log,
  mark,
  other,
  rollback,
  seconds,
  withoutRollout,
} from './transitions.js';

/** A step either moves to another (the pass goes on) or holds, saying what it waits for. */
export type StepResult =
  | { moved: true; state: RolloutState }
  | { moved: false; state: RolloutState; detail: string; wakeAt?: number; run?: RunAnalysisAction };

const moved = (state: RolloutState): StepResult => ({ moved: true, state });
const hold = (state: RolloutState, detail: string, wakeAt?: number, run?: RunAnalysisAction): StepResult => ({ moved: false, state, detail, wakeAt, run });

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

/**
 * Post-flip, the stable Service not on the active colour yet (the decision persisted, its write
 * refused or not yet made) or no longer (a hand edit): the state that remembers since when, and
 * the deadline for the Service to get there. The first pass to find it so starts the clock and
 * tries the flip (layoutFor), however long after the decision it runs.
 */
function waitingForSelector(pass: Pass, state: RolloutState): { waiting: RolloutState; deadline: number } {
  // The pass that decides the flip comes here too, before its Service write: the clock starts in
  // the pass after it, or one started now would be persisted with the decision and run through an
  // operator outage that follows.
  if (state.milestones.promoted === pass.at) return { waiting: state, deadline: pass.now + deadlineMs(pass) };
  const waiting = state.selectorWaitSince ? state : { ...state, selectorWaitSince: pass.at };
  return { waiting, deadline: Date.parse(waiting.selectorWaitSince!) + deadlineMs(pass) };
}

/** The state once the Service selects the active colour: a later wait starts a clock of its own. */
function selectorSettled(state: RolloutState): RolloutState {
  const { selectorWaitSince: _w, ...rest } = state;
  return rest;
}

function stepPostPromotionAnalysis(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  if (pass.observed.serviceSelectorColor !== active.color) {
    // Decided, not yet applied (or undone by someone): checks start once traffic is there.
    const { waiting, deadline } = waitingForSelector(pass, state);
    if (pass.now >= deadline) {
      return moved(rollback(pass, waiting, 'PromotionDeadlineExceeded', `the stable Service did not select ${active.color} within ${pass.spec.rollout.progressDeadlineSeconds} s`));
    }
    // Look again when the first measurement would be due: by then the flip has usually landed.
    const firstDue = state.analysis ? Date.parse(state.analysis.dueAt) : pass.now;
    const wakeAt = Math.min(deadline, Math.max(firstDue, pass.now + 1000));
    return hold(waiting, `waiting for the stable Service to select ${active.color} (${availabilityText(pass.observed.deployments[active.color], active.revision)})`, wakeAt);
  }
  return stepAnalysis(pass, selectorSettled(state), 'post');
}

function stepScalingDown(pass: Pass, state: RolloutState): StepResult {
  const active = state.active!;
  const previous = state.previous!;
  if (pass.observed.serviceSelectorColor !== active.color) {
    // Decided, not yet applied (a refused Service write, or a stop in between), or undone by hand
    // while the new colour is not fully available: the old colour still takes the traffic. Scaled
    // to 0, or given a newer revision, it would take the service down with it.
    const { waiting, deadline } = waitingForSelector(pass, state);
    if (pass.now >= deadline) {
      return moved(rollback(pass, waiting, 'PromotionDeadlineExceeded', `the stable Service did not select ${active.color} within ${pass.spec.rollout.progressDeadlineSeconds} s`));
    }
    const availability = availabilityText(pass.observed.deployments[active.color], active.revision);
    // The Service's own watch event brings the next pass; these are the times to look regardless.
    const scaleDownAt = Date.parse(state.scaleDownAt ?? pass.at);
    const wakeAt = scaleDownAt > pass.now ? Math.min(scaleDownAt, deadline) : deadline;
    return hold(waiting, `waiting for the stable Service to select ${active.color} (${availability}); ${previous.color} keeps serving until then`, wakeAt);
  }
  const settled = selectorSettled(state);
  if (pass.observed.desiredRevision !== active.revision) {
    // The old colour is idle already: it takes the newer revision instead of going to 0.
    const { previous: _v, ...rest } = settled;
    return moved(beginRollout(pass, rest, previous.color, `; ${previous.color} was waiting to scale down`));
  }
  const scaleDownAt = Date.parse(settled.scaleDownAt ?? pass.at);
  if (pass.now < scaleDownAt) return hold(settled, `${describeRelease(previous)} scales to 0 at ${iso(scaleDownAt)}`, scaleDownAt);
  const { previous: _v, scaleDownAt: _s, ...rest } = settled;
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

/** What each step does with one observation. */
export const STEPS: Record<RolloutStep, (pass: Pass, state: RolloutState) => StepResult> = {
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

// ---------------------------------------------------------------- start

/**
 * No status.rollout (a new AuthService, or status lost): adopt the colour the
 * stable Service selects if its Deployment exists, else deploy blue.
 */
export function initialState(pass: Pass, commands: RolloutCommands): RolloutState {
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
