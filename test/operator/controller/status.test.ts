import { expect } from 'chai';
import type { AuthServiceStatus } from '../../../operator/api/types.js';
import { desiredStatus, onlyProgress, ownStatus, type RolloutView, type StatusFacts } from '../../../operator/controller/status.js';

const deploying = (ready: number): AuthServiceStatus => ({
  observedGeneration: 1,
  phase: 'Pending',
  replicas: 3,
  readyReplicas: ready,
  readyText: `${ready}/3`,
  rollout: { step: 'Deploying', stepStartedAt: '2026-11-28T18:00:00.000Z' },
  conditions: [
    { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: `${ready}/3 replicas of the blue colour are ready.`, observedGeneration: 1, lastTransitionTime: '2026-11-28T18:00:00.000Z' },
    { type: 'Progressing', status: 'True', reason: 'DeployingFirstRevision', message: `Deploying: blue: ${ready}/3 available`, observedGeneration: 1, lastTransitionTime: '2026-11-28T18:00:00.000Z' },
  ],
});

describe('status: onlyProgress', () => {
  it('holds for ready counts and condition wording that moved while everything else stayed', () => {
    expect(onlyProgress(deploying(1), deploying(2))).to.equal(true);
  });

  it('does not hold for a first status', () => {
    expect(onlyProgress(undefined, deploying(0))).to.equal(false);
  });

  it('does not hold when a condition changes status or reason, the phase moves, or the rollout state moves', () => {
    const ready = deploying(3);
    ready.conditions![0] = { ...ready.conditions![0]!, status: 'True', reason: 'AllReplicasReady' };
    expect(onlyProgress(deploying(2), ready), 'Ready turned True').to.equal(false);
    expect(onlyProgress(deploying(2), { ...deploying(3), phase: 'Healthy' }), 'phase').to.equal(false);
    expect(onlyProgress(deploying(2), { ...deploying(3), rollout: { step: 'PrePromotionAnalysis' } }), 'rollout step').to.equal(false);
    expect(onlyProgress(deploying(2), { ...deploying(3), replicas: 7 }), 'desired replicas').to.equal(false);
    expect(onlyProgress(deploying(2), { ...deploying(3), conditions: deploying(3).conditions!.slice(1) }), 'a condition gone').to.equal(false);
  });
});

describe('status: ownStatus', () => {
  it("leaves out the CLI's commands, and nothing else, from the live status it compares with", () => {
    const live: AuthServiceStatus = { ...deploying(3), rollout: { step: 'Stable', commands: { abort: '2026-11-28T18:01:00.000Z' } } };
    expect(ownStatus(live)).to.deep.equal({ ...deploying(3), rollout: { step: 'Stable' } });
    expect(ownStatus(deploying(3))).to.deep.equal(deploying(3));
    expect(ownStatus(undefined)).to.equal(undefined);
  });
});

describe('status: desiredStatus', () => {
  const facts = (ready: number, desired = 3): StatusFacts => ({
    generation: 2,
    activeColour: 'blue',
    active: { exists: true, specReplicas: desired, statusReplicas: desired, updatedReplicas: desired, readyReplicas: ready, availableReplicas: ready, generationObserved: true, desiredReplicas: desired },
    missingSecrets: [],
    features: { VerticalPodAutoscaler: { state: 'disabled' }, ServiceMonitor: { state: 'disabled' }, PrometheusRule: { state: 'disabled' } },
  });
  const atRest: RolloutView = {
    phase: 'Healthy',
    conditions: [{ type: 'Progressing', status: 'False', reason: 'Stable', message: 'blue serves revision abc.' }],
    summary: { activeColor: 'blue' },
    rollout: { step: 'Stable' },
  };
  const now = '2026-11-29T05:00:00.000Z';
  const shown = (status: AuthServiceStatus): string[] => [status.phase!, ...(status.conditions ?? []).filter((c) => c.type === 'Ready' || c.type === 'Degraded').map((c) => `${c.type}=${c.status} ${c.reason}`)];

  it('is Degraded (NoReplicaReady), not Healthy, when no pod of the serving colour is ready at rest', () => {
    expect(shown(desiredStatus(facts(0), atRest, undefined, now))).to.deep.equal(['Degraded', 'Ready=False ReplicasNotReady', 'Degraded=True NoReplicaReady']);
  });

  it('stays Healthy while some pods are ready (a scale-up, a drain), Ready=False saying how many', () => {
    expect(shown(desiredStatus(facts(2), atRest, undefined, now))).to.deep.equal(['Healthy', 'Ready=False ReplicasNotReady', 'Degraded=False AsExpected']);
    expect(shown(desiredStatus(facts(3), atRest, undefined, now))).to.deep.equal(['Healthy', 'Ready=True AllReplicasReady', 'Degraded=False AsExpected']);
  });

  it('keeps the rollout\'s own failure in the message when an apply failure takes the Degraded condition', () => {
    const rolledBack: RolloutView = {
      ...atRest,
      phase: 'Degraded',
      conditions: [{ type: 'Degraded', status: 'True', reason: 'PostPromotionAnalysisFailed', message: 'green failed its checks; traffic is back on blue.' }],
    };
    const failing = { ...facts(3), applyError: { kind: 'CronJob', name: 'login-backup', message: 'refused by policy' } };
    const degraded = desiredStatus(failing, rolledBack, undefined, now).conditions?.find((c) => c.type === 'Degraded');
    expect(degraded).to.include({ status: 'True', reason: 'ApplyFailed' });
    expect(degraded?.message).to.equal(
      'Applying CronJob login-backup failed: refused by policy; the rollout is degraded too (PostPromotionAnalysisFailed): green failed its checks; traffic is back on blue.',
    );
  });

  it('leaves a rollout in progress to say how it goes: unready pods of a first deploy are no failure yet', () => {
    const deployingView: RolloutView = { ...atRest, phase: 'Progressing', conditions: [{ type: 'Progressing', status: 'True', reason: 'DeployingFirstRevision', message: 'Deploying' }] };
    expect(shown(desiredStatus(facts(0), deployingView, undefined, now))[0]).to.equal('Progressing');
  });
});
