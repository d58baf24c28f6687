// The blue/green transition function: (spec, persisted state, commands,
// observation, now) → (next state, actions, events, conditions, phase). Pure:
// no client, no clock; the reconciler gathers the observation, persists the
// state, applies the actions and records the events (README.md beside this file).
//
// Steps, in one paragraph: a new revision goes to the
// idle colour at the live colour's current size → every replica available within
// progressDeadlineSeconds → pre-promotion analysis → promotion gate → flip the
// stable Service and the autoscalers → post-promotion analysis → the old colour
// scales to 0 after scaleDownDelaySeconds. A failure leaves traffic on (or puts
// it back on) the old colour and the failed colour goes to 0 after the delay.
import type { Phase } from '../api/types.js';
import { type RolloutCondition, type RolloutSummary, rolloutConditions, rolloutPhase, rolloutSummary } from './conditions.js';
import { type Observation, type RolloutSpec, previewReplicas } from './observed.js';
import { type Action, type Layout, actionsFor, layoutFor } from './plan.js';
import type { RolloutCommands, RolloutState } from './state.js';
import { STEPS, type StepResult, initialState } from './steps.js';
import { type Pass, type RolloutEvent, applyCommands, iso } from './transitions.js';

export type { RolloutEvent } from './transitions.js';

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

/** Drops undefined members, so a state compares and serialises the same however it was built. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = compact(v);
  return out as T;
}

/**
 * selectorWaitSince belongs to the wait of the post-flip steps: carried out of them (a rollback),
 * it would start the next rollout's wait with its deadline long past.
 */
function leftWaitBehind(state: RolloutState): RolloutState {
  if (state.selectorWaitSince === undefined || state.step === 'PostPromotionAnalysis' || state.step === 'ScalingDown') return state;
  const { selectorWaitSince: _w, ...rest } = state;
  return rest;
}

/** One reconcile pass of the blue/green rollout. */
export function nextRollout(input: RolloutInput): RolloutDecision {
  const { spec, observed, now } = input;
  const pass: Pass = { spec, observed, now, at: iso(now), events: [] };
  let state = input.state ? applyCommands(pass, input.state, input.commands) : initialState(pass, input.commands);
  let result: StepResult | undefined;
  for (let i = 0; i < MAX_TRANSITIONS; i++) {
    result = STEPS[state.step](pass, state);
    state = leftWaitBehind(result.state);
    if (!result.moved) break;
  }
  state = compact(state);
  const settled = result && !result.moved ? result : undefined;
  const detail = settled?.detail ?? 'still moving; looks again shortly';
  const layout = layoutFor(spec, observed, state);
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
