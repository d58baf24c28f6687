import { expect } from 'chai';
import { desiredColourService, desiredService } from '../../../operator/reconcile/service.js';
import { desiredServiceMonitor } from '../../../operator/reconcile/servicemonitor.js';
import { everyField, login } from '../api/fixtures.js';

/** Label-selector semantics: every matchLabels pair present, every Exists key present. */
function selects(selector: { matchLabels: Record<string, string>; matchExpressions: Array<{ key: string }> }, labels: Record<string, string> = {}) {
  return Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v) && selector.matchExpressions.every((e) => e.key in labels);
}

describe('desiredServiceMonitor', function () {
  const monitor = desiredServiceMonitor(login());

  it('scrapes /metrics on the http port every 30 s with a 10 s timeout, relabelling pod and node', function () {
    expect(monitor).to.deep.include({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' });
    expect(monitor?.metadata.name).to.equal('login');
    expect(monitor?.spec.endpoints).to.deep.equal([
      {
        port: 'http',
        path: '/metrics',
        interval: '30s',
        scrapeTimeout: '10s',
        relabelings: [
          { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
          { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' },
        ],
      },
    ]);
    expect(monitor?.spec.namespaceSelector).to.deep.equal({ matchNames: ['auth-service'] });
  });

  it('selects the two colour Services and not the stable one, so every pod is scraped exactly once', function () {
    const selector = monitor!.spec.selector;
    expect(selects(selector, desiredColourService(login(), 'blue').metadata?.labels)).to.equal(true);
    expect(selects(selector, desiredColourService(login(), 'green').metadata?.labels)).to.equal(true);
    expect(selects(selector, desiredService(login(), 'blue').metadata?.labels)).to.equal(false);
  });

  it('names the Prometheus job after the AuthService, whichever colour Service was scraped', function () {
    const jobLabel = monitor!.spec.jobLabel;
    expect(desiredColourService(login(), 'blue').metadata?.labels?.[jobLabel]).to.equal('login');
    expect(desiredColourService(login(), 'green').metadata?.labels?.[jobLabel]).to.equal('login');
  });

  it('uses the spec’s interval, timeout and extra labels (for a Prometheus selector)', function () {
    const m = desiredServiceMonitor(everyField());
    expect(m?.spec.endpoints[0]).to.deep.include({ interval: '15s', scrapeTimeout: '5s' });
    expect(m?.metadata.labels?.release).to.equal('kube-prometheus-stack');
    expect(m?.metadata.labels?.['app.kubernetes.io/instance']).to.equal('login');
  });

  it('is absent when spec.monitoring.serviceMonitor.enabled is false', function () {
    const auth = login();
    auth.spec.monitoring.serviceMonitor.enabled = false;
    expect(desiredServiceMonitor(auth)).to.equal(undefined);
  });
});
