import { expect } from 'chai';
import type { Colour, Phase } from '../../../operator/api/types.js';
import { type RolloutInput, nextRollout } from '../../../operator/rollout/engine.js';
import { fullyAvailable } from '../../../operator/rollout/observed.js';
import { readRolloutStatus, writeRolloutStatus } from '../../../operator/rollout/persist.js';
import type { FailureReason, RolloutCommands, RolloutState, RolloutStep } from '../../../operator/rollout/state.js';
import { type ClusterModel, clusterWithA, coloursUp, emptyCluster, give, reconcile, run } from './cluster-model.js';
import { A, B, BLUE_A, C, GREEN_B, type ObservationOptions, S, type SpecOptions, at, brief, key, image, measured, observe, partly, spec, t, up } from './world.js';

interface Row {
  name: string;
  from: RolloutState | undefined;
  seen: ObservationOptions;
  commands?: RolloutCommands;
  /** Seconds after T0. */
  now: number;
  spec?: SpecOptions;
  expect: {
    step: RolloutStep;
    events?: string[];
    actions?: string[];
    phase?: Phase;
    failure?: FailureReason;
    /** Seconds until the engine wants to look again; null for none. */
    requeue?: number | null;
    /** Words the Progressing condition's message must contain. */
    says?: string;
    /** status.rollout.selectorWaitSince in seconds after T0; null for none. */
    waitSince?: number | null;
  };
}

const given = (cmds: RolloutCommands): RolloutCommands => cmds;
const live = (o: ObservationOptions): ObservationOptions => ({ blue: up(A), selector: 'blue', ...o });

