// What the engine wants the cluster to look like after a pass (the layout), and
// the actions that get it there from what was observed.
import { type Analysis, COLOURS, type Colour } from '../api/types.js';
import { type Observation, type RolloutSpec, fullyAvailable, previewReplicas } from './observed.js';
import { type AnalysisPhase, type RolloutState, isPreFlip } from './state.js';

/** How one colour's Deployment should be. */
export interface ColourPlan {
  /**
   * desired: the pod template rendered from the current spec (desiredDeployment).
   * keep: leave the pod template as it is; the colour runs an older revision
   * that the current spec can no longer render. Only its replica count may change.
   */
  template: 'desired' | 'keep';
  /**
   * A number: set spec.replicas to it. keep: do not change the count (the HPA
   * owns it, or it is the live colour mid-rollout); when an apply must carry
   * spec.replicas, carry the observed value — leaving it out of a server-side
   * apply that set it before resets it to 1.
   */
  replicas: number | 'keep';
}

/** The engine-owned knobs after this pass. Absent: leave as it is (and create nothing). */
export interface Layout {
  /** The colour the stable Service `<name>` selects. */
  selector?: Colour;
  /** The colour the HPA and VPA target; absent when neither is enabled or nothing serves yet. */
  autoscalers?: Colour;
  colours: Partial<Record<Colour, ColourPlan>>;
}

/** Bring a colour's Deployment to a plan; replicas is never 'keep' for a Deployment that does not exist. */
export interface SetColourAction {
  kind: 'setColour';
  colour: Colour;
  template: 'desired' | 'keep';
  replicas: number | 'keep';
  why: string;
}

/** Point the stable Service `<name>` at a colour whose replicas are all ready. */
export interface FlipSelectorAction {
  kind: 'flipSelector';
  colour: Colour;
  why: string;
}

/** Point the HPA's and the VPA's scaleTargetRef (targetRef) at `<name>-<colour>`. */
export interface MoveAutoscalersAction {
  kind: 'moveAutoscalers';
  colour: Colour;
  why: string;
}

/**
 * Take one measurement against `<name>-<colour>` (the colour's own Service)
 * within check.timeoutSeconds, and hand the result back as observed.analysis
 * with this key. Repeated with the same key until its result arrives: run one
 * key at most once at a time, and once more after an operator restart.
 */
export interface RunAnalysisAction {
  kind: 'runAnalysis';
  key: string;
  phase: AnalysisPhase;
  colour: Colour;
  revision: string;
  /** 1-based, of `count`. */
  measurement: number;
  count: number;
  check: Analysis;
}

/** In the order to apply them; stop at the first error and requeue. */
export type Action = SetColourAction | FlipSelectorAction | MoveAutoscalersAction | RunAnalysisAction;

/**
 * The actions that bring the observed world to `layout`: nothing when it is
 * there already, so an idle resync writes nothing. `fallbackReplicas` is the
 * count for a colour that must be created while its plan says keep.
 */
export function actionsFor(layout: Layout, observed: Observation, fallbackReplicas: number): Action[] {
  const scaleUps: Action[] = [];
  const scaleDowns: Action[] = [];
  for (const colour of COLOURS) {
    const plan = layout.colours[colour];
    if (!plan) continue;
    const d = observed.deployments[colour];
    if (!d.exists) {
      if (plan.template === 'keep') continue; // nothing to scale, nothing the spec can render
      const replicas = plan.replicas === 'keep' ? fallbackReplicas : plan.replicas;
      if (replicas === 0) continue;
      scaleUps.push({ kind: 'setColour', colour, template: 'desired', replicas, why: `create ${colour} with revision ${observed.desiredRevision} at ${replicas} replicas` });
      continue;
    }
    const templateChange = plan.template === 'desired' && d.revision !== observed.desiredRevision;
    const replicaChange = plan.replicas !== 'keep' && plan.replicas !== d.specReplicas;
    if (!templateChange && !replicaChange) continue;
    const parts = [
      ...(templateChange ? [`revision ${d.revision ?? 'unknown'} → ${observed.desiredRevision}`] : []),
      ...(replicaChange ? [`replicas ${d.specReplicas} → ${String(plan.replicas)}`] : []),
    ];
    const action: SetColourAction = { kind: 'setColour', colour, template: plan.template, replicas: plan.replicas, why: `${colour}: ${parts.join(', ')}` };
    (plan.replicas !== 'keep' && plan.replicas < d.specReplicas ? scaleDowns : scaleUps).push(action);
  }
  const moves: Action[] = [];
  if (layout.selector !== undefined && observed.serviceSelectorColor !== layout.selector) {
    moves.push({ kind: 'flipSelector', colour: layout.selector, why: `the stable Service selects ${observed.serviceSelectorColor ?? 'nothing'}; it should select ${layout.selector}` });
  }
  if (layout.autoscalers !== undefined && observed.autoscalerColor !== layout.autoscalers) {
    moves.push({ kind: 'moveAutoscalers', colour: layout.autoscalers, why: `the autoscalers target ${observed.autoscalerColor ?? 'nothing'}; they should follow traffic to ${layout.autoscalers}` });
  }
  // Capacity first, then traffic, then removal of capacity.
  return [...scaleUps, ...moves, ...scaleDowns];
}

/**
 * After a rollback, the count the colour that traffic goes back to must reach first, when it has
 * fewer: a scale-down of it that the status never recorded (a crash or a failed status write after
 * ScalingDown's scale), or a hand scale, would otherwise leave it at 0 and traffic never back.
 */
function comingBack(spec: RolloutSpec, observed: Observation, state: RolloutState): number | undefined {
  const { active, preview, step } = state;
  if (step !== 'Aborted' || !active || observed.serviceSelectorColor === active.color) return undefined;
  const d = observed.deployments[active.color];
  const serving = previewReplicas(spec, observed, preview?.color);
  return d.exists && d.specReplicas < serving ? serving : undefined;
}

/** Where every engine-owned knob should be in `state`, given what is observed. */
export function layoutFor(spec: RolloutSpec, observed: Observation, state: RolloutState): Layout {
  const colours: Partial<Record<Colour, ColourPlan>> = {};
  const { active, preview, previous, step } = state;
  const resting = step === 'Stable' || step === 'Degraded';
  if (active) {
    colours[active.color] = {
      // The live colour keeps its pod template unless it is the desired one already: never a rolling update under traffic.
      template: observed.desiredRevision === active.revision ? 'desired' : 'keep',
      // Never resized by a rollout; at rest the HPA owns the count, or spec.replicas does.
      replicas: resting && !spec.autoscaling.enabled ? spec.replicas : (comingBack(spec, observed, state) ?? 'keep'),
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
