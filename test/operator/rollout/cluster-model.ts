// A small model of the cluster for driving the engine over time: it applies the
// engine's actions the way the reconciler will (persist status, then act, then
// record events), brings pods up one pass later, plays an HPA, answers
// measurements, and can crash the operator at any pass. It checks the two
// traffic rules at the moment each action lands, not only in the engine's view.
import type { Colour } from '../../../operator/api/types.js';
import { type RolloutDecision, type RolloutEvent, nextRollout } from '../../../operator/rollout/engine.js';
import { type DeploymentObservation, type MeasurementResult, type Observation, type RolloutSpec, fullyAvailable } from '../../../operator/rollout/observed.js';
import { readRolloutStatus, writeRolloutStatus } from '../../../operator/rollout/persist.js';
import type { Action } from '../../../operator/rollout/plan.js';
import type { RolloutCommand } from '../../../operator/rollout/state.js';
import { commandPatch } from '../../../operator/rollout/commands.js';
import { A, at, image, none, up } from './world.js';

/**
 * Where the operator dies within a pass: before writing status (nothing
 * happened), after writing status (actions and events lost), or after applying
 * the actions but before writing status (what a reconciler that applies first
 * risks: the world moved, the state did not).
 */
export type Crash = 'beforeStatusWrite' | 'afterStatusWrite' | 'afterActionsBeforeStatusWrite';

export interface ClusterModel {
  now: number;
  spec: RolloutSpec;
  desired: string;
  deployments: Record<Colour, DeploymentObservation>;
  selector?: Colour;
  autoscaler?: Colour;
  /** The count the HPA holds the colour it targets at. */
  hpa?: number;
  /** status.rollout as stored, commands included. */
  status?: Record<string, unknown>;
  /** Revisions whose pods never become ready. */
  broken: Set<string>;
  /** Revisions whose measurements fail. */
  unhealthy: Set<string>;
  /** The operator's in-memory latest measurement result (lost in a crash). */
  result?: MeasurementResult;
  events: RolloutEvent[];
  /** How many times each measurement key ran. */
  measurements: Map<string, number>;
  /** Traffic-rule breaches seen when actions landed; must stay empty. */
  violations: string[];
  /** When the stable Service's selector changed, and to what. */
  flips: Array<{ at: number; colour: Colour }>;
  passes: number;
}

/** Blue serving revision A at `replicas`, green absent, no status yet unless `adopted` is false. */
export function clusterWithA(spec: RolloutSpec, replicas = 3): ClusterModel {
  return {
    now: at(0),
    spec,
    desired: A,
    deployments: { blue: up(A, replicas), green: none },
    selector: 'blue',
    ...(spec.autoscaling.enabled || spec.verticalAutoscaling.enabled ? { autoscaler: 'blue' as Colour } : {}),
    broken: new Set(),
    unhealthy: new Set(),
    events: [],
    measurements: new Map(),
    violations: [],
    flips: [],
    passes: 0,
  };
}

/** An empty namespace: nothing exists yet. */
export function emptyCluster(spec: RolloutSpec, desired = A): ClusterModel {
  return { ...clusterWithA(spec), desired, deployments: { blue: none, green: none }, selector: undefined, autoscaler: undefined };
}

function running(revision: string, replicas: number, ready: boolean): DeploymentObservation {
  const d = up(revision, replicas);
  return ready ? d : { ...d, readyReplicas: 0, availableReplicas: 0 };
}

/** Pods started on an earlier pass are ready now (unless broken); the HPA holds its figure. */
function settle(m: ClusterModel): void {
  for (const c of ['blue', 'green'] as const) {
    const d = m.deployments[c];
    if (d.exists && d.revision) m.deployments[c] = running(d.revision, d.specReplicas, !m.broken.has(d.revision));
  }
  if (m.hpa !== undefined && m.autoscaler) {
    const d = m.deployments[m.autoscaler];
    if (d.exists && d.revision) m.deployments[m.autoscaler] = running(d.revision, m.hpa, !m.broken.has(d.revision));
  }
}

export function observation(m: ClusterModel): Observation {
  return {
    desiredRevision: m.desired,
    desiredImage: image(m.desired),
    deployments: { ...m.deployments },
    ...(m.selector ? { serviceSelectorColor: m.selector } : {}),
    ...(m.autoscaler ? { autoscalerColor: m.autoscaler } : {}),
    ...(m.hpa !== undefined && m.autoscaler ? { hpaDesiredReplicas: m.hpa } : {}),
    ...(m.result ? { analysis: m.result } : {}),
  };
}

