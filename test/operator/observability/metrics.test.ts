import { expect } from 'chai';
import { PHASES, type AuthService } from '../../../operator/api/types.js';
import { createKubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { createOperatorMetrics, reconcileResultOf } from '../../../operator/observability/metrics.js';
import { createNamespace, kubeConfigFrom, sharedControlPlane } from '../../support/cluster.js';

/** The value of one sample line in the exposition text, e.g. `keyward_operator_reconcile_total{result="error"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('operator/observability/metrics', () => {
  it('exposes every operator series from the start, at zero, with the default process metrics', async () => {
    const { registry } = createOperatorMetrics();
    const text = await registry.metrics();
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(sample(text, `keyward_operator_reconcile_total{result="${result}"}`)).to.equal(0);
    }
    for (const verb of ['create', 'update', 'patch', 'delete']) expect(sample(text, `keyward_operator_api_writes_total{verb="${verb}"}`)).to.equal(0);
    expect(sample(text, 'keyward_operator_reconcile_errors_total')).to.equal(0);
    expect(sample(text, 'keyward_operator_reconcile_duration_seconds_count')).to.equal(0);
    expect(sample(text, 'keyward_operator_queue_depth')).to.equal(0);
    expect(sample(text, 'keyward_operator_leader')).to.equal(0);
    expect(text).to.include('# TYPE keyward_operator_watch_restarts_total counter');
    expect(text).to.include('# TYPE keyward_operator_reconcile_duration_seconds histogram');
    // Per AuthService, so without any there is no series, only its type.
    expect(text).to.include('# TYPE keyward_operator_rollout_phase gauge');
    expect(sample(text, 'process_cpu_seconds_total')).to.be.a('number');
    expect(text).to.include('nodejs_eventloop_lag_seconds');
  });

  it('counts a pass that asked to be looked at again after a while as requeue_after, as controller-runtime does; an invalid spec as an error', () => {
    expect(reconcileResultOf('success', false)).to.equal('success');
    expect(reconcileResultOf('success', true), 'a rollout waiting on a deadline or a measurement').to.equal('requeue_after');
    expect(reconcileResultOf('invalid', false)).to.equal('error');
    expect(reconcileResultOf('error', false)).to.equal('error');
  });

  it('records a reconcile by result and duration, and an error as an error', async () => {
    const metrics = createOperatorMetrics();
    metrics.recordReconcile('success', 0.02);
    metrics.recordReconcile('success', 0.03);
    metrics.recordReconcile('error', 1.5);
    metrics.recordReconcile('requeue_after', 0.01);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'keyward_operator_reconcile_total{result="success"}')).to.equal(2);
    expect(sample(text, 'keyward_operator_reconcile_total{result="error"}')).to.equal(1);
    expect(sample(text, 'keyward_operator_reconcile_total{result="requeue_after"}')).to.equal(1);
    expect(sample(text, 'keyward_operator_reconcile_errors_total')).to.equal(1);
    expect(sample(text, 'keyward_operator_reconcile_duration_seconds_count')).to.equal(4);
    expect(sample(text, 'keyward_operator_reconcile_duration_seconds_sum')).to.be.closeTo(1.56, 1e-9);
    expect(sample(text, 'keyward_operator_reconcile_duration_seconds_bucket{le="0.025"}')).to.equal(2);
    expect(sample(text, 'keyward_operator_reconcile_duration_seconds_bucket{le="2.5"}')).to.equal(4);
  });

  it('reads the queue depth and leadership on scrape when given sources, and takes direct updates otherwise', async () => {
    let depth = 7;
    let leading = true;
    const withSources = createOperatorMetrics({ queueDepth: () => depth, isLeader: () => leading });
    let text = await withSources.registry.metrics();
    expect(sample(text, 'keyward_operator_queue_depth')).to.equal(7);
    expect(sample(text, 'keyward_operator_leader')).to.equal(1);
    depth = 0;
    leading = false;
    text = await withSources.registry.metrics();
    expect(sample(text, 'keyward_operator_queue_depth')).to.equal(0);
    expect(sample(text, 'keyward_operator_leader')).to.equal(0);

    const direct = createOperatorMetrics();
    direct.queueDepth.set(3);
    direct.leader.set(1);
    direct.watchRestarts.inc({ kind: 'Deployment' });
    direct.watchRestarts.inc({ kind: 'Deployment' });
    text = await direct.registry.metrics();
    expect(sample(text, 'keyward_operator_queue_depth')).to.equal(3);
    expect(sample(text, 'keyward_operator_leader')).to.equal(1);
    expect(sample(text, 'keyward_operator_watch_restarts_total{kind="Deployment"}')).to.equal(2);
  });

  it('reports each AuthService’s phase as 1 and its other phases as 0, read on scrape, and forgets an AuthService that is gone', async () => {
    type Listed = Pick<AuthService, 'metadata' | 'status'>;
    let listed: Listed[] = [
      { metadata: { namespace: 'auth', name: 'login' }, status: { phase: 'Healthy' } },
      { metadata: { namespace: 'auth', name: 'admin' }, status: { phase: 'Paused' } },
      { metadata: { namespace: 'other', name: 'new' } },
    ];
    const metrics = createOperatorMetrics({ authServices: () => listed });
    const phase = (text: string, namespace: string, name: string, p: string) =>
      sample(text, `keyward_operator_rollout_phase{namespace="${namespace}",name="${name}",phase="${p}"}`);
    let text = await metrics.registry.metrics();
    for (const p of PHASES) {
      expect(phase(text, 'auth', 'login', p), `login ${p}`).to.equal(p === 'Healthy' ? 1 : 0);
      expect(phase(text, 'auth', 'admin', p), `admin ${p}`).to.equal(p === 'Paused' ? 1 : 0);
      // No status yet: the AuthService is there, in no phase.
      expect(phase(text, 'other', 'new', p), `new ${p}`).to.equal(0);
    }

    listed = [{ metadata: { namespace: 'auth', name: 'login' }, status: { phase: 'Progressing' } }];
    text = await metrics.registry.metrics();
    expect(phase(text, 'auth', 'login', 'Progressing')).to.equal(1);
    expect(phase(text, 'auth', 'login', 'Healthy')).to.equal(0);
    expect(text).not.to.include('name="admin"');
    expect(text).not.to.include('name="new"');
  });

  it('keeps two operators in one process apart: each factory has its own registry', async () => {
    const one = createOperatorMetrics();
    const two = createOperatorMetrics();
    one.recordReconcile('success', 0.1);
    expect(sample(await two.registry.metrics(), 'keyward_operator_reconcile_total{result="success"}')).to.equal(0);
  });

  describe('as the kube client write counter, against a real kube-apiserver', function () {
    this.timeout(120_000);

    it('counts creates, patches, updates and deletes by verb, and not reads', async () => {
      const metrics = createOperatorMetrics();
      const plane = await sharedControlPlane();
      const client = await createKubeClient(kubeConfigFrom(plane.kubeconfigPath), { onWrite: metrics.countWrite });
      const namespace = await createNamespace(client, 'metrics');
      const path = `/api/v1/namespaces/${namespace}/configmaps`;
      const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'counted', namespace }, data: { a: '1' } };
      await client.apply(cm);
      await client.apply({ ...cm, data: { a: '2' } });
      const live = await client.get<KubeObject>(`${path}/counted`);
      await client.request('PUT', `${path}/counted`, { body: { ...live, data: { a: '3' } } });
      await client.list(path);
      await client.delete(`${path}/counted`);

      const text = await metrics.registry.metrics();
      expect(sample(text, 'keyward_operator_api_writes_total{verb="create"}')).to.equal(1); // the namespace
      expect(sample(text, 'keyward_operator_api_writes_total{verb="patch"}')).to.equal(2);
      expect(sample(text, 'keyward_operator_api_writes_total{verb="update"}')).to.equal(1);
      expect(sample(text, 'keyward_operator_api_writes_total{verb="delete"}')).to.equal(1);
      expect(client.writes).to.equal(5);
    });
  });
});
