import { expect } from 'chai';
import { desiredPodDisruptionBudget } from '../../../operator/reconcile/pdb.js';
import { login } from '../api/fixtures.js';

describe('desiredPodDisruptionBudget', function () {
  it('keeps a majority of the serving colour\'s pods through a drain', function () {
    const pdb = desiredPodDisruptionBudget(login(), 'blue');
    expect(pdb).to.deep.include({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' });
    expect(pdb.metadata?.name).to.equal('login');
    expect(pdb.spec?.minAvailable).to.equal('51%');
    expect(pdb.spec?.selector?.matchLabels).to.deep.equal({
      'app.kubernetes.io/name': 'keyward-auth',
      'app.kubernetes.io/instance': 'login',
      'app.kubernetes.io/component': 'auth-service',
      'auth.keyward.dev/color': 'blue',
    });
    // It follows traffic: preview pods, ready or not, never make up the serving colour's majority.
    expect(desiredPodDisruptionBudget(login(), 'green').spec?.selector?.matchLabels?.['auth.keyward.dev/color']).to.equal('green');
  });

  it('never blocks the eviction of pods that are not ready', function () {
    expect(desiredPodDisruptionBudget(login(), 'blue').spec?.unhealthyPodEvictionPolicy).to.equal('AlwaysAllow');
  });

  it('allows one eviction at a time when the service may run one or two replicas, where a majority would block drains forever', function () {
    // Kubernetes rounds a percentage minAvailable up: 51 % of 2 is 2, and of 1 is 1.
    const budgets = [
      { autoscaling: false, replicas: 1 },
      { autoscaling: false, replicas: 2 },
      { autoscaling: true, replicas: 2 },
      { autoscaling: false, replicas: 3 },
      { autoscaling: true, replicas: 3 },
    ].map(({ autoscaling, replicas }) => {
      const auth = login();
      auth.spec.autoscaling.enabled = autoscaling;
      if (autoscaling) auth.spec.autoscaling.minReplicas = replicas;
      else auth.spec.replicas = replicas;
      const spec = desiredPodDisruptionBudget(auth, 'blue').spec!;
      return `${autoscaling ? 'HPA floor' : 'replicas'} ${replicas}: ${spec.minAvailable !== undefined ? `minAvailable ${spec.minAvailable}` : `maxUnavailable ${spec.maxUnavailable}`}`;
    });
    expect(budgets).to.deep.equal([
      'replicas 1: maxUnavailable 1',
      'replicas 2: maxUnavailable 1',
      'HPA floor 2: maxUnavailable 1',
      'replicas 3: minAvailable 51%',
      'HPA floor 3: minAvailable 51%',
    ]);
  });
});
