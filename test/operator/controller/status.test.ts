import { expect } from 'chai';
import type { AuthServiceStatus } from '../../../operator/api/types.js';
import { onlyProgress, ownStatus } from '../../../operator/controller/status.js';

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
