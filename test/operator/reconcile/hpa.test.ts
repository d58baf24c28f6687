import { expect } from 'chai';
import { desiredHorizontalPodAutoscaler } from '../../../operator/reconcile/hpa.js';
import { everyField, login } from '../api/fixtures.js';

describe('desiredHorizontalPodAutoscaler', function () {
  it('scales the active colour’s Deployment between 3 and 50 replicas (autoscaling/v2)', function () {
    const hpa = desiredHorizontalPodAutoscaler(login(), 'green');
    expect(hpa).to.deep.include({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' });
    expect(hpa?.metadata?.name).to.equal('login');
    expect(hpa?.spec?.scaleTargetRef).to.deep.equal({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'login-green' });
    expect(hpa?.spec?.minReplicas).to.equal(3);
    expect(hpa?.spec?.maxReplicas).to.equal(50);
  });

  it('targets 70 % CPU, 80 % memory and 100 requests per second per pod', function () {
    expect(desiredHorizontalPodAutoscaler(login(), 'blue')?.spec?.metrics).to.deep.equal([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
    ]);
  });

  it('scales up fast and down slowly, as the guide sets it', function () {
    expect(desiredHorizontalPodAutoscaler(login(), 'blue')?.spec?.behavior).to.deep.equal({
      scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }] },
      scaleUp: {
        stabilizationWindowSeconds: 0,
        policies: [
          { type: 'Percent', value: 100, periodSeconds: 15 },
          { type: 'Pods', value: 4, periodSeconds: 15 },
        ],
        selectPolicy: 'Max',
      },
    });
  });

  it('follows the spec’s bounds and targets', function () {
    const spec = desiredHorizontalPodAutoscaler(everyField(), 'blue')?.spec;
    expect([spec?.minReplicas, spec?.maxReplicas]).to.deep.equal([4, 20]);
    expect(spec?.metrics?.map((m) => m.resource?.target.averageUtilization ?? m.pods?.target.averageValue)).to.deep.equal([60, 75, '150']);
  });

  it('leaves the request-rate metric out when requestsPerSecondPerPod is 0', function () {
    const auth = login();
    auth.spec.autoscaling.requestsPerSecondPerPod = 0;
    expect(desiredHorizontalPodAutoscaler(auth, 'blue')?.spec?.metrics?.map((m) => m.type)).to.deep.equal(['Resource', 'Resource']);
  });

  it('is absent when autoscaling is disabled', function () {
    const auth = login();
    auth.spec.autoscaling.enabled = false;
    expect(desiredHorizontalPodAutoscaler(auth, 'blue')).to.equal(undefined);
  });
});