// States × events. Blue runs revision A and serves; B is the new revision
// (green); C a newer one still. Spec: 3 replicas, pre-promotion analysis 3 × 5 s,
// post-promotion 3 × 10 s, no failure tolerated, deadline 600 s, scale-down delay 30 s.
const ROWS: Row[] = [
  // ---- no status.rollout yet
  { name: 'a new AuthService deploys the first revision on blue', from: undefined, seen: { desired: A }, now: 0,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set blue desired 3'], phase: 'Pending', requeue: 600 } },
  { name: 'a running cluster without status.rollout is adopted, not redeployed', from: undefined, seen: live({ desired: A }), now: 0,
    expect: { step: 'Stable', events: ['Adopted'], actions: [], phase: 'Healthy', requeue: null } },
  { name: 'an adopted cluster with a new spec starts a rollout at once', from: undefined, seen: live({ desired: B }), now: 0,
    expect: { step: 'Deploying', events: ['Adopted', 'RolloutStarted'], actions: ['set green desired 3'] } },
  { name: 'a new AuthService with autoscaling seeds blue within the HPA bounds', from: undefined, seen: { desired: A }, now: 0, spec: { autoscaling: true, replicas: 2, minReplicas: 4 },
    expect: { step: 'Deploying', actions: ['set blue desired 4'] } },

  // ---- the first revision
  { name: 'first deploy: waits while blue comes up, with no traffic anywhere', from: S.firstDeploying(), seen: { blue: partly(A, 3, 1) }, now: 30,
    expect: { step: 'Deploying', events: [], actions: [], phase: 'Pending', requeue: 570, says: 'blue: 1/3 available' } },
  { name: 'first deploy: blue available → it takes traffic and the rollout is stable', from: S.firstDeploying(), seen: { blue: up(A) }, now: 40,
    expect: { step: 'Stable', events: ['Promoted'], actions: ['flip blue'], phase: 'Healthy' } },
  { name: 'first deploy: the autoscalers follow traffic to blue', from: S.firstDeploying(), seen: { blue: up(A) }, now: 40, spec: { autoscaling: true },
    expect: { step: 'Stable', actions: ['flip blue', 'autoscalers blue'] } },
  { name: 'first deploy: the deadline passes → Degraded, and it keeps waiting (nothing to fall back on)', from: S.firstDeploying(), seen: { blue: partly(A, 3, 0) }, now: 600,
    expect: { step: 'Deploying', events: ['ProgressDeadlineExceeded'], actions: [], phase: 'Degraded', failure: 'ProgressDeadlineExceeded', requeue: null } },
  { name: 'first deploy: blue becomes available after its deadline → stable, failure cleared',
    from: S.firstDeploying({ failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message: 'x', revision: A, at: t(600) } }), seen: { blue: up(A) }, now: 700,
    expect: { step: 'Stable', events: ['Promoted'], actions: ['flip blue'], phase: 'Healthy' } },
  { name: 'first deploy: a newer spec replaces the revision on blue', from: S.firstDeploying(), seen: { desired: B, blue: partly(A, 3, 1) }, now: 30,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set blue desired 3'], phase: 'Pending', requeue: 600 } },
  { name: 'first deploy: abort is refused, there is nothing to return to', from: S.firstDeploying(), seen: { blue: partly(A, 3, 1) }, commands: given({ abort: t(20) }), now: 30,
    expect: { step: 'Deploying', events: ['CommandIgnored'], actions: [] } },
  { name: 'first deploy: retry after the deadline restarts the deadline',
    from: S.firstDeploying({ failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message: 'x', revision: A, at: t(600) } }), seen: { blue: partly(A, 3, 0) }, commands: given({ retry: t(650) }), now: 660,
    expect: { step: 'Deploying', events: ['Retried'], actions: [], phase: 'Pending', requeue: 600 } },

  // ---- Stable
  { name: 'stable: nothing changed → nothing to do, no requeue', from: S.stable(), seen: live({ green: up(A, 0) }), now: 0,
    expect: { step: 'Stable', events: [], actions: [], phase: 'Healthy', requeue: null } },
  { name: 'stable: a new revision goes to the idle colour at the live size', from: S.stable(), seen: live({ desired: B, green: up(A, 0) }), now: 0,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'], phase: 'Progressing', requeue: 600 } },
  { name: 'stable: with the HPA holding 7, the new colour comes up with 7 (not minReplicas 3)', from: S.stable(),
    seen: { desired: B, blue: up(A, 7), selector: 'blue', autoscaler: 'blue', hpa: 7 }, now: 0, spec: { autoscaling: true },
    expect: { step: 'Deploying', actions: ['set green desired 7'] } },
  { name: 'stable: the HPA status lagging at 0 never shrinks the seed below the live count', from: S.stable(),
    seen: { desired: B, blue: up(A, 6), selector: 'blue', autoscaler: 'blue', hpa: 0 }, now: 0, spec: { autoscaling: true },
    expect: { step: 'Deploying', actions: ['set green desired 6'] } },
  { name: 'stable: a leftover idle colour is scaled to 0', from: S.stable(), seen: live({ green: up(B) }), now: 0,
    expect: { step: 'Stable', actions: ['set green keep 0'] } },
  { name: 'stable: spec.replicas is applied to the live colour when autoscaling is off', from: S.stable(), seen: live({}), now: 0, spec: { replicas: 5 },
    expect: { step: 'Stable', actions: ['set blue desired 5'] } },
  { name: 'stable: a Service selector changed by hand is put back', from: S.stable(), seen: live({ green: up(A, 0), selector: 'green' }), now: 0,
    expect: { step: 'Stable', actions: ['flip blue'] } },
  { name: 'stable: promote is refused, no rollout is in flight', from: S.stable(), seen: live({}), commands: given({ promote: t(0) }), now: 0,
    expect: { step: 'Stable', events: ['CommandIgnored'], actions: [] } },
  { name: 'stable: the live Deployment was deleted → it is deployed again', from: S.stable(), seen: { desired: A, selector: 'blue' }, now: 0,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set blue desired 3'], phase: 'Pending' } },

  // ---- Deploying (blue A serves, green B comes up)
  { name: 'deploying: green partly up → wait for it until the deadline', from: S.deploying(), seen: live({ desired: B, green: partly(B, 3, 2) }), now: 60,
    expect: { step: 'Deploying', events: [], actions: [], phase: 'Progressing', requeue: 540, says: 'green: 2/3 available' } },
  { name: 'deploying: green has every replica → PreviewAvailable and the first pre-promotion measurement', from: S.deploying(), seen: live({ desired: B, green: up(B) }), now: 100,
    expect: { step: 'PrePromotionAnalysis', events: ['PreviewAvailable'], actions: ['measure pre green 1/3'], requeue: 5 } },
  { name: 'deploying: ready but old pods still running → not available yet', from: S.deploying(), seen: live({ desired: B, green: { ...up(B), statusReplicas: 4 } }), now: 100,
    expect: { step: 'Deploying', events: [], actions: [] } },
  { name: 'deploying: the Deployment controller has not seen the new spec → not available yet', from: S.deploying(), seen: live({ desired: B, green: { ...up(B), generationObserved: false } }), now: 100,
    expect: { step: 'Deploying', events: [] } },
  { name: 'deploying: no pre-promotion analysis → straight to the flip, then the post-promotion checks', from: S.deploying(), seen: live({ desired: B, green: up(B) }), now: 100, spec: { pre: null },
    expect: { step: 'PostPromotionAnalysis', events: ['PreviewAvailable', 'Promoted'], actions: ['flip green'], requeue: 10 } },
  { name: 'deploying: no analysis at all → flip, then the old colour waits for the scale-down delay', from: S.deploying(), seen: live({ desired: B, green: up(B) }), now: 100, spec: { pre: null, post: null, autoscaling: true },
    expect: { step: 'ScalingDown', events: ['PreviewAvailable', 'Promoted'], actions: ['flip green', 'autoscalers green'], requeue: 30 } },
  { name: 'deploying: deadline passed → abort with ProgressDeadlineExceeded, traffic stays on blue', from: S.deploying(), seen: live({ desired: B, green: partly(B, 3, 1) }), now: 600,
    expect: { step: 'Aborted', events: ['Aborted'], actions: [], phase: 'Degraded', failure: 'ProgressDeadlineExceeded', requeue: 30 } },
  { name: 'deploying: a newer spec supersedes it on green; blue is not touched', from: S.deploying(), seen: live({ desired: C, green: partly(B, 3, 2) }), now: 60,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'], requeue: 600 } },
  { name: 'deploying: the spec goes back to the live revision → the rollout stops and green goes to 0', from: S.deploying(), seen: live({ desired: A, green: partly(B, 3, 2) }), now: 60,
    expect: { step: 'Stable', events: ['Superseded'], actions: ['set green keep 0'], phase: 'Healthy' } },
  { name: 'deploying: abort → Aborted by the user, traffic stays on blue', from: S.deploying(), seen: live({ desired: B, green: partly(B, 3, 2) }), commands: given({ abort: t(50) }), now: 60,
    expect: { step: 'Aborted', events: ['Aborted'], actions: [], failure: 'AbortedByUser', phase: 'Degraded' } },
  { name: 'deploying: an early promote is kept as approval for this revision', from: S.deploying(), seen: live({ desired: B, green: partly(B, 3, 2) }), commands: given({ promote: t(50) }), now: 60, spec: { autoPromotion: false },
    expect: { step: 'Deploying', events: ['PromotionApproved'], actions: [] } },
  { name: 'deploying: the HPA grows blue to 5 → green follows to 5; blue is left alone', from: S.deploying(),
    seen: { desired: B, blue: up(A, 5), green: up(B, 3), selector: 'blue', autoscaler: 'blue', hpa: 5 }, now: 60, spec: { autoscaling: true },
    expect: { step: 'Deploying', events: [], actions: ['set green desired 5'] } },

  // ---- PrePromotionAnalysis
  { name: 'pre-analysis: a due measurement without a result is asked for again (same key)', from: S.preAnalysis(), seen: live({ desired: B, green: up(B) }), now: 101,
    expect: { step: 'PrePromotionAnalysis', events: [], actions: ['measure pre green 1/3'], requeue: 5 } },
  { name: 'pre-analysis: a passing measurement is counted and the next is due an interval later', from: S.preAnalysis(), seen: live({ desired: B, green: up(B), analysis: measured('pre', 1, true) }), now: 101,
    expect: { step: 'PrePromotionAnalysis', events: [], actions: [], requeue: 5, says: 'measurement 2/3 due' } },
  { name: 'pre-analysis: the last measurement passes → AnalysisPassed, promote, flip to green', from: S.preAnalysis({ successes: 2, measurement: 3, dueAt: t(110) }),
    seen: live({ desired: B, green: up(B), analysis: measured('pre', 3, true) }), now: 111,
    expect: { step: 'PostPromotionAnalysis', events: ['AnalysisPassed', 'Promoted'], actions: ['flip green'], requeue: 10 } },
  { name: 'pre-analysis: a failed measurement with none tolerated → PrePromotionAnalysisFailed, no flip',
    from: S.preAnalysis({ successes: 1, measurement: 2, dueAt: t(105) }), seen: live({ desired: B, green: up(B), analysis: measured('pre', 2, false) }), now: 106,
    expect: { step: 'Aborted', events: ['AnalysisFailed', 'Aborted'], actions: [], failure: 'PrePromotionAnalysisFailed', phase: 'Degraded' } },
  { name: 'pre-analysis: a failed measurement within failureLimit is tolerated', from: S.preAnalysis(), seen: live({ desired: B, green: up(B), analysis: measured('pre', 1, false) }), now: 101, spec: { pre: { failureLimit: 1 } },
    expect: { step: 'PrePromotionAnalysis', events: [], actions: [], says: '0 passed, 1 failed' } },
  { name: 'pre-analysis: a result for another measurement is ignored', from: S.preAnalysis({ successes: 1, measurement: 2, dueAt: t(105) }),
    seen: live({ desired: B, green: up(B), analysis: measured('pre', 1, false) }), now: 106,
    expect: { step: 'PrePromotionAnalysis', events: [], actions: ['measure pre green 2/3'] } },
  { name: 'pre-analysis: a result from an earlier attempt at the same revision is ignored', from: S.preAnalysis({}, { milestones: { started: t(50), previewAvailable: t(100) } }),
    seen: live({ desired: B, green: up(B), analysis: measured('pre', 1, false) }), now: 101,
    expect: { step: 'PrePromotionAnalysis', events: [], actions: ['measure pre green 1/3'] } },
  { name: 'pre-analysis: a newer spec supersedes the rollout and its checks', from: S.preAnalysis(), seen: live({ desired: C, green: up(B) }), now: 101,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'] } },
  { name: 'pre-analysis: abort → Aborted, traffic stays on blue', from: S.preAnalysis(), seen: live({ desired: B, green: up(B) }), commands: given({ abort: t(101) }), now: 101,
    expect: { step: 'Aborted', events: ['Aborted'], actions: [], failure: 'AbortedByUser' } },

  // ---- the promotion gate
  { name: 'gate: checks passed with autoPromotion off → Paused', from: S.preAnalysis({ successes: 2, measurement: 3, dueAt: t(110) }),
    seen: live({ desired: B, green: up(B), analysis: measured('pre', 3, true) }), now: 111, spec: { autoPromotion: false },
    expect: { step: 'Paused', events: ['AnalysisPassed', 'Paused'], actions: [], phase: 'Paused', requeue: null } },
  { name: 'paused: nothing happens without promote', from: S.paused(), seen: live({ desired: B, green: up(B) }), now: 500, spec: { autoPromotion: false },
    expect: { step: 'Paused', events: [], actions: [], phase: 'Paused', requeue: null, says: 'waiting for promote' } },
  { name: 'paused: promote → traffic moves to green at once', from: S.paused(), seen: live({ desired: B, green: up(B) }), commands: given({ promote: t(500) }), now: 500, spec: { autoPromotion: false },
    expect: { step: 'PostPromotionAnalysis', events: ['PromotionApproved', 'Promoted'], actions: ['flip green'] } },
  { name: 'paused: promote while a green replica is not ready → no flip until it is', from: S.paused(), seen: live({ desired: B, green: partly(B, 3, 2) }), commands: given({ promote: t(500) }), now: 500, spec: { autoPromotion: false },
    expect: { step: 'Promoting', events: ['PromotionApproved'], actions: [], requeue: 600, says: 'green: 2/3 available' } },
  { name: 'paused: abort → Aborted', from: S.paused(), seen: live({ desired: B, green: up(B) }), commands: given({ abort: t(500) }), now: 500, spec: { autoPromotion: false },
    expect: { step: 'Aborted', events: ['Aborted'], failure: 'AbortedByUser' } },
  { name: 'paused: a newer spec starts over on green', from: S.paused(), seen: live({ desired: C, green: up(B) }), now: 500, spec: { autoPromotion: false },
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'] } },
  { name: 'paused: autoPromotion switched on → promotes', from: S.paused(), seen: live({ desired: B, green: up(B) }), now: 500,
    expect: { step: 'PostPromotionAnalysis', events: ['Promoted'], actions: ['flip green'] } },
  { name: 'promoting: waits out autoPromotionSeconds', from: S.promoting(180), seen: live({ desired: B, green: up(B) }), now: 120, spec: { autoPromotionSeconds: 60 },
    expect: { step: 'Promoting', events: [], actions: [], requeue: 60 } },
  { name: 'promoting: time is up and every green replica is ready → flip', from: S.promoting(180), seen: live({ desired: B, green: up(B) }), now: 180, spec: { autoPromotionSeconds: 60 },
    expect: { step: 'PostPromotionAnalysis', events: ['Promoted'], actions: ['flip green'] } },
  { name: 'promoting: a green replica went unready → the selector does not move', from: S.promoting(120), seen: live({ desired: B, green: partly(B, 3, 2) }), now: 130,
    expect: { step: 'Promoting', events: [], actions: [], says: '2/3' } },
  { name: 'promoting: never all ready within the deadline → PromotionDeadlineExceeded', from: S.promoting(120), seen: live({ desired: B, green: partly(B, 3, 2) }), now: 720,
    expect: { step: 'Aborted', events: ['Aborted'], actions: [], failure: 'PromotionDeadlineExceeded' } },
  { name: 'promoting: promote skips the rest of autoPromotionSeconds', from: S.promoting(180), seen: live({ desired: B, green: up(B) }), commands: given({ promote: t(130) }), now: 130, spec: { autoPromotionSeconds: 60 },
    expect: { step: 'PostPromotionAnalysis', events: ['PromotionApproved', 'Promoted'], actions: ['flip green'] } },

  // ---- PostPromotionAnalysis (green B serves, blue A kept for a rollback)
  { name: 'post-analysis: the flip was decided but not applied (restart) → it is applied again, no measurement yet', from: S.postAnalysis(),
    seen: { desired: B, blue: up(A), green: up(B), selector: 'blue' }, now: 131,
    expect: { step: 'PostPromotionAnalysis', events: [], actions: ['flip green'], says: 'waiting for the stable Service to select green', waitSince: 131 } },
  { name: 'post-analysis: due → measure green', from: S.postAnalysis(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, now: 140,
    expect: { step: 'PostPromotionAnalysis', events: [], actions: ['measure post green 1/3'] } },
  { name: 'post-analysis: passes → AnalysisPassed, blue waits for the scale-down delay at full size', from: S.postAnalysis({ successes: 2, measurement: 3, dueAt: t(160) }),
    seen: { desired: B, blue: up(A), green: up(B), selector: 'green', analysis: measured('post', 3, true) }, now: 160,
    expect: { step: 'ScalingDown', events: ['AnalysisPassed'], actions: [], requeue: 30 } },
  { name: 'post-analysis: fails → PostPromotionAnalysisFailed, traffic and autoscalers back on blue', from: S.postAnalysis({ successes: 1, measurement: 2, dueAt: t(150) }),
    seen: { desired: B, blue: up(A), green: up(B), selector: 'green', autoscaler: 'green', hpa: 3, analysis: measured('post', 2, false) }, now: 150, spec: { autoscaling: true },
    expect: { step: 'Aborted', events: ['AnalysisFailed', 'RolledBack'], actions: ['flip blue', 'autoscalers blue'], failure: 'PostPromotionAnalysisFailed', phase: 'Degraded' } },
  { name: 'post-analysis: fails while a blue replica is unready → traffic stays until blue is whole again', from: S.postAnalysis({ measurement: 1, dueAt: t(140) }),
    seen: { desired: B, blue: partly(A, 3, 2), green: up(B), selector: 'green', analysis: measured('post', 1, false) }, now: 140,
    expect: { step: 'Aborted', events: ['AnalysisFailed', 'RolledBack'], actions: [], failure: 'PostPromotionAnalysisFailed', says: 'traffic goes back to blue once all its replicas are ready' } },
  { name: 'post-analysis: a newer spec waits for these checks (green serves, blue is the rollback)', from: S.postAnalysis(),
    seen: { desired: C, blue: up(A), green: up(B), selector: 'green' }, now: 135,
    expect: { step: 'PostPromotionAnalysis', events: [], actions: [], says: `revision ${C} starts after these checks` } },
  { name: 'post-analysis: abort → traffic back on blue', from: S.postAnalysis(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, commands: given({ abort: t(135) }), now: 135,
    expect: { step: 'Aborted', events: ['RolledBack'], actions: ['flip blue'], failure: 'AbortedByUser' } },
  { name: 'post-analysis: the flip never lands within the deadline → rolled back', from: S.postAnalysis({}, { selectorWaitSince: t(130) }), seen: { desired: B, blue: up(A), green: partly(B, 3, 2), selector: 'blue' }, now: 730,
    expect: { step: 'Aborted', events: ['RolledBack'], actions: [], failure: 'PromotionDeadlineExceeded' } },
  { name: 'post-analysis: the first pass after a stop longer than the deadline carries out the flip decided before it, instead of rolling it back untried',
    from: S.postAnalysis(), seen: { desired: B, blue: up(A), green: up(B), selector: 'blue' }, now: 2000,
    expect: { step: 'PostPromotionAnalysis', events: [], actions: ['flip green'], says: 'waiting for the stable Service to select green', waitSince: 2000 } },
  { name: 'post-analysis: … and rolls back if the Service has not moved within the deadline counted from that pass',
    from: S.postAnalysis({}, { selectorWaitSince: t(2000) }), seen: { desired: B, blue: up(A), green: partly(B, 3, 2), selector: 'blue' }, now: 2600,
    expect: { step: 'Aborted', events: ['RolledBack'], actions: [], failure: 'PromotionDeadlineExceeded', waitSince: null } },

  // ---- ScalingDown
  { name: 'scaling down: before the delay blue keeps its size', from: S.scalingDown(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, now: 170,
    expect: { step: 'ScalingDown', events: [], actions: [], requeue: 20 } },
  { name: 'scaling down: after the delay blue goes to 0 (its Deployment stays) → Stable', from: S.scalingDown(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, now: 190,
    expect: { step: 'Stable', events: ['ScaledDown'], actions: ['set blue keep 0'], phase: 'Healthy', requeue: null } },
  { name: 'scaling down: a newer spec takes the idle blue instead', from: S.scalingDown(), seen: { desired: C, blue: up(A), green: up(B), selector: 'green' }, now: 170,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set blue desired 3'] } },
  { name: 'scaling down: the Service still selects blue (its write refused) → blue keeps serving past the delay, and the flip is tried again',
    from: S.scalingDown({ selectorWaitSince: t(160) }), seen: { desired: B, blue: up(A), green: up(B), selector: 'blue' }, now: 190,
    expect: { step: 'ScalingDown', events: [], actions: ['flip green'], phase: 'Progressing', requeue: 570, says: 'blue keeps serving' } },
  { name: 'scaling down: the Service still selects blue and green lost a replica → blue is neither scaled down nor given a newer revision',
    from: S.scalingDown(), seen: { desired: C, blue: up(A), green: partly(B, 3, 2), selector: 'blue' }, now: 190,
    expect: { step: 'ScalingDown', events: [], actions: [], says: 'waiting for the stable Service to select green (2/3 available' } },
  { name: 'scaling down: the Service has not selected green within the deadline of the step → rolled back to blue, which still serves',
    from: S.scalingDown({ selectorWaitSince: t(160) }), seen: { desired: B, blue: up(A), green: partly(B, 3, 2), selector: 'blue' }, now: 760,
    expect: { step: 'Aborted', events: ['RolledBack'], actions: [], failure: 'PromotionDeadlineExceeded', phase: 'Degraded' } },
  { name: 'no scale-down delay: the flip and the old colour\'s scale-down never come in one pass',
    from: S.deploying(), seen: live({ desired: B, green: up(B) }), now: 100, spec: { pre: null, post: null, scaleDownDelaySeconds: 0 },
    expect: { step: 'ScalingDown', events: ['PreviewAvailable', 'Promoted'], actions: ['flip green'], requeue: 600 } },
  { name: 'scaling down: abort while blue is still up → traffic back on blue', from: S.scalingDown(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, commands: given({ abort: t(170) }), now: 170,
    expect: { step: 'Aborted', events: ['RolledBack'], actions: ['flip blue'], failure: 'AbortedByUser' } },

  // ---- Aborted
  { name: 'aborted: the failed colour waits for the delay', from: S.abortedBeforeFlip(), seen: live({ desired: B, green: partly(B, 3, 1) }), now: 610,
    expect: { step: 'Aborted', events: [], actions: [], phase: 'Degraded', requeue: 20 } },
  { name: 'aborted: after the delay the failed colour goes to 0 → Degraded', from: S.abortedBeforeFlip(), seen: live({ desired: B, green: partly(B, 3, 1) }), now: 630,
    expect: { step: 'Degraded', events: ['ScaledDown'], actions: ['set green keep 0'], phase: 'Degraded', failure: 'ProgressDeadlineExceeded', requeue: null } },
  { name: 'aborted: a newer spec reuses the failed colour at once', from: S.abortedBeforeFlip(), seen: live({ desired: C, green: partly(B, 3, 1) }), now: 610,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'], phase: 'Progressing' } },
  { name: 'aborted: retry rolls the failed revision out again', from: S.abortedBeforeFlip(), seen: live({ desired: B, green: partly(B, 3, 1) }), commands: given({ retry: t(610) }), now: 610,
    expect: { step: 'Deploying', events: ['Retried', 'RolloutStarted'], actions: [] } },
  { name: 'aborted: the spec is back at the live revision → scaled down, then healthy', from: S.abortedBeforeFlip(), seen: live({ desired: A, green: partly(B, 3, 1) }), now: 630,
    expect: { step: 'Stable', events: ['ScaledDown', 'Recovered'], actions: ['set green keep 0'], phase: 'Healthy' } },
  { name: 'rolled back: blue is whole again → traffic returns to it', from: S.rolledBack(), seen: { desired: B, blue: up(A), green: up(B), selector: 'green' }, now: 175,
    expect: { step: 'Aborted', events: [], actions: ['flip blue'] } },
  { name: 'rolled back: blue was scaled to 0 (a scale-down the status never recorded) → blue comes back to green\'s count before traffic returns',
    from: S.rolledBack(), seen: { desired: B, blue: up(A, 0), green: up(B), selector: 'green' }, now: 175,
    expect: { step: 'Aborted', events: [], actions: ['set blue keep 3'], says: 'traffic goes back to blue once all its replicas are ready' } },
  { name: 'rolled back: the delay passed but traffic is not back on blue → green is not scaled down', from: S.rolledBack(), seen: { desired: B, blue: partly(A, 3, 2), green: up(B), selector: 'green' }, now: 300,
    expect: { step: 'Aborted', events: [], actions: [], says: 'green stays up until then' } },
  { name: 'rolled back: traffic on blue and the delay passed → green to 0', from: S.rolledBack(), seen: { desired: B, blue: up(A), green: up(B), selector: 'blue' }, now: 200,
    expect: { step: 'Degraded', events: ['ScaledDown'], actions: ['set green keep 0'], failure: 'PostPromotionAnalysisFailed' } },

  // ---- Degraded
  { name: 'degraded: the failed revision is not retried by itself', from: S.degraded(), seen: live({ desired: B, green: up(B, 0) }), now: 1000,
    expect: { step: 'Degraded', events: [], actions: [], phase: 'Degraded', failure: 'ProgressDeadlineExceeded', requeue: null, says: 'give retry' } },
  { name: 'degraded: retry → the revision is rolled out again', from: S.degraded(), seen: live({ desired: B, green: up(B, 0) }), commands: given({ retry: t(1000) }), now: 1000,
    expect: { step: 'Deploying', events: ['Retried', 'RolloutStarted'], actions: ['set green desired 3'], phase: 'Progressing' } },
  { name: 'degraded: a new spec is rolled out', from: S.degraded(), seen: live({ desired: C, green: up(B, 0) }), now: 1000,
    expect: { step: 'Deploying', events: ['RolloutStarted'], actions: ['set green desired 3'] } },
  { name: 'degraded: the spec back at the live revision → healthy', from: S.degraded(), seen: live({ desired: A, green: up(B, 0) }), now: 1000,
    expect: { step: 'Stable', events: ['Recovered'], actions: [], phase: 'Healthy' } },
  { name: 'degraded: promote is refused', from: S.degraded(), seen: live({ desired: B, green: up(B, 0) }), commands: given({ promote: t(1000) }), now: 1000,
    expect: { step: 'Degraded', events: ['CommandIgnored'], actions: [] } },
  { name: 'degraded: a scale-down a crash interrupted is finished', from: S.degraded(), seen: live({ desired: B, green: partly(B, 3, 1) }), now: 1000,
    expect: { step: 'Degraded', events: [], actions: ['set green keep 0'] } },
  { name: 'degraded: spec.replicas still applies to the live colour (no rollout is in flight)', from: S.degraded(), seen: live({ desired: B, green: up(B, 0) }), now: 1000, spec: { replicas: 4 },
    expect: { step: 'Degraded', actions: ['set blue keep 4'] } },
];

function inputOf(row: Row): RolloutInput {
  return { spec: spec(row.spec), state: row.from, commands: row.commands ?? {}, observed: observe(row.seen), now: at(row.now) };
}

/** The state as it comes back from the API server after being written. */
function persisted(state: RolloutState): RolloutState {
  const read = readRolloutStatus(JSON.parse(JSON.stringify(writeRolloutStatus(state))));
  expect(read.problem).to.equal(undefined);
  return read.state!;
}

describe('operator/rollout/engine: nextRollout, states × events', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const d = nextRollout(inputOf(row));
      const e = row.expect;
      expect(d.state.step, 'step').to.equal(e.step);
      if (e.events) expect(d.events.map((ev) => ev.reason), 'events').to.deep.equal(e.events);
      if (e.actions) expect(d.actions.map(brief), 'actions').to.deep.equal(e.actions);
      if (e.phase) expect(d.phase, 'phase').to.equal(e.phase);
      if (e.failure) expect(d.state.failure?.reason, 'failure').to.equal(e.failure);
      if (e.requeue !== undefined) expect(d.requeueAfterMs, 'requeue').to.equal(e.requeue === null ? undefined : e.requeue * 1000);
      if (e.says) expect(d.conditions.find((c) => c.type === 'Progressing')?.message).to.include(e.says);
      if (e.waitSince !== undefined) expect(d.state.selectorWaitSince, 'selectorWaitSince').to.equal(e.waitSince === null ? undefined : t(e.waitSince));
    });
  }
});

describe('operator/rollout/engine: a flip decided just before the operator stops', () => {
  // The decision is persisted before the Service is written; the operator may stop in between and
  // come back after longer than the deadline. The flip is then carried out, not rolled back untried.
  for (const post of [undefined, null] as const) {
    it(`is carried out by the first pass after the restart, ${post === null ? 'with no post-promotion checks (ScalingDown)' : 'before the post-promotion checks'}`, () => {
      const seen = observe({ desired: B, blue: up(A), green: up(B), selector: 'blue' });
      const rollout = spec({ autoPromotionSeconds: 60, ...(post === null ? { post: null } : {}) });
      const decided = nextRollout({ spec: rollout, state: S.promoting(180), commands: {}, observed: seen, now: at(180) });
      expect(decided.actions.map(brief), 'the deciding pass').to.include('flip green');
      expect(decided.state.selectorWaitSince, 'no clock started by the deciding pass').to.equal(undefined);

      const restarted = nextRollout({ spec: rollout, state: persisted(decided.state), commands: {}, observed: seen, now: at(2000) });
      expect(restarted.state.step).to.equal(decided.state.step);
      expect(restarted.actions.map(brief)).to.include('flip green');
      expect(restarted.state.selectorWaitSince).to.equal(t(2000));
    });
  }
});

describe('operator/rollout/engine: invariants over every row', () => {
  const decisions = ROWS.map((row) => ({ row, input: inputOf(row), d: nextRollout(inputOf(row)) }));

  it('never resizes or re-templates the colour serving traffic during a rollout', () => {
    for (const { row, input, d } of decisions) {
      const serving = input.observed.serviceSelectorColor;
      if (!serving) continue;
      const observed = input.observed.deployments[serving];
      for (const a of d.actions) {
        if (a.kind !== 'setColour' || a.colour !== serving || !observed.exists) continue;
        expect(a.template === 'keep' || observed.revision === input.observed.desiredRevision, `${row.name}: template of ${serving}`).to.equal(true);
        if (a.replicas === 'keep' || a.replicas === observed.specReplicas) continue;
        // The only resize of a serving colour: spec.replicas at rest, with no HPA.
        expect(['Stable', 'Degraded'], `${row.name}: resized ${serving}`).to.include(d.state.step);
        expect(input.spec.autoscaling.enabled, row.name).to.equal(false);
        expect(a.replicas, row.name).to.equal(input.spec.replicas);
      }
    }
  });

  it('points the Service only at a colour whose every replica is ready', () => {
    for (const { row, input, d } of decisions) {
      for (const a of d.actions.filter((x) => x.kind === 'flipSelector')) {
        const dep = input.observed.deployments[a.colour];
        expect(fullyAvailable(dep, dep.revision ?? ''), `${row.name}: flip to ${a.colour}`).to.equal(true);
      }
      if (d.layout.selector !== undefined && d.layout.selector !== input.observed.serviceSelectorColor) {
        const dep = input.observed.deployments[d.layout.selector];
        expect(fullyAvailable(dep, dep.revision ?? ''), `${row.name}: layout`).to.equal(true);
      }
    }
  });

  it('moves the autoscalers only together with traffic', () => {
    for (const { row, d } of decisions) {
      if (d.layout.autoscalers !== undefined) expect(d.layout.autoscalers, row.name).to.equal(d.layout.selector);
    }
  });

  it('has a Progressing condition that says where every state is, and Degraded exactly when a failure is on record', () => {
    for (const { row, d } of decisions) {
      const byType = Object.fromEntries(d.conditions.map((c) => [c.type, c]));
      expect(Object.keys(byType).sort(), row.name).to.deep.equal(['Degraded', 'Paused', 'Progressing']);
      const p = byType.Progressing!;
      expect(p.reason, row.name).to.match(/^[A-Za-z]+$/);
      expect(p.message, row.name).to.have.length.greaterThan(d.state.step.length + 10);
      expect(p.message.startsWith(`${d.state.step}: `), row.name).to.equal(true);
      expect(p.status, row.name).to.equal(['Stable', 'Degraded'].includes(d.state.step) ? 'False' : 'True');
      expect(byType.Degraded!.status, row.name).to.equal(d.state.failure ? 'True' : 'False');
      if (d.state.failure) expect(byType.Degraded!.reason, row.name).to.equal(d.state.failure.reason);
      expect(byType.Paused!.status, row.name).to.equal(d.state.step === 'Paused' ? 'True' : 'False');
    }
  });

  it('leaves only the serving colour with replicas once a rollout or a rollback has ended', () => {
    for (const { row, input, d } of decisions) {
      if (d.state.step !== 'Stable' && d.state.step !== 'Degraded') continue;
      const activeColour = d.state.active!.color;
      const idle: Colour = activeColour === 'blue' ? 'green' : 'blue';
      if (input.observed.deployments[idle].exists) expect(d.layout.colours[idle], `${row.name}: ${idle}`).to.deep.equal({ template: 'keep', replicas: 0 });
    }
  });

  it('continues from its persisted state exactly as from the state it returned (restart)', () => {
    for (const { row, input, d } of decisions) {
      if (!input.state) continue;
      const restarted = nextRollout({ ...input, state: persisted(input.state) });
      expect(restarted, row.name).to.deep.equal(d);
    }
  });

  it('is a fixed point: a second pass over the same world runs no step twice and emits no event again', () => {
    for (const { row, input, d } of decisions) {
      const again = nextRollout({ ...input, state: persisted(d.state) });
      expect(again.events, `${row.name}: events`).to.deep.equal([]);
      expect(again.state, `${row.name}: state`).to.deep.equal(d.state);
      expect(again.actions.map(brief), `${row.name}: actions`).to.deep.equal(d.actions.map(brief));
    }
  });

  it('records every event in the bounded history', () => {
    for (const { row, input, d } of decisions) {
      const recent = d.state.history.filter((h) => h.at === new Date(input.now).toISOString()).map((h) => h.reason);
      for (const e of d.events) expect(recent, row.name).to.include(e.reason);
      expect(d.state.history.length).to.be.at.most(20);
    }
  });
});

describe('operator/rollout/engine: details', () => {
  it('keeps at most 20 history entries, the newest last', () => {
    const history = Array.from({ length: 20 }, (_, i) => ({ at: t(i), step: 'Stable' as const, reason: `Old${i}`, message: 'x' }));
    const d = nextRollout({ spec: spec(), state: { ...S.stable(), history }, commands: {}, observed: observe(live({ desired: B })), now: at(100) });
    expect(d.state.history).to.have.length(20);
    expect(d.state.history[0]!.reason).to.equal('Old1');
    expect(d.state.history.at(-1)!.reason).to.equal('RolloutStarted');
  });

  it('names the step, the revision and the colours in the failure it records', () => {
    const d = nextRollout({ spec: spec(), state: S.deploying(), commands: {}, observed: observe(live({ desired: B, green: partly(B, 3, 1) })), now: at(600) });
    expect(d.state.failure).to.deep.include({ step: 'Deploying', reason: 'ProgressDeadlineExceeded', revision: B });
    expect(d.state.failedRevision).to.equal(B);
    expect(d.events[0]!.type).to.equal('Warning');
    expect(d.events[0]!.message).to.include('green: 1/3 available').and.include('Traffic stays on blue');
  });

  it('hands runAnalysis the check to run, against the colour being checked', () => {
    const d = nextRollout({ spec: spec({ pre: { httpGet: { path: '/health', port: 80, expectedStatus: 200, jsonField: { path: 'status', equals: 'healthy' } } } }), state: S.preAnalysis(), commands: {}, observed: observe(live({ desired: B, green: up(B) })), now: at(101) });
    const run = d.actions.find((a) => a.kind === 'runAnalysis');
    expect(run).to.deep.include({ key: key('pre', 1), phase: 'pre', colour: 'green', revision: B, measurement: 1, count: 3 });
    expect(run && run.kind === 'runAnalysis' && run.check.httpGet.jsonField).to.deep.equal({ path: 'status', equals: 'healthy' });
  });

  it('fills the printer-column fields from the state', () => {
    const d = nextRollout({ spec: spec(), state: S.deploying(), commands: {}, observed: observe(live({ desired: B, green: partly(B, 3, 1) })), now: at(10) });
    expect(d.summary).to.deep.equal({ activeColor: 'blue', activeRevision: A, activeImage: BLUE_A.image, previewColor: 'green', previewRevision: B });
    const after = nextRollout({ spec: spec(), state: S.scalingDown(), commands: {}, observed: observe({ desired: B, blue: up(A), green: up(B), selector: 'green' }), now: at(170) });
    expect(after.summary).to.deep.equal({ activeColor: 'green', activeRevision: B, activeImage: GREEN_B.image });
  });

  it('acts on a command once: the same command value is acknowledged, a new one counts again', () => {
    const input: RolloutInput = { spec: spec(), state: S.stable(), commands: { promote: t(1) }, observed: observe(live({})), now: at(2) };
    const first = nextRollout(input);
    expect(first.events.map((e) => e.reason)).to.deep.equal(['CommandIgnored']);
    expect(first.state.acknowledged).to.deep.equal({ promote: t(1) });
    expect(nextRollout({ ...input, state: first.state }).events).to.deep.equal([]);
    expect(nextRollout({ ...input, state: first.state, commands: { promote: t(5) } }).events.map((e) => e.reason)).to.deep.equal(['CommandIgnored']);
  });

  it('ignores commands that were already there when it first saw the AuthService', () => {
    const d = nextRollout({ spec: spec(), state: undefined, commands: { abort: t(0) }, observed: observe(live({ desired: B })), now: at(1) });
    expect(d.events.map((e) => e.reason)).to.deep.equal(['Adopted', 'RolloutStarted']);
  });

  it('moves the VPA with traffic when only the VPA is enabled', () => {
    const d = nextRollout({ spec: spec({ vpa: true, pre: null, post: null }), state: S.deploying(), commands: {}, observed: observe(live({ desired: B, green: up(B), autoscaler: 'blue' })), now: at(100) });
    expect(d.actions.map(brief)).to.deep.equal(['flip green', 'autoscalers green']);
  });

  it('drops a measurement-free post-promotion step when the checks were removed from the spec meanwhile', () => {
    const d = nextRollout({ spec: spec({ post: null }), state: S.postAnalysis(), commands: {}, observed: observe({ desired: B, blue: up(A), green: up(B), selector: 'green' }), now: at(140) });
    expect(d.state.step).to.equal('ScalingDown');
  });
});

describe('operator/rollout/engine: whole rollouts over time', () => {
  const reasons = (m: ClusterModel): string[] => m.events.map((e) => e.reason);
  /** `sub` appears in `list` in this order, other entries between allowed. */
  const inOrder = (list: string[], sub: string[]): void => {
    let i = 0;
    for (const item of list) if (item === sub[i]) i++;
    expect(i, `${JSON.stringify(sub)} in order within ${JSON.stringify(list)}`).to.equal(sub.length);
  };
  const historyOf = (m: ClusterModel): string[] => (readRolloutStatus(m.status).state?.history ?? []).map((h) => `${h.step}:${h.reason}`);

  function rollOutB(m: ClusterModel): void {
    run(m); // adopt blue
    m.desired = B;
  }

  it('image change → green checked → traffic flips → blue scales to 0 and stays as a Deployment', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    run(m);
    expect(reasons(m)).to.deep.equal(['Adopted', 'RolloutStarted', 'PreviewAvailable', 'AnalysisPassed', 'Promoted', 'AnalysisPassed', 'ScaledDown']);
    expect(m.selector).to.equal('green');
    expect(m.deployments.green).to.deep.include({ revision: B, specReplicas: 3, readyReplicas: 3 });
    expect(m.deployments.blue).to.deep.include({ exists: true, revision: A, specReplicas: 0 });
    expect(coloursUp(m)).to.deep.equal(['green']);
    expect([...m.measurements.values()].every((n) => n === 1), 'each measurement ran once').to.equal(true);
    expect(m.measurements.size).to.equal(6);
    expect(m.violations).to.deep.equal([]);
    const status = readRolloutStatus(m.status).state!;
    expect(status).to.deep.include({ step: 'Stable', active: GREEN_B });
    expect(Object.keys(status.milestones)).to.have.members(['started', 'previewAvailable', 'prePromotionAnalysisPassed', 'promoted', 'postPromotionAnalysisPassed', 'scaledDown']);
  });

  it('flips within the pre-promotion checks’ own time of the new colour becoming available', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    run(m);
    const state = readRolloutStatus(m.status).state!;
    const latency = Date.parse(state.milestones.promoted!) - Date.parse(state.milestones.previewAvailable!);
    // 3 measurements 5 s apart: the last one is taken 10 s after the first; the rest is pass overhead.
    expect(latency).to.be.within(10_000, 11_000);
  });

  it('a never-ready image → ProgressDeadlineExceeded; traffic never moved; green back to 0; Degraded', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    m.broken.add(B);
    const d = run(m);
    expect(d.phase).to.equal('Degraded');
    expect(d.state.failure).to.deep.include({ reason: 'ProgressDeadlineExceeded', step: 'Deploying', revision: B });
    expect(m.flips).to.deep.equal([]);
    expect(m.selector).to.equal('blue');
    expect(coloursUp(m)).to.deep.equal(['blue']);
    expect(reasons(m)).to.deep.equal(['Adopted', 'RolloutStarted', 'Aborted', 'ScaledDown']);
    expect(d.conditions.find((c) => c.type === 'Degraded')).to.deep.include({ status: 'True', reason: 'ProgressDeadlineExceeded' });
  });

  it('an unhealthy new version → PrePromotionAnalysisFailed; no flip', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    m.unhealthy.add(B);
    const d = run(m);
    expect(d.state.failure?.reason).to.equal('PrePromotionAnalysisFailed');
    expect(d.state.failure?.message).to.include('GET /health → 503');
    expect(m.flips).to.deep.equal([]);
    expect(coloursUp(m)).to.deep.equal(['blue']);
    expect(reasons(m)).to.deep.equal(['Adopted', 'RolloutStarted', 'PreviewAvailable', 'AnalysisFailed', 'Aborted', 'ScaledDown']);
  });

  it('a post-promotion failure puts traffic back on blue, which kept its size, and scales green down', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    // Healthy before the flip, failing after it.
    run(m, { until: (d) => d.state.step === 'PostPromotionAnalysis' });
    m.unhealthy.add(B);
    const d = run(m);
    expect(d.state.failure?.reason).to.equal('PostPromotionAnalysisFailed');
    expect(m.flips.map((f) => f.colour)).to.deep.equal(['green', 'blue']);
    expect(m.deployments.blue).to.deep.include({ revision: A, specReplicas: 3 });
    expect(coloursUp(m)).to.deep.equal(['blue']);
    expect(reasons(m)).to.include.members(['Promoted', 'AnalysisFailed', 'RolledBack', 'ScaledDown']);
    expect(m.violations).to.deep.equal([]);
  });

  it('the HPA holding 7 → green comes up with 7 before the flip, and the HPA follows traffic', () => {
    const m = clusterWithA(spec({ autoscaling: true }), 7);
    m.hpa = 7;
    rollOutB(m);
    let greenAtFlip: number | undefined;
    run(m, {
      until: (d, model) => {
        if (greenAtFlip === undefined && model.selector === 'green') greenAtFlip = model.deployments.green.readyReplicas;
        return d.state.step === 'Stable' && d.actions.length === 0;
      },
    });
    expect(greenAtFlip).to.equal(7);
    expect(m.autoscaler).to.equal('green');
    expect(coloursUp(m)).to.deep.equal(['green']);
    expect(m.violations).to.deep.equal([]);
  });

  it('autoPromotion false → Paused until promote, then the rollout completes', () => {
    const m = clusterWithA(spec({ autoPromotion: false }));
    rollOutB(m);
    const paused = run(m, { until: (d) => d.state.step === 'Paused' });
    expect(paused.phase).to.equal('Paused');
    m.now += 3_600_000;
    expect(reconcile(m).actions).to.deep.equal([]);
    expect(m.selector).to.equal('blue');
    give(m, 'promote');
    run(m);
    expect(m.selector).to.equal('green');
    inOrder(reasons(m), ['Paused', 'PromotionApproved', 'Promoted']);
  });

  it('abort during the checks → traffic stays on blue, green to 0, Degraded; retry rolls it out again', () => {
    const m = clusterWithA(spec({ pre: { count: 10 } }));
    rollOutB(m);
    run(m, { until: (d) => d.state.step === 'PrePromotionAnalysis' });
    give(m, 'abort');
    const aborted = run(m);
    expect(aborted.state).to.deep.include({ step: 'Degraded', failedRevision: B });
    expect(aborted.state.failure?.reason).to.equal('AbortedByUser');
    expect(coloursUp(m)).to.deep.equal(['blue']);
    // Not retried by itself…
    m.now += 3_600_000;
    expect(reconcile(m).state.step).to.equal('Degraded');
    // …until retry.
    give(m, 'retry');
    const done = run(m);
    expect(done.state).to.deep.include({ step: 'Stable', active: GREEN_B });
    expect(done.state.failure).to.equal(undefined);
    inOrder(reasons(m), ['Aborted', 'ScaledDown', 'Retried', 'RolloutStarted', 'Promoted']);
  });

  it('retry of a revision that is still broken fails the same way again; a fixed spec then rolls out', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    m.broken.add(B);
    run(m);
    give(m, 'retry');
    const again = run(m);
    expect(again.state.failure?.reason).to.equal('ProgressDeadlineExceeded');
    expect(reasons(m).filter((r) => r === 'Aborted')).to.have.length(2);
    m.desired = C;
    const fixed = run(m);
    expect(fixed.state).to.deep.include({ step: 'Stable' });
    expect(fixed.state.active?.revision).to.equal(C);
  });

  it('a spec change mid-rollout supersedes it: the newer revision goes to green, blue is never touched, B never serves', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    run(m, { until: (d) => d.state.step === 'PrePromotionAnalysis' });
    m.desired = C;
    const d = run(m);
    expect(d.state.active).to.deep.equal({ color: 'green', revision: C, image: image(C) });
    expect(m.flips).to.deep.equal([{ at: m.flips[0]!.at, colour: 'green' }]);
    expect(m.violations).to.deep.equal([]);
    expect(reasons(m).filter((r) => r === 'RolloutStarted')).to.have.length(2);
  });

  it('a spec change after the flip waits for the post-promotion checks, then takes the old colour', () => {
    const m = clusterWithA(spec());
    rollOutB(m);
    run(m, { until: (d) => d.state.step === 'PostPromotionAnalysis' });
    m.desired = C;
    const d = run(m);
    expect(d.state.active).to.deep.equal({ color: 'blue', revision: C, image: image(C) });
    expect(m.flips.map((f) => f.colour)).to.deep.equal(['green', 'blue']);
    inOrder(reasons(m), ['Promoted', 'AnalysisPassed', 'RolloutStarted', 'Promoted']);
    expect(coloursUp(m)).to.deep.equal(['blue']);
  });

  it('the first revision of a new AuthService comes up on blue and takes traffic', () => {
    const m = emptyCluster(spec({ autoscaling: true }));
    const d = run(m);
    expect(d.state).to.deep.include({ step: 'Stable', active: BLUE_A });
    expect(m.selector).to.equal('blue');
    expect(m.autoscaler).to.equal('blue');
    expect(reasons(m)).to.deep.equal(['RolloutStarted', 'Promoted']);
  });

  describe('the operator killed at each pass of a rollout and restarted', () => {
    const scenarios: Array<{ name: string; setup: (m: ClusterModel) => void; end: (m: ClusterModel) => void }> = [
      {
        name: 'a successful rollout',
        setup: () => {},
        end: (m) => {
          expect(m.selector).to.equal('green');
          expect(coloursUp(m)).to.deep.equal(['green']);
        },
      },
      {
        name: 'a post-promotion rollback',
        setup: (m) => {
          run(m, { until: (d) => d.state.step === 'PostPromotionAnalysis' });
          m.unhealthy.add(B);
        },
        end: (m) => {
          expect(m.selector).to.equal('blue');
          expect(coloursUp(m)).to.deep.equal(['blue']);
        },
      },
      {
        name: 'a deadline abort',
        setup: (m) => m.broken.add(B),
        end: (m) => {
          expect(m.flips).to.deep.equal([]);
          expect(coloursUp(m)).to.deep.equal(['blue']);
        },
      },
    ];
    for (const scenario of scenarios) {
      const when = { beforeStatusWrite: 'before writing status', afterStatusWrite: 'after writing status', afterActionsBeforeStatusWrite: 'after acting, before writing status' } as const;
      for (const crash of ['beforeStatusWrite', 'afterStatusWrite', 'afterActionsBeforeStatusWrite'] as const) {
        it(`${scenario.name}, killed ${when[crash]}: same end, each step once`, () => {
          const clean = clusterWithA(spec());
          rollOutB(clean);
          scenario.setup(clean);
          run(clean);
          const passes = clean.passes;
          for (let k = 1; k <= passes; k++) {
            const m = clusterWithA(spec());
            rollOutB(m);
            scenario.setup(m);
            run(m, { crashAt: (i) => (i === k ? crash : undefined) });
            const label = `killed at pass ${k}`;
            scenario.end(m);
            expect(historyOf(m), label).to.deep.equal(historyOf(clean));
            expect(readRolloutStatus(m.status).state?.step, label).to.equal(readRolloutStatus(clean.status).state?.step);
            expect(m.violations, label).to.deep.equal([]);
            // Events of the killed pass may be lost, never doubled.
            for (const reason of new Set(reasons(clean))) {
              expect(reasons(m).filter((r) => r === reason).length, `${label}: ${reason}`).to.be.at.most(reasons(clean).filter((r) => r === reason).length);
            }
            // A measurement is repeated only when its result died with the operator.
            expect([...m.measurements.values()].every((n) => n <= 2), label).to.equal(true);
          }
        });
      }
    }
  });
});
