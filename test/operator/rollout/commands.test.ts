import { expect } from 'chai';
import { commandPatch, commandVerdict, pendingCommands } from '../../../operator/rollout/commands.js';
import { nextRollout } from '../../../operator/rollout/engine.js';
import type { RolloutCommand, RolloutState } from '../../../operator/rollout/state.js';
import { A, B, S, at, observe, partly, spec, t, up } from './world.js';

const STATES: Array<[string, RolloutState, Parameters<typeof observe>[0]]> = [
  ['Stable', S.stable(), { blue: up(A), selector: 'blue' }],
  ['first Deploying', S.firstDeploying(), { blue: partly(A, 3, 1) }],
  ['first Deploying past its deadline', S.firstDeploying({ failure: { step: 'Deploying', reason: 'ProgressDeadlineExceeded', message: 'x', revision: A, at: t(600) } }), { blue: partly(A, 3, 0) }],
  ['Deploying', S.deploying(), { desired: B, blue: up(A), green: partly(B, 3, 1), selector: 'blue' }],
  ['PrePromotionAnalysis', S.preAnalysis(), { desired: B, blue: up(A), green: up(B), selector: 'blue' }],
  ['Paused', S.paused(), { desired: B, blue: up(A), green: up(B), selector: 'blue' }],
  ['Promoting', S.promoting(900), { desired: B, blue: up(A), green: up(B), selector: 'blue' }],
  ['PostPromotionAnalysis', S.postAnalysis(), { desired: B, blue: up(A), green: up(B), selector: 'green' }],
  ['ScalingDown', S.scalingDown(), { desired: B, blue: up(A), green: up(B), selector: 'green' }],
  ['Aborted', S.abortedBeforeFlip(), { desired: B, blue: up(A), green: partly(B, 3, 1), selector: 'blue' }],
  ['Degraded', S.degraded(), { desired: B, blue: up(A), green: up(B, 0), selector: 'blue' }],
];

const ACCEPTED: Record<string, RolloutCommand[]> = {
  Stable: [],
  'first Deploying': [],
  'first Deploying past its deadline': ['retry'],
  Deploying: ['promote', 'abort'],
  PrePromotionAnalysis: ['promote', 'abort'],
  Paused: ['promote', 'abort'],
  Promoting: ['promote', 'abort'],
  PostPromotionAnalysis: ['abort'],
  ScalingDown: ['abort'],
  Aborted: ['retry'],
  Degraded: ['retry'],
};

describe('operator/rollout/commands', () => {
  it('builds the status merge patch the CLI sends', () => {
    expect(commandPatch('promote', at(5))).to.deep.equal({ status: { rollout: { commands: { promote: '2026-03-01T12:00:05.000Z' } } } });
  });

  for (const [name, state, seen] of STATES) {
    it(`${name}: accepts ${ACCEPTED[name]!.join(' and ') || 'no command'}, and the engine does exactly what the verdict says`, () => {
      for (const command of ['promote', 'abort', 'retry'] as const) {
        const verdict = commandVerdict(command, state, spec({ autoPromotion: false }));
        expect(verdict.accepted, `${command}: ${verdict.message}`).to.equal(ACCEPTED[name]!.includes(command));
        expect(verdict.message).to.match(/\S.*\.$/);
        const d = nextRollout({ spec: spec({ autoPromotion: false }), state, commands: { [command]: t(2000) }, observed: observe(seen), now: at(2000) });
        const ignored = d.events.filter((e) => e.reason === 'CommandIgnored');
        expect(ignored.length, `${command} in ${name}`).to.equal(verdict.accepted ? 0 : 1);
        if (!verdict.accepted) expect(ignored[0]!.message).to.equal(`${command}: ${verdict.message}`);
        // Accepted, it acts: an event of what it did, or (an early promote) the gate it opens.
        const acted = d.events.some((e) => e.reason !== 'CommandIgnored') || (command === 'promote' && d.state.promoteApproved === true);
        if (verdict.accepted) expect(acted, `${command} in ${name}: ${d.events.map((e) => e.reason).join(', ')}`).to.equal(true);
      }
    });
  }

  it('says what promote does when paused, and what an early promote means', () => {
    expect(commandVerdict('promote', S.paused(), spec()).message).to.equal(
      'green (revision bbbb000002) takes traffic from blue as soon as every one of its replicas is ready, then the post-promotion checks run; blue scales to 0 30 s after that.',
    );
    expect(commandVerdict('promote', S.deploying(), spec()).message).to.include('will not pause');
    expect(commandVerdict('abort', S.postAnalysis(), spec()).message).to.include('Traffic goes back to blue');
    expect(commandVerdict('promote', undefined, spec()).accepted).to.equal(false);
  });

  it('lists the commands given but not yet acted on', () => {
    const state = { ...S.paused(), acknowledged: { abort: t(1) } };
    expect(pendingCommands({ promote: t(2), abort: t(1) }, state)).to.deep.equal(['promote']);
    expect(pendingCommands({ retry: t(3) }, undefined)).to.deep.equal(['retry']);
  });
});
