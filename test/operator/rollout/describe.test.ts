import { expect } from 'chai';
import { describeRollout, formatRolloutDescription, whatHappensNext } from '../../../operator/rollout/describe.js';
import { readRolloutStatus } from '../../../operator/rollout/persist.js';
import { ROLLOUT_STEPS } from '../../../operator/rollout/state.js';
import { clusterWithA, run } from './cluster-model.js';
import { B, S, spec, t } from './world.js';

const statuses = (d: ReturnType<typeof describeRollout>): string[] => d.steps.map((s) => `${s.status} ${s.name}`);

describe('operator/rollout/describe', () => {
  it('lists every step of a finished rollout as done, with its time', () => {
    const m = clusterWithA(spec());
    run(m);
    m.desired = B;
    run(m);
    const d = describeRollout(readRolloutStatus(m.status).state, spec());
    expect(d.step).to.equal('Stable');
    expect(d.headline).to.equal(`Stable: revision ${B} serves on green.`);
    expect(statuses(d)).to.deep.equal([
      `done Deploy revision ${B} on green`,
      'done Pre-promotion analysis',
      'done Promotion gate',
      'done Traffic to green',
      'done Post-promotion analysis',
      'done Scale blue to 0',
    ]);
    expect(d.steps.every((s) => s.at !== undefined)).to.equal(true);
    expect(d.history.map((h) => h.reason)).to.include.members(['RolloutStarted', 'Promoted', 'ScaledDown']);
  });

  it('shows a paused rollout waiting at the gate', () => {
    const d = describeRollout(S.paused(), spec({ autoPromotion: false }));
    expect(statuses(d)).to.deep.equal([
      `done Deploy revision ${B} on green`,
      'done Pre-promotion analysis',
      'current Promotion gate',
      'pending Traffic to green',
      'pending Post-promotion analysis',
      'pending Scale blue to 0',
    ]);
    expect(d.steps[2]!.detail).to.equal('waiting for promote');
    expect(d.next).to.match(/^Waiting for promote/);
  });

  it('marks the failed step, skips the rest and adds the rollback', () => {
    const d = describeRollout(S.degraded(), spec());
    expect(statuses(d)[0]).to.equal(`failed Deploy revision ${B} on green`);
    expect(d.steps[0]).to.deep.include({ at: t(600), detail: 'ProgressDeadlineExceeded: green: 1/3 available after 600 s' });
    expect(d.steps.slice(1, 6).every((s) => s.status === 'skipped')).to.equal(true);
    expect(d.steps[6]).to.deep.include({ name: 'Roll back: traffic on blue, green to 0', status: 'done', at: t(630) });
  });

  it('shows the measurements of a running analysis', () => {
    const d = describeRollout(S.preAnalysis({ successes: 1, measurement: 2, dueAt: t(105), lastMessage: 'GET /health → 200' }), spec());
    expect(d.steps[1]).to.deep.equal({ name: 'Pre-promotion analysis', status: 'current', at: t(105), detail: '1 passed, 0 failed; measurement 2 due; last: GET /health → 200' });
  });

  it('marks analysis the spec does not ask for as skipped', () => {
    const d = describeRollout(S.promoting(130, { milestones: { started: t(0), previewAvailable: t(100) } }), spec({ pre: null }));
    expect(d.steps[1]!.status).to.equal('skipped');
    expect(d.steps[3]).to.deep.include({ status: 'current', at: t(130) });
  });

  it('describes the first deploy on its own', () => {
    expect(statuses(describeRollout(S.firstDeploying(), spec()))).to.deep.equal(['current Deploy the first revision aaaa000001 on blue', 'pending Traffic to blue']);
    expect(describeRollout(undefined).headline).to.equal('The operator has not started on this AuthService yet.');
  });

  it('says what happens next in every step', () => {
    const byStep = { Stable: S.stable(), Deploying: S.deploying(), PrePromotionAnalysis: S.preAnalysis(), Paused: S.paused(), Promoting: S.promoting(130), PostPromotionAnalysis: S.postAnalysis(), ScalingDown: S.scalingDown(), Aborted: S.abortedBeforeFlip(), Degraded: S.degraded() };
    for (const step of ROLLOUT_STEPS) {
      const next = whatHappensNext(byStep[step], spec());
      expect(next, step).to.match(/^\S.*\.$/);
      expect(next, step).to.not.include('undefined');
    }
    expect(whatHappensNext(S.deploying(), spec())).to.equal(
      'Once every replica of green is available, the pre-promotion checks run, then traffic moves to green. If that takes longer than 600 s, the rollout aborts and traffic stays on blue.',
    );
  });

  it('formats a description as lines for the terminal', () => {
    const text = formatRolloutDescription(describeRollout(S.paused(), spec()));
    expect(text.split('\n').slice(0, 5)).to.deep.equal([
      `Paused: revision ${B} on green waits for promote; traffic on blue (revision aaaa000001).`,
      '',
      `  ✔ Deploy revision ${B} on green  ${t(100)}`,
      `  ✔ Pre-promotion analysis  ${t(120)}`,
      '  ▶ Promotion gate  (waiting for promote)',
    ]);
    expect(text).to.include('Next: Waiting for promote');
  });
});
