import { expect } from 'chai';
import { readRolloutStatus, writeRolloutStatus } from '../../../operator/rollout/persist.js';
import { S, t } from './world.js';

describe('operator/rollout/persist', () => {
  it('reads back every state it writes, unchanged', () => {
    const states = [S.stable(), S.firstDeploying(), S.deploying(), S.preAnalysis(), S.paused(), S.promoting(10), S.postAnalysis(), S.scalingDown(), S.abortedBeforeFlip(), S.rolledBack(), S.degraded()];
    for (const state of states) {
      const stored = JSON.parse(JSON.stringify(writeRolloutStatus(state))) as unknown;
      expect(readRolloutStatus(stored), state.step).to.deep.equal({ state, commands: {} });
    }
  });

  it('never writes commands: they belong to the CLI', () => {
    const written = writeRolloutStatus({ ...S.stable(), acknowledged: { promote: t(1) } });
    expect(written).to.not.have.property('commands');
    expect(written.acknowledged).to.deep.equal({ promote: t(1) });
  });

  it('drops undefined members instead of writing them', () => {
    expect(writeRolloutStatus({ ...S.stable(), preview: undefined })).to.not.have.property('preview');
  });

  it('treats a missing or empty status.rollout as no state', () => {
    for (const raw of [undefined, null, 'x', [], {}]) expect(readRolloutStatus(raw)).to.deep.equal({ commands: {} });
  });

  it('reads commands the CLI wrote before the operator wrote any state', () => {
    expect(readRolloutStatus({ commands: { promote: t(3) } })).to.deep.equal({ commands: { promote: t(3) } });
  });

  it('reads the commands next to a state', () => {
    const read = readRolloutStatus({ ...writeRolloutStatus(S.paused()), commands: { promote: t(500), retry: t(1) } });
    expect(read.commands).to.deep.equal({ promote: t(500), retry: t(1) });
    expect(read.state?.step).to.equal('Paused');
  });

  it('refuses a state with a wrong field and says where, so the engine adopts what runs instead', () => {
    const bad = { ...writeRolloutStatus(S.deploying()), preview: { color: 'purple', revision: 'x', image: 'y' } };
    const read = readRolloutStatus(bad);
    expect(read.state).to.equal(undefined);
    expect(read.problem).to.match(/^status\.rollout\.preview\.color: /);
  });

  it('refuses a state that lacks what its step needs', () => {
    const { previous: _previous, ...rest } = S.scalingDown();
    expect(readRolloutStatus(writeRolloutStatus(rest))).to.deep.include({ problem: 'status.rollout: step ScalingDown needs previous' });
    expect(readRolloutStatus({ step: 'Promoted' }).problem).to.match(/^status\.rollout\.step: /);
    expect(readRolloutStatus({ ...writeRolloutStatus(S.stable()), stepStartedAt: 'yesterday' }).problem).to.equal('status.rollout.stepStartedAt: must be an RFC 3339 time');
  });

  it('fills history, milestones and acknowledged when an older writer left them out', () => {
    const read = readRolloutStatus({ step: 'Stable', active: { color: 'blue', revision: 'r', image: 'i' } });
    expect(read.state).to.deep.equal({ step: 'Stable', active: { color: 'blue', revision: 'r', image: 'i' }, milestones: {}, acknowledged: {}, history: [] });
  });
});
