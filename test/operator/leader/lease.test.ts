import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubeClient, type KubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { pathFor, resources } from '../../../operator/kube/resources.js';
import {
  createLeaderElector,
  defaultIdentity,
  validateTimings,
  type Lease,
  type LeaderElector,
  type StepDownReason,
} from '../../../operator/leader/lease.js';
import type { Logger } from '../../../operator/observability/logger.js';
import { adminClient, createNamespace, kubeConfigFrom, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';

// Short timings so failover fits in a test: lease 3 s, renew deadline 2 s, retry 0.5 s.
const timings = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 };
const leaseMs = 3000;
const retryMs = 500;

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: StepDownReason[];
  running: Promise<void>;
}

const quiet: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

describe('operator/leader/lease: leader election on a real Lease', function () {
  this.timeout(60_000);
  let client: KubeClient;
  let namespace: string;
  const everyone: Candidate[] = [];

  before(async () => {
    client = await adminClient();
    namespace = await createNamespace(client, 'leader');
  });

  afterEach(async () => {
    for (const c of everyone.splice(0)) c.elector.stop();
  });

  const leasePath = (name: string): string => pathFor(resources.Lease, namespace, name);
  const readLease = async (name: string): Promise<Lease | undefined> => client.get<Lease>(leasePath(name));

  function candidate(lease: string, identity: string, options: { client?: KubeClient; onStoppedLeading?: (reason: StepDownReason) => Promise<void> } = {}): Candidate {
    const c = { started: 0, stopped: [] } as unknown as Candidate;
    c.elector = createLeaderElector({
      client: options.client ?? client,
      namespace,
      name: lease,
      identity,
      timings,
      logger: quiet,
      onStartedLeading: () => {
        c.started += 1;
      },
      onStoppedLeading: async (reason) => {
        c.stopped.push(reason);
        await options.onStoppedLeading?.(reason);
      },
    });
    c.running = c.elector.run();
    everyone.push(c);
    return c;
  }

  const leads = (c: Candidate, what: string, timeoutMs = 10_000): Promise<true> =>
    eventually(what, async () => (c.elector.isLeader() ? true : undefined), timeoutMs, 50);

  it('creates the Lease when it is absent and keeps renewing it', async () => {
    const a = candidate('fresh', 'a');
    await leads(a, 'a to lead');
    const first = await readLease('fresh');
    expect(first?.spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 3, leaseTransitions: 0 });
    expect(first?.spec?.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await sleep(2 * retryMs);
    const later = await readLease('fresh');
    expect(Date.parse(later?.spec?.renewTime ?? '')).to.be.greaterThan(Date.parse(first?.spec?.renewTime ?? ''));
    expect(later?.spec?.acquireTime).to.equal(first?.spec?.acquireTime);
    expect(a.started).to.equal(1);
  });

  it('lets exactly one of two candidates lead, and keeps it that way', async () => {
    const a = candidate('one', 'a');
    const b = candidate('one', 'b');
    await eventually('a leader', async () => (a.elector.isLeader() || b.elector.isLeader() ? true : undefined), 10_000, 50);
    // Watch for longer than a lease duration: never both, never a change of leader.
    const leaderIdentity = a.elector.isLeader() ? 'a' : 'b';
    const until = Date.now() + leaseMs + 2 * retryMs;
    while (Date.now() < until) {
      expect([a, b].filter((c) => c.elector.isLeader()).map((c) => c.elector.identity)).to.deep.equal([leaderIdentity]);
      await sleep(50);
    }
    expect((await readLease('one'))?.spec?.holderIdentity).to.equal(leaderIdentity);
    expect(a.started + b.started).to.equal(1);
    expect((await readLease('one'))?.spec?.leaseTransitions).to.equal(0);
  });

  it('lets the standby take over a crashed leader once the lease expires, not before', async () => {
    const a = candidate('crash', 'a');
    await leads(a, 'a to lead');
    const b = candidate('crash', 'b');
    await sleep(2 * retryMs); // b has seen a renew
    expect(b.elector.isLeader()).to.equal(false);

    // A crash: a's loop ends, the Lease is left as it was.
    a.elector.stop();
    const crashedAt = Date.now();
    await a.running;
    expect((await readLease('crash'))?.spec?.holderIdentity).to.equal('a');

    await leads(b, 'b to take over', leaseMs + 4 * retryMs + 2000);
    const tookMs = Date.now() - crashedAt;
    // a's last renewal was at most one retry before the crash; b judges expiry from the renewal it saw.
    expect(tookMs).to.be.at.least(leaseMs - retryMs - 100);
    expect(tookMs).to.be.at.most(leaseMs + 2 * retryMs * 1.2 + 1000);
    const lease = await readLease('crash');
    expect(lease?.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.stopped).to.deep.equal(['stopped']);
  });

  it('hands over almost at once on release, after the old leader has stopped its work', async () => {
    let holderWhileStopping: string | undefined;
    const a = candidate('graceful', 'a', {
      onStoppedLeading: async () => {
        holderWhileStopping = (await readLease('graceful'))?.spec?.holderIdentity;
      },
    });
    await leads(a, 'a to lead');
    const b = candidate('graceful', 'b');
    await sleep(2 * retryMs);

    const releasedAt = Date.now();
    await a.elector.release();
    await a.running;
    expect(a.elector.isLeader()).to.equal(false);
    expect(a.stopped).to.deep.equal(['released']);
    // The Lease stayed a's until a's work had stopped: no overlap with the successor.
    expect(holderWhileStopping).to.equal('a');

    await leads(b, 'b to take over', 5000);
    expect(Date.now() - releasedAt).to.be.below(retryMs * 1.2 + 700);
    expect((await readLease('graceful'))?.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('counts every change of holder in leaseTransitions', async () => {
    const a = candidate('transitions', 'a');
    await leads(a, 'a to lead');
    expect((await readLease('transitions'))?.spec?.leaseTransitions).to.equal(0);

    const b = candidate('transitions', 'b');
    await a.elector.release();
    await leads(b, 'b to lead');
    expect((await readLease('transitions'))?.spec?.leaseTransitions).to.equal(1);

    const c = candidate('transitions', 'c');
    await sleep(2 * retryMs);
    b.elector.stop();
    await leads(c, 'c to take over a crashed b', leaseMs + 4 * retryMs + 2000);
    expect((await readLease('transitions'))?.spec).to.include({ holderIdentity: 'c', leaseTransitions: 2 });

    // Renewals by the same holder do not count.
    await sleep(3 * retryMs);
    expect((await readLease('transitions'))?.spec?.leaseTransitions).to.equal(2);
  });

  it('steps down when renewals fail for the renew deadline, before the lease expires for others', async () => {
    // A leader whose RBAC is taken away: every renewal answers 403.
    const plane = await sharedControlPlane();
    const user = `leader-${namespace}`;
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'leases', namespace } };
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, {
      ...role,
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
    } as KubeObject);
    await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'leases', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    } as KubeObject);
    const restricted = await createKubeClient(kubeConfigFrom(plane.userKubeconfig(user)));
    const a = candidate('deadline', 'a', { client: restricted });
    await leads(a, 'a to lead under its Role');

    await client.delete(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings/leases`);
    const revokedAt = Date.now();
    await eventually('a to step down', async () => (a.stopped.length > 0 ? true : undefined), 10_000, 50);
    const tookMs = Date.now() - revokedAt;
    expect(a.stopped).to.deep.equal(['lost']);
    expect(a.elector.isLeader()).to.equal(false);
    await a.running; // run() ends with leadership
    // Within the renew deadline (2 s) of its last renewal, which precedes the revocation: before the 3 s lease is up.
    expect(tookMs).to.be.below(leaseMs);
    expect((await readLease('deadline'))?.spec?.holderIdentity).to.equal('a');
  });

  it('steps down at once when it finds someone else holding its Lease', async () => {
    const a = candidate('usurped', 'a');
    await leads(a, 'a to lead');
    const lease = await readLease('usurped');
    await client.request('PUT', leasePath('usurped'), { body: { ...lease, spec: { ...lease?.spec, holderIdentity: 'intruder' } } });
    await eventually('a to step down', async () => (a.stopped.length > 0 ? true : undefined), 3 * retryMs + 1000, 50);
    expect(a.stopped).to.deep.equal(['lost']);
    expect((await readLease('usurped'))?.spec?.holderIdentity).to.equal('intruder');
  });

  it('takes a released Lease at once and leaves a Lease it does not hold alone on release', async () => {
    const a = candidate('idle-release', 'a');
    await leads(a, 'a to lead');
    await a.elector.release();
    const released = await readLease('idle-release');
    expect(released?.spec?.holderIdentity ?? '').to.equal('');

    const b = candidate('idle-release', 'b');
    await leads(b, 'b to take the released Lease', 2000);
    await a.elector.release(); // a no longer holds it: nothing changes
    expect((await readLease('idle-release'))?.spec?.holderIdentity).to.equal('b');
  });
});

describe('operator/leader/lease: configuration', () => {
  it('refuses timings that would let two processes lead at once', () => {
    expect(() => validateTimings({ leaseDurationSeconds: 10, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 })).to.throw(RangeError, /greater than renewDeadline/);
    expect(() => validateTimings({ leaseDurationSeconds: 15, renewDeadlineSeconds: 2, retryPeriodSeconds: 2 })).to.throw(RangeError, /retryPeriodSeconds × 1.2/);
    expect(() => validateTimings({ leaseDurationSeconds: 2.5, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 })).to.throw(RangeError, /whole number/);
    expect(validateTimings({ leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 })).to.deep.equal({
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
    });
  });

  it('names itself after the host with a random suffix', async () => {
    const { hostname } = await import('node:os');
    const [one, two] = [defaultIdentity(), defaultIdentity()];
    expect(one.startsWith(`${hostname()}_`)).to.equal(true);
    expect(one).to.not.equal(two);
  });
});
