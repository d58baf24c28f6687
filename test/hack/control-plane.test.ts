// The local control plane the other suites run against: real etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok processes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
  makeInformer,
  type V1ConfigMap,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { expect } from 'chai';
import { locateBinaries, locateKubectl } from '../../hack/cluster/binaries.js';
import { type ControlPlane, startControlPlane } from '../../hack/cluster/control-plane.js';
import { freePorts } from '../../hack/cluster/ports.js';
import { isAlive } from '../../hack/cluster/process.js';
import { eventually } from '../support/eventually.js';

const statusCode = (err: unknown) => (err as { code?: number }).code;

function deployment(name: string, image: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('hack/cluster control plane', function () {
  // Budgets sized for a shared, slow 2-core machine; typical runs take a fraction.
  this.timeout(90_000);

  let plane: ControlPlane;
  let dir: string;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  async function freshNamespace(prefix: string): Promise<string> {
    const ns = await core.createNamespace({ body: { metadata: { generateName: `${prefix}-` } } });
    const name = ns.metadata?.name ?? '';
    // The controller-manager creates each namespace's default ServiceAccount; pods are refused until it exists.
    await eventually(`ServiceAccount ${name}/default`, () => core.readNamespacedServiceAccount({ name: 'default', namespace: name }));
    return name;
  }

  before(async function () {
    // Up to 90 s per component if the machine is crowded; ~4 s when it is not.
    this.timeout(240_000);
    try {
      locateBinaries();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n(CI runs the build before the tests.)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'keyward-control-plane-'));
    const started = Date.now();
    plane = await startControlPlane({ dir, nodes: 2 });
    console.log(`      control plane started in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  after(async function () {
    this.timeout(60_000);
    await plane?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves Kubernetes v1.34 over TLS to the admin kubeconfig', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).to.match(/^v1\.34\.\d+$/);
    expect(version.major).to.equal('1');
    expect(version.minor).to.equal('34');
  });

  it('comes with a kubectl of its own minor version, inside the skew kubectl supports', () => {
    const out = execFileSync(locateKubectl(), ['version', '--kubeconfig', plane.kubeconfigPath, '-o', 'json'], { encoding: 'utf8' });
    const { clientVersion, serverVersion } = JSON.parse(out) as Record<'clientVersion' | 'serverVersion', { major: string; minor: string }>;
    expect(clientVersion).to.include({ major: '1', minor: serverVersion.minor });
  });

  it('brings a Deployment in a new namespace to Available with every replica ready', async () => {
    const namespace = await freshNamespace('available');
    await apps.createNamespacedDeployment({ namespace, body: deployment('hello', 'example/hello:1.0', 3) });
    const ready = await eventually('Deployment hello Available', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'hello', namespace });
      const available = d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      return available && d.status?.readyReplicas === 3 ? d : undefined;
    });
    expect(ready.status?.availableReplicas).to.equal(3);
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=hello' });
    expect(pods.items).to.have.length(3);
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName, 'scheduled onto a kwok node').to.match(/^kwok-node-/);
      expect(pod.status?.phase).to.equal('Running');
      expect(isReady(pod)).to.equal(true);
    }
  });

  it('renews a node Lease for every kwok node, as kubelets do, so nodes outlive the 40 s grace period', async () => {
    // Without Leases the controller-manager marks every node NotReady after 40 s and every pod not Ready for good.
    const leases = await eventually('a Lease per node', async () => {
      const list = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: 'kube-node-lease' });
      return list.items.length === 2 ? list.items : undefined;
    });
    expect(leases.map((l) => l.metadata?.name).sort()).to.deep.equal(['kwok-node-0', 'kwok-node-1']);
    for (const lease of leases) expect(lease.spec?.leaseDurationSeconds).to.equal(40);
  });

  it('keeps a pod whose image tag ends in -broken Running but never Ready, while a normal one turns Ready', async () => {
    const namespace = await freshNamespace('broken');
    const pod = (name: string, image: string): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: 'app', image }] } });
    await core.createNamespacedPod({ namespace, body: pod('good', 'example/hello:1.0') });
    await core.createNamespacedPod({ namespace, body: pod('bad', 'example/hello:1.0-broken') });

    await eventually('pod good Ready', async () => (isReady(await core.readNamespacedPod({ name: 'good', namespace })) ? true : undefined));
    await eventually('pod bad Running', async () => {
      const p = await core.readNamespacedPod({ name: 'bad', namespace });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    // kwok has acted on it; it must stay not-ready from here on.
    for (let i = 0; i < 5; i++) {
      const bad = await core.readNamespacedPod({ name: 'bad', namespace });
      expect(bad.status?.phase).to.equal('Running');
      expect(isReady(bad), 'bad pod Ready').to.equal(false);
      expect(bad.status?.containerStatuses?.[0]?.ready).to.equal(false);
      expect(bad.status?.podIP, 'has an IP like a started pod').to.be.a('string');
      await sleep(1000);
    }
  });

  it('garbage-collects the ReplicaSet and Pods of a deleted Deployment', async () => {
    const namespace = await freshNamespace('gc');
    await apps.createNamespacedDeployment({ namespace, body: deployment('doomed', 'example/hello:1.0', 2) });
    await eventually('2 ready pods', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'doomed', namespace });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect((await apps.listNamespacedReplicaSet({ namespace })).items).to.have.length(1);

    await apps.deleteNamespacedDeployment({ name: 'doomed', namespace });
    await eventually('ReplicaSets and Pods gone', async () => {
      const [rs, pods] = await Promise.all([apps.listNamespacedReplicaSet({ namespace }), core.listNamespacedPod({ namespace })]);
      return rs.items.length === 0 && pods.items.length === 0 ? true : undefined;
    });
  });

  it('gives a userKubeconfig user nothing until RBAC grants it', async () => {
    const user = new KubeConfig();
    user.loadFromFile(plane.userKubeconfig('keyward-operator'));
    const asUser = user.makeApiClient(CoreV1Api);
    const err = await asUser.listSecretForAllNamespaces().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusCode(err), 'listing secrets cluster-wide without RBAC').to.equal(403);
    const status = JSON.parse(String((err as { body?: unknown }).body)) as { message: string };
    expect(status.message).to.include('User "keyward-operator" cannot list resource "secrets"');

    // Groups come from the client certificate too: a binding to a group lets its members in.
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createClusterRole({ body: { metadata: { name: 'test-secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }] } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'test-secret-readers' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'test-secret-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'secret-readers' }],
      },
    });
    const member = new KubeConfig();
    member.loadFromFile(plane.userKubeconfig('keyward-operator-2', ['secret-readers']));
    const list = await eventually('RBAC binding to take effect', () => member.makeApiClient(CoreV1Api).listSecretForAllNamespaces());
    expect(list.items).to.be.an('array');
    expect(plane.userKubeconfig('keyward-operator-2', ['secret-readers']), 'same identity, same file').to.equal(
      plane.userKubeconfig('keyward-operator-2', ['secret-readers']),
    );
  });

  it('restarts the API server on the same address, and a re-started watch sees new objects', async function () {
    this.timeout(150_000);
    const namespace = await freshNamespace('restart');
    const seen = new Set<string>();
    const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace }),
    );
    informer.on('add', (cm) => seen.add(cm.metadata?.name ?? ''));
    // client-node's informer stops on a connection error; restarting it is the caller's job (the operator does this too).
    informer.on('error', () => setTimeout(() => void informer.start().catch(() => undefined), 500));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'before' } } });
      await eventually('informer sees "before"', async () => (seen.has('before') ? true : undefined));

      const pid = plane.components().find((c) => c.name === 'kube-apiserver')?.pid;
      await plane.restartApiServer();
      const newPid = plane.components().find((c) => c.name === 'kube-apiserver')?.pid;
      expect(newPid).to.not.equal(pid);
      expect(isAlive(pid ?? 0), 'old kube-apiserver exited').to.equal(false);

      // Same URL, same data (etcd kept running).
      const before = await core.readNamespacedConfigMap({ name: 'before', namespace });
      expect(before.metadata?.name).to.equal('before');
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'after' } } });
      await eventually('informer sees "after"', async () => (seen.has('after') ? true : undefined), 60_000);
    } finally {
      await informer.stop();
    }
  });

  it('stop() ends every component process it started', async function () {
    this.timeout(60_000);
    const pids = plane.components().map((c) => c.pid);
    expect(pids).to.have.length(5);
    expect(pids.every(isAlive), 'all running before stop').to.equal(true);
    await plane.stop();
    expect(pids.filter(isAlive), 'still running after stop').to.deep.equal([]);
  });
});

describe('startControlPlane when a port is taken before a component binds it', function () {
  this.timeout(240_000);

  it('starts over on new ports', async () => {
    const squatter = createServer();
    await new Promise<void>((done) => squatter.listen({ host: '127.0.0.1', port: 0 }, done));
    const taken = (squatter.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'keyward-control-plane-'));
    const lines: string[] = [];
    let calls = 0;
    // The third port is kube-apiserver's: etcd starts, then the API server cannot bind.
    const ports = async (count: number) => {
      const fresh = await freePorts(count);
      return ++calls === 1 ? [fresh[0], fresh[1], taken, ...fresh.slice(3)].map(Number) : fresh;
    };
    try {
      const plane = await startControlPlane({ dir, nodes: 1, freePorts: ports, log: (l) => lines.push(l) });
      try {
        expect(calls).to.equal(2);
        expect(plane.server).to.not.equal(`https://127.0.0.1:${taken}`);
        expect(lines.join('\n')).to.include('retrying with new ports');
      } finally {
        await plane.stop();
      }
    } finally {
      squatter.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