function apply(m: ClusterModel, a: Action, d: RolloutDecision): void {
  switch (a.kind) {
    case 'setColour': {
      const current = m.deployments[a.colour];
      const revision = a.template === 'desired' ? m.desired : current.revision!;
      const replicas = a.replicas === 'keep' ? current.specReplicas : a.replicas;
      const resting = d.state.step === 'Stable' || d.state.step === 'Degraded';
      if (a.colour === m.selector && !resting && (replicas !== current.specReplicas || revision !== current.revision)) {
        m.violations.push(`t=${(m.now - at(0)) / 1000}s: ${d.state.step} changed the serving colour ${a.colour}`);
      }
      // New pods are not ready until the next pass; a pure scale-down keeps the ready ones.
      const keepsPods = revision === current.revision && replicas <= current.readyReplicas;
      m.deployments[a.colour] = replicas === 0 ? { ...up(revision, 0) } : running(revision, replicas, keepsPods && !m.broken.has(revision));
      return;
    }
    case 'flipSelector': {
      const target = m.deployments[a.colour];
      if (!fullyAvailable(target, target.revision ?? '')) m.violations.push(`t=${(m.now - at(0)) / 1000}s: selector moved to ${a.colour} with ${target.readyReplicas}/${target.specReplicas} ready`);
      m.selector = a.colour;
      m.flips.push({ at: m.now, colour: a.colour });
      return;
    }
    case 'moveAutoscalers':
      m.autoscaler = a.colour;
      return;
    case 'runAnalysis':
      m.measurements.set(a.key, (m.measurements.get(a.key) ?? 0) + 1);
      m.result = { key: a.key, ok: !m.unhealthy.has(a.revision), message: m.unhealthy.has(a.revision) ? 'GET /health → 503' : 'GET /health → 200' };
      return;
  }
}

/** One reconcile pass: observe, decide, persist status, apply actions, record events. */
export function reconcile(m: ClusterModel, crash?: Crash): RolloutDecision {
  m.passes += 1;
  settle(m);
  const read = readRolloutStatus(m.status);
  if (read.problem) throw new Error(read.problem);
  const d = nextRollout({ spec: m.spec, state: read.state, commands: read.commands, observed: observation(m), now: m.now });
  if (crash === 'beforeStatusWrite') {
    m.result = undefined;
    return d;
  }
  if (crash === 'afterActionsBeforeStatusWrite') {
    for (const a of d.actions) apply(m, a, d);
    m.result = undefined;
    return d;
  }
  const commands = m.status?.commands;
  // Round-trip through JSON, as the API server stores it.
  m.status = JSON.parse(JSON.stringify({ ...writeRolloutStatus(d.state), ...(commands ? { commands } : {}) })) as Record<string, unknown>;
  if (crash === 'afterStatusWrite') {
    m.result = undefined;
    return d;
  }
  for (const a of d.actions) apply(m, a, d);
  m.events.push(...d.events);
  return d;
}

/** What `keyward-operator <command>` does: a merge patch of status.rollout.commands. */
export function give(m: ClusterModel, command: RolloutCommand): void {
  const patch = commandPatch(command, m.now).status.rollout.commands;
  const rollout = m.status ?? {};
  m.status = { ...rollout, commands: { ...(rollout.commands as Record<string, string> | undefined), ...patch } };
}

export interface RunOptions {
  /** Stop once this holds after a pass. */
  until?: (d: RolloutDecision, m: ClusterModel) => boolean;
  /** Crash the operator at these pass numbers (1-based, counted within this run). */
  crashAt?: (pass: number) => Crash | undefined;
  maxPasses?: number;
}

const settled = (d: RolloutDecision): boolean => (d.state.step === 'Stable' || d.state.step === 'Degraded') && d.actions.length === 0;

/** Passes until `until` (default: at rest with nothing to do), moving the clock as the engine asks. */
export function run(m: ClusterModel, options: RunOptions = {}): RolloutDecision {
  const until = options.until ?? settled;
  const max = options.maxPasses ?? 500;
  for (let i = 1; i <= max; i++) {
    const crash = options.crashAt?.(i);
    const d = reconcile(m, crash);
    if (!crash && until(d, m)) return d;
    // A restarted operator takes a couple of seconds; applied actions trigger watch events at once.
    m.now += crash ? 2000 : d.actions.length > 0 ? 200 : (d.requeueAfterMs ?? 1000);
  }
  throw new Error(`no end after ${max} passes; last step ${readRolloutStatus(m.status).state?.step}`);
}

/** Colours with replicas asked for. */
export function coloursUp(m: ClusterModel): Colour[] {
  return (['blue', 'green'] as const).filter((c) => m.deployments[c].exists && m.deployments[c].specReplicas > 0);
}
