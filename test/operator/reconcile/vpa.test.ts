import { expect } from 'chai';
import { desiredVerticalPodAutoscaler } from '../../../operator/reconcile/vpa.js';
import { login } from '../api/fixtures.js';

describe('desiredVerticalPodAutoscaler', function () {
  it('is absent unless spec.verticalAutoscaling.enabled (off by default)', function () {
    expect(desiredVerticalPodAutoscaler(login(), 'blue')).to.equal(undefined);
  });

  it('resizes the active colour’s auth-service container between the guide’s bounds', function () {
    const auth = login();
    auth.spec.verticalAutoscaling.enabled = true;
    auth.spec.autoscaling.enabled = false;
    expect(desiredVerticalPodAutoscaler(auth, 'green')).to.deep.include({
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'login-green' },
        updatePolicy: { updateMode: 'Auto' },
        resourcePolicy: {
          containerPolicies: [
            {
              containerName: 'auth-service',
              minAllowed: { cpu: '50m', memory: '32Mi' },
              maxAllowed: { cpu: '1', memory: '512Mi' },
              controlledResources: ['cpu', 'memory'],
            },
          ],
        },
      },
    });
    expect(desiredVerticalPodAutoscaler(auth, 'green')?.metadata.name).to.equal('login');
  });
});
