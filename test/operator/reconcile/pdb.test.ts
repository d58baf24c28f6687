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

  it('allows one eviction when the service may run a single replica, instead of blocking drains forever', function () {
    const auth = login();
    auth.spec.autoscaling.enabled = false;
    auth.spec.replicas = 1;
    const spec = desiredPodDisruptionBudget(auth, 'blue').spec;
    expect(spec?.maxUnavailable).to.equal(1);
    expect(spec).not.to.have.property('minAvailable');
  });
});
