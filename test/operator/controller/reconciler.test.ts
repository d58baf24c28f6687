// Reconcile passes run one at a time against the local control plane, each
// reading the cluster from a snapshot the test takes: so a test can hand a pass
// the stale cache an informer may hold, which a running controller only does
// by chance.
import { expect } from 'chai';
import type { AuthService } from '../../../operator/api/types.js';
import { inClusterUrl } from '../../../operator/controller/analysis-runner.js';
import { createEventRecorder } from '../../../operator/controller/events.js';
import { createMeasurements } from '../../../operator/controller/measurements.js';
import { ApplyFailedError, reconcile, type ReconcilerDeps } from '../../../operator/controller/reconciler.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { pathFor, resources } from '../../../operator/kube/resources.js';
import { readRolloutStatus } from '../../../operator/rollout/index.js';
import { adminClient, createNamespace, kubeConfigFrom, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, operatorClient, runOperator, sampleAuthService, sampleSecrets } from '../../support/operator.js';

type Snapshot = Map<string, KubeObject>;

const snapshotKinds = [
  resources.AuthService, resources.Deployment, resources.Service, resources.ServiceAccount, resources.ConfigMap,
  resources.HorizontalPodAutoscaler, resources.NetworkPolicy, resources.PodDisruptionBudget, resources.CronJob, resources.Secret,
];

describe('one reconcile pass against a real control plane', function () {
  this.timeout(120_000);
  let admin: KubeClient;
  let client: KubeClient;
  let ns: string;
  /** "PATCH /apis/apps/v1/…/deployments/x?…" for every write the operator's client sent. */
  const writes: string[] = [];
  const debugLines: string[] = [];

  /** What an informer would hold for the namespace right now, with List items given back their kind. */
  async function snapshot(): Promise<Snapshot> {
    const objects: Snapshot = new Map();
    const served = await admin.get<KubeObject>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com');
    for (const type of served ? [...snapshotKinds, resources.ServiceMonitor] : snapshotKinds) {
      for (const item of (await admin.list<KubeObject>(pathFor(type, ns))).items) {
        objects.set(`${type.kind}/${item.metadata?.name}`, { ...item, apiVersion: type.apiVersion, kind: type.kind });
      }
    }
    return objects;
  }

  function deps(cache: () => Snapshot, statusWrites: ReconcilerDeps['statusWrites'] = new Map()): ReconcilerDeps {
    const quiet = () => undefined;
    return {
      client,
      caches: { get: <T>(kind: string, _namespace: string, name: string) => cache().get(`${kind}/${name}`) as T | undefined },
      crds: () => ({ verticalPodAutoscaler: false, serviceMonitor: false, prometheusRule: false }),
      events: createEventRecorder(client, 'keyward-operator', quiet),
      now: () => new Date(),
      logger: { error: quiet, warn: quiet, info: quiet, debug: (message) => void debugLines.push(message) },
      serviceUrl: inClusterUrl,
      measurements: createMeasurements(() => undefined),
      statusWrites,
    };
  }

  const authPath = (name: string): string => pathFor(resources.AuthService, ns, name);
  const getAuth = async (name: string): Promise<AuthService> => (await admin.get<KubeObject>(authPath(name))) as unknown as AuthService;
  const selectorOf = async (name: string): Promise<string | undefined> =>
    (await admin.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(pathFor(resources.Service, ns, name)))?.spec?.selector?.['auth.keyward.dev/color'];

  const admission = '/apis/admissionregistration.k8s.io/v1';
  /**
   * Makes the API server refuse `operations` on `resource` in this test's namespace, as a cluster's
   * admission policy would, and waits until it does (`probe` must then fail). Returns the undo.
   */
  async function refuse(policy: string, rule: { apiGroups: string[]; resources: string[]; operations: string[] }, probe: () => Promise<unknown>): Promise<() => Promise<void>> {
    const name = `keyward-test-${policy}-${ns}`;
    await admin.create(`${admission}/validatingadmissionpolicies`, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ ...rule, apiVersions: ['*'] }] },
        validations: [{ expression: 'false', message: `refused by the test policy ${policy}` }],
      },
    } as KubeObject);
    await admin.create(`${admission}/validatingadmissionpolicybindings`, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name },
      spec: { policyName: name, validationActions: ['Deny'], matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } } },
    } as KubeObject);
    // The policy takes effect once the API server has loaded it.
    await eventually(`the policy ${policy} in force`, async () => probe().then(() => undefined, () => true), 30_000);
    return async () => {
      await admin.delete(`${admission}/validatingadmissionpolicybindings/${name}`).catch(() => undefined);
      await admin.delete(`${admission}/validatingadmissionpolicies/${name}`).catch(() => undefined);
    };
  }

  before(async () => {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    await installCrd(admin, 'test/fixtures/servicemonitor-crd.yaml');
    // A CRD installed makes the API server set up its storage again for a moment ("storage is (re)initializing").
    const listed = (type: (typeof resources)[keyof typeof resources]) => admin.list(pathFor(type, 'default')).then(() => true, () => false);
    await eventually('AuthServices and ServiceMonitors listed', async () => ((await listed(resources.AuthService)) && (await listed(resources.ServiceMonitor)) ? true : undefined));
    await operatorClient(); // binds the operator's ClusterRole
    const plane = await sharedControlPlane();
    client = await createKubeClient(kubeConfigFrom(plane.userKubeconfig('keyward-operator')), { onWrite: (verb, path) => void writes.push(`${verb} ${path}`) });
    ns = await createNamespace(admin, 'passes');
    for (const secret of sampleSecrets(ns)) await admin.apply(secret);
  });

  it('decides from the API server, not from a cache that has not yet shown its own last status write', async () => {
    await admin.apply(sampleAuthService(ns, 'stale'));
    const before = await snapshot();
    const statusWrites: ReconcilerDeps['statusWrites'] = new Map();
    const first = await reconcile(deps(() => before, statusWrites), ns, 'stale');
    expect(first.applied, 'the first pass creates the children').to.be.above(0);
    const decided = (await getAuth('stale')).status?.rollout;
    expect(readRolloutStatus(decided).state, 'and persists the rollout it started').to.not.equal(undefined);

    // The informers of the children may be ahead of the AuthService's: a pass must not decide again
    // from the AuthService as it was before the status it wrote. This cache holds exactly that: from
    // it, the rollout would start over, with a new RolloutStarted. (Progress figures may move: the
    // pods of blue turn ready meanwhile.)
    await reconcile(deps(() => before, statusWrites), ns, 'stale');
    expect((await getAuth('stale')).status?.rollout, 'the rollout as decided').to.deep.equal(decided);
    expect(debugLines).to.include('reading the AuthService from the API server: the cache does not show the last status written yet');

    // Another writer's version that lacks the write (a CLI command landing in between) is no better.
    const otherWriter = new Map(before);
    const stale = before.get('AuthService/stale')!;
    otherWriter.set('AuthService/stale', { ...stale, metadata: { ...stale.metadata, resourceVersion: `${stale.metadata?.resourceVersion}0` } });
    await reconcile(deps(() => otherWriter, statusWrites), ns, 'stale');
    expect((await getAuth('stale')).status?.rollout).to.deep.equal(decided);

    // Once the cache shows the write, it is trusted again: no more reads.
    const caughtUp = await snapshot();
    debugLines.length = 0;
    await reconcile(deps(() => caughtUp, statusWrites), ns, 'stale');
    expect(debugLines).to.not.include('reading the AuthService from the API server: the cache does not show the last status written yet');
  });

  it('takes an AuthService deleted meanwhile for gone when the read meant to refresh a stale cache finds nothing', async () => {
    await admin.apply(sampleAuthService(ns, 'deleted'));
    const before = await snapshot();
    const statusWrites: ReconcilerDeps['statusWrites'] = new Map();
    await reconcile(deps(() => before, statusWrites), ns, 'deleted');
    expect(statusWrites.get(`${ns}/deleted`)?.seen, 'the cache is behind the write').to.equal(false);
    await admin.delete(authPath('deleted'));
    await eventually('the AuthService gone', async () => ((await admin.get(authPath('deleted'))) === undefined ? true : undefined), 30_000);
    expect(await reconcile(deps(() => before, statusWrites), ns, 'deleted')).to.deep.equal({ applied: 0 });
    expect(statusWrites.has(`${ns}/deleted`), 'what it kept about the AuthService').to.equal(false);
  });

  it('never takes over an object of its name that another controller owns: ApplyFailed names the owner, and the object stays as it was', async () => {
    const other = await admin.create<KubeObject>(pathFor(resources.ConfigMap, ns), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other-app' } });
    const foreign = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'taken-blue',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'other-app', uid: other.metadata!.uid!, controller: true }],
      },
      spec: { selector: { app: 'other-app' }, ports: [{ port: 8080 }] },
    };
    await admin.create(pathFor(resources.Service, ns), foreign);
    await admin.apply(sampleAuthService(ns, 'taken'));
    const current = await snapshot();
    const failure = await reconcile(deps(() => current), ns, 'taken').then(() => undefined, (err: unknown) => err);
    expect(failure).to.be.instanceOf(ApplyFailedError);
    expect((failure as ApplyFailedError).message).to.contain('Service taken-blue').and.contain('belongs to ConfigMap other-app');
    const service = await admin.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(pathFor(resources.Service, ns, 'taken-blue'));
    expect(service?.spec?.selector).to.deep.equal({ app: 'other-app' });
    expect(service?.metadata?.ownerReferences?.map((o) => o.name)).to.deep.equal(['other-app']);
    expect((await getAuth('taken')).status?.conditions?.find((c) => c.type === 'Degraded')).to.include({ status: 'True', reason: 'ApplyFailed' });
    // Everything else of the AuthService is written: one name taken stops only that object.
    expect(await admin.get(pathFor(resources.Deployment, ns, 'taken-blue')), 'Deployment taken-blue').to.not.equal(undefined);
  });

  it('never takes over an object of a child\'s name that the operator did not make (no owner, no label: Helm\'s, Argo CD\'s, a hand-made one)', async () => {
    const handMade = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'squat-blue', labels: { app: 'theirs' } }, spec: { selector: { app: 'theirs' }, ports: [{ port: 8080 }] } };
    await admin.create(pathFor(resources.Service, ns), handMade);
    await admin.apply(sampleAuthService(ns, 'squat'));
    // What the operator's informers hold: only objects with its label, so not this Service.
    const current = new Map([...(await snapshot())].filter(([, o]) => o.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'keyward-operator' || o.kind === 'AuthService' || o.kind === 'Secret'));
    const failure = await reconcile(deps(() => current), ns, 'squat').then(() => undefined, (err: unknown) => err);
    expect(failure).to.be.instanceOf(ApplyFailedError);
    expect((failure as ApplyFailedError).message).to.contain('Service squat-blue').and.contain('the operator did not create it');
    const service = await admin.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(pathFor(resources.Service, ns, 'squat-blue'));
    expect(service?.spec?.selector).to.deep.equal({ app: 'theirs' });
    expect(service?.metadata?.ownerReferences ?? []).to.deep.equal([]);
  });

  /**
   * An object the cache still holds from an AuthService named `owner` deleted before the one under
   * test: labelled as the operator's, owned by the predecessor's uid, not the current one's.
   */
  const predecessorsChild = (owner: string, child: { apiVersion: string; kind: string; name: string }, rest: Record<string, unknown> = {}): KubeObject =>
    ({
      apiVersion: child.apiVersion,
      kind: child.kind,
      metadata: {
        name: child.name,
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'keyward-operator' },
        ownerReferences: [{ apiVersion: 'auth.keyward.dev/v1alpha1', kind: 'AuthService', name: owner, uid: '00000000-0000-4000-8000-000000000000', controller: true }],
      },
      ...rest,
    }) as KubeObject;

  it('waits, deciding and writing nothing, for the children of an AuthService of the same name deleted before it to be garbage-collected', async () => {
    await admin.apply(sampleAuthService(ns, 'again'));
    const current = await snapshot();
    // The cache still holds the predecessor's running blue Deployment, owned by an AuthService
    // "again" of another uid. Observed, it would be adopted as this one's active colour.
    current.set(
      'Deployment/again-blue',
      predecessorsChild('again', { apiVersion: 'apps/v1', kind: 'Deployment', name: 'again-blue' }, {
        spec: { replicas: 3, template: { spec: { containers: [{ name: 'auth-service', image: 'registry.example/keyward-service:1.3.0' }] } } },
        status: { replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3 },
      }),
    );
    const sent = writes.length;
    const result = await reconcile(deps(() => current), ns, 'again');
    expect(result).to.deep.equal({ applied: 0, requeueAfterMs: 2_000 });
    expect(writes.slice(sent), 'writes, status and Events included').to.deep.equal([]);
    expect((await getAuth('again')).status, 'no status: nothing adopted from the predecessor').to.equal(undefined);

    // Once the garbage collector is through, the AuthService starts as any new one.
    current.delete('Deployment/again-blue');
    await reconcile(deps(() => current), ns, 'again');
    expect((await getAuth('again')).status?.rollout, 'a rollout of its own').to.not.equal(undefined);
  });

  it('waits as well for a predecessor\'s child the rollout does not read (its ServiceAccount), instead of writing the rest around it', async () => {
    await admin.apply(sampleAuthService(ns, 'again2'));
    const current = await snapshot();
    current.set('ServiceAccount/again2', predecessorsChild('again2', { apiVersion: 'v1', kind: 'ServiceAccount', name: 'again2' }));
    const sent = writes.length;
    expect(await reconcile(deps(() => current), ns, 'again2')).to.deep.equal({ applied: 0, requeueAfterMs: 2_000 });
    expect(writes.slice(sent), 'writes').to.deep.equal([]);
  });

  it('reports a failed look-up of a child\'s name as ApplyFailed, and still writes the other children', async () => {
    await admin.apply(sampleAuthService(ns, 'lookup'));
    const current = await snapshot();
    const refusing: ReconcilerDeps = {
      ...deps(() => current),
      client: {
        ...client,
        get: (path: string) => (path.includes('/serviceaccounts/lookup') ? Promise.reject(new Error('serviceaccounts "lookup" is forbidden')) : client.get(path)),
      } as KubeClient,
    };
    const failure = await reconcile(refusing, ns, 'lookup').then(() => undefined, (err: unknown) => err);
    expect(failure).to.be.instanceOf(ApplyFailedError);
    expect((failure as ApplyFailedError).message).to.contain('ServiceAccount lookup').and.contain('looking it up before creating it failed: serviceaccounts "lookup" is forbidden');
    expect(await admin.get(pathFor(resources.Deployment, ns, 'lookup-blue')), 'Deployment lookup-blue').to.not.equal(undefined);
    expect((await getAuth('lookup')).status?.conditions?.find((c) => c.type === 'Degraded')).to.include({ status: 'True', reason: 'ApplyFailed' });
  });

  it('leaves a Deployment the HPA scaled alone, also when the scale lands during the pass or before the cache has heard of it: never undone', async () => {
    await admin.apply(sampleAuthService(ns, 'hpa', { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 } }));
    // Passes as a controller would run them, each from a fresh read, until blue serves with its HPA.
    let current = await snapshot();
    const context = deps(() => current);
    await eventually('Healthy with the HPA on blue', async () => {
      current = await snapshot();
      await reconcile(context, ns, 'hpa');
      const auth = await getAuth('hpa');
      const hpa = await admin.get<KubeObject>(pathFor(resources.HorizontalPodAutoscaler, ns, 'hpa'));
      return auth.status?.phase === 'Healthy' && hpa ? true : undefined;
    }, 90_000);

    // What the HPA controller does: scale the serving Deployment through its scale subresource.
    await admin.mergePatch(`${pathFor(resources.Deployment, ns, 'hpa-blue')}/scale`, { spec: { replicas: 7 } }, 'test-hpa');
    current = await snapshot();
    const sent = writes.length;
    await reconcile(context, ns, 'hpa');
    expect(writes.slice(sent).filter((w) => w.includes('/deployments/')), 'Deployment writes after the scale').to.deep.equal([]);
    const blue = await admin.get<KubeObject & { spec?: { replicas?: number } }>(pathFor(resources.Deployment, ns, 'hpa-blue'));
    expect(blue?.spec?.replicas).to.equal(7);

    // The HPA scales again while a pass runs: the pass observes 7, and its cache holds 9 by the time it
    // compares what it would apply. Carrying the 7 it observed, the apply would undo the scale.
    await admin.mergePatch(`${pathFor(resources.Deployment, ns, 'hpa-blue')}/scale`, { spec: { replicas: 9 } }, 'test-hpa');
    const scaled = await snapshot();
    let blueReads = 0;
    const midPass: ReconcilerDeps = {
      ...context,
      caches: {
        get: <T>(kind: string, _namespace: string, name: string) =>
          (kind === 'Deployment' && name === 'hpa-blue' && blueReads++ === 0 ? current : scaled).get(`${kind}/${name}`) as T | undefined,
      },
    };
    const before = writes.length;
    await reconcile(midPass, ns, 'hpa');
    expect(writes.slice(before).filter((w) => w.includes('/deployments/')), 'Deployment writes in the pass the scale overtook').to.deep.equal([]);
    const rescaled = await admin.get<KubeObject & { spec?: { replicas?: number } }>(pathFor(resources.Deployment, ns, 'hpa-blue'));
    expect(rescaled?.spec?.replicas).to.equal(9);

    // Someone changes a field the operator sets, and the HPA scales again before the cache has heard
    // of the scale: the pass that puts the field back must not put back the count its cache holds.
    await admin.mergePatch(pathFor(resources.Deployment, ns, 'hpa-blue'), { spec: { revisionHistoryLimit: 10 } }, 'someone');
    const drifted = await snapshot();
    await admin.mergePatch(`${pathFor(resources.Deployment, ns, 'hpa-blue')}/scale`, { spec: { replicas: 11 } }, 'test-hpa');
    const lagging: ReconcilerDeps = { ...context, caches: { get: <T>(kind: string, _namespace: string, name: string) => drifted.get(`${kind}/${name}`) as T | undefined } };
    const result = await reconcile(lagging, ns, 'hpa');
    const afterLag = await admin.get<KubeObject & { spec?: { replicas?: number; revisionHistoryLimit?: number } }>(pathFor(resources.Deployment, ns, 'hpa-blue'));
    expect(afterLag?.spec?.replicas, 'the count after a pass whose cache had not seen the scale').to.equal(11);
    expect(result.requeueAfterMs, 'how soon that pass asks to look again').to.be.at.most(1_000);

    // Passes from a cache that has caught up put the field back and keep the count. (More than one
    // may be needed: the new pods' readiness changes the Deployment's status, which fails the
    // conditional write of a pass that read the Deployment just before.)
    const mended = await eventually('revisionHistoryLimit put back', async () => {
      current = await snapshot();
      await reconcile(context, ns, 'hpa');
      const blue = await admin.get<KubeObject & { spec?: { replicas?: number; revisionHistoryLimit?: number } }>(pathFor(resources.Deployment, ns, 'hpa-blue'));
      return blue?.spec?.revisionHistoryLimit === 3 ? blue : undefined;
    }, 30_000);
    expect(mended.spec?.replicas).to.equal(11);
  });

  /**
   * Deploys `name`, rolls a new image out with passes run by hand, each from a fresh read, and stops
   * short of the pass that sees green ready (the one that moves traffic). Returns that pass.
   */
  async function upToTheFlip(name: string, spec: Record<string, unknown> = {}): Promise<() => Promise<void>> {
    await admin.apply(sampleAuthService(ns, name, spec));
    let current = await snapshot();
    const context = deps(() => current);
    const pass = async (): Promise<void> => {
      current = await snapshot();
      await reconcile(context, ns, name);
    };
    await eventually('Healthy on blue', async () => {
      await pass();
      return (await getAuth(name)).status?.phase === 'Healthy' ? true : undefined;
    }, 90_000);
    await admin.mergePatch(authPath(name), { spec: { image: 'registry.example/keyward-service:1.5.0' } }, 'test');
    await eventually('green created for the new image', async () => {
      await pass();
      const green = await admin.get<KubeObject & { spec?: { replicas?: number } }>(pathFor(resources.Deployment, ns, `${name}-green`));
      return green?.spec?.replicas === 3 ? true : undefined;
    }, 30_000);
    return pass;
  }
  const greenReady = (name: string): Promise<true> =>
    eventually('green ready', async () => {
      const green = await admin.get<KubeObject & { status?: { readyReplicas?: number } }>(pathFor(resources.Deployment, ns, `${name}-green`));
      return green?.status?.readyReplicas === 3 ? true : undefined;
    }, 60_000);
  const promotions = async (name: string): Promise<number> => {
    const reasons = readRolloutStatus((await getAuth(name)).status?.rollout).state!.history.map((h) => h.reason);
    return reasons.slice(reasons.lastIndexOf('RolloutStarted')).filter((r) => r === 'Promoted').length;
  };

  it('moves no traffic while the decision to move it cannot be persisted', async () => {
    const pass = await upToTheFlip('intent');
    const allow = await refuse('deny-status', { apiGroups: ['auth.keyward.dev'], resources: ['authservices/status'], operations: ['UPDATE'] },
      () => admin.request('PATCH', `${authPath('intent')}/status`, { query: { dryRun: 'All' }, body: { status: { phase: 'Healthy' } }, contentType: 'application/merge-patch+json' }));
    try {
      await greenReady('intent');
      const refused = await pass().then(() => undefined, (err: unknown) => err);
      expect(String(refused)).to.contain('refused by the test policy deny-status');
      expect(await selectorOf('intent'), 'the Service, with the flip not persisted').to.equal('blue');
    } finally {
      await allow();
    }
    await eventually('traffic on green once the status can be written', async () => {
      await pass();
      return (await selectorOf('intent')) === 'green' ? true : undefined;
    }, 30_000);
    expect(await promotions('intent'), 'promotions in this rollout').to.equal(1);
  });

  it('persists the decision to move traffic, but shows the move only once the Service has moved, and does not rewrite it while the Service refuses', async () => {
    const pass = await upToTheFlip('refusing');
    const allow = await refuse('deny-services', { apiGroups: [''], resources: ['services'], operations: ['UPDATE'] },
      () => admin.request('PATCH', pathFor(resources.Service, ns, 'refusing'), { query: { dryRun: 'All' }, body: { metadata: { labels: { probe: 'x' } } }, contentType: 'application/merge-patch+json' }));
    const statusPath = `${authPath('refusing')}/status`;
    try {
      await greenReady('refusing');
      const failure = await pass().then(() => undefined, (err: unknown) => err);
      expect(failure).to.be.instanceOf(ApplyFailedError);
      const auth = await getAuth('refusing');
      expect(await promotions('refusing'), 'the decision, persisted').to.equal(1);
      expect(auth.status?.activeColor, 'what the status shows while the Service still selects blue').to.equal('blue');
      expect(auth.status?.conditions?.find((c) => c.type === 'Degraded')).to.include({ status: 'True', reason: 'ApplyFailed' });
      // The next pass starts the clock for the Service to move (status.rollout.selectorWaitSince).
      // The passes after it (each watch event of the refused writes brings one) find the decision,
      // the clock and the failure persisted: nothing to write, however often they run.
      await pass().catch(() => undefined);
      expect(readRolloutStatus((await getAuth('refusing')).status?.rollout).state?.selectorWaitSince, 'the clock, started').to.be.a('string');
      const sent = writes.length;
      for (let i = 0; i < 3; i++) await pass().catch(() => undefined);
      expect(writes.slice(sent).filter((w) => w.includes(statusPath)), 'status writes while the Service refuses').to.deep.equal([]);
    } finally {
      await allow();
    }
    await eventually('traffic on green once the Service can be written', async () => {
      await pass().catch(() => undefined);
      return (await selectorOf('refusing')) === 'green' ? true : undefined;
    }, 30_000);
    await eventually('the status shows green', async () => {
      await pass();
      return (await getAuth('refusing')).status?.activeColor === 'green' ? true : undefined;
    }, 30_000);
    expect(await promotions('refusing')).to.equal(1);
  });

  it('scales the old colour down only once the Service selects the new one, even with no scale-down delay', async () => {
    const pass = await upToTheFlip('undelayed', { rollout: { scaleDownDelaySeconds: 0 } });
    const budgetColour = async (): Promise<string | undefined> =>
      (await admin.get<KubeObject & { spec?: { selector?: { matchLabels?: Record<string, string> } } }>(pathFor(resources.PodDisruptionBudget, ns, 'undelayed')))?.spec?.selector?.matchLabels?.['auth.keyward.dev/color'];
    const blueReplicas = async (): Promise<number | undefined> =>
      (await admin.get<KubeObject & { spec?: { replicas?: number } }>(pathFor(resources.Deployment, ns, 'undelayed-blue')))?.spec?.replicas;
    const allow = await refuse('deny-service-updates', { apiGroups: [''], resources: ['services'], operations: ['UPDATE'] },
      () => admin.request('PATCH', pathFor(resources.Service, ns, 'undelayed'), { query: { dryRun: 'All' }, body: { metadata: { labels: { probe: 'x' } } }, contentType: 'application/merge-patch+json' }));
    try {
      await greenReady('undelayed');
      for (let i = 0; i < 3; i++) await pass().catch(() => undefined);
      expect(await selectorOf('undelayed'), 'the Service, its update refused').to.equal('blue');
      expect(await blueReplicas(), 'blue, which still takes the traffic').to.equal(3);
      const auth = await getAuth('undelayed');
      expect(auth.status?.activeColor, 'the colour the status shows').to.equal('blue');
      expect(auth.status?.activeImage, 'and its image').to.equal('registry.example/keyward-service:1.4.0');
      expect(auth.status?.conditions?.find((c) => c.type === 'Progressing')?.message).to.contain('blue keeps serving');
      expect(await budgetColour(), 'the PodDisruptionBudget, with blue serving').to.equal('blue');
    } finally {
      await allow();
    }
    await eventually('traffic on green, then blue scaled to 0', async () => {
      await pass().catch(() => undefined);
      return (await selectorOf('undelayed')) === 'green' && (await blueReplicas()) === 0 ? true : undefined;
    }, 30_000);
    expect((await getAuth('undelayed')).status).to.include({ activeColor: 'green', activeImage: 'registry.example/keyward-service:1.5.0' });
    await eventually('the PodDisruptionBudget on green', async () => {
      await pass();
      return (await budgetColour()) === 'green' ? true : undefined;
    }, 30_000);
  });

  it('keeps a ServiceMonitor while discovery misses its CRD, and deletes it once the spec turns it off', async () => {
    const monitorPath = pathFor(resources.ServiceMonitor, ns, 'monitored');
    let served = true;
    let current = await snapshot();
    const context: ReconcilerDeps = { ...deps(() => current), crds: () => ({ verticalPodAutoscaler: false, serviceMonitor: served, prometheusRule: false }) };
    const pass = async (): Promise<void> => {
      current = await snapshot();
      await reconcile(context, ns, 'monitored');
    };
    await admin.apply(sampleAuthService(ns, 'monitored'));
    await eventually('the ServiceMonitor created', async () => {
      await pass();
      return admin.get(monitorPath);
    }, 30_000);

    // An API server restarting answers discovery with a 404 for a moment.
    served = false;
    const sent = writes.length;
    for (let i = 0; i < 3; i++) await pass();
    expect(writes.slice(sent).filter((w) => w.startsWith('DELETE')), 'deletes while discovery missed the CRD').to.deep.equal([]);
    expect(await admin.get(monitorPath), 'the ServiceMonitor').to.not.equal(undefined);

    served = true;
    await admin.mergePatch(authPath('monitored'), { spec: { monitoring: { serviceMonitor: { enabled: false } } } }, 'test');
    await eventually('the ServiceMonitor deleted, turned off in the spec', async () => {
      await pass();
      return (await admin.get(monitorPath)) === undefined ? true : undefined;
    }, 30_000);
  });

  describe('with CronJobs refused by an admission policy', () => {
    let allow: (() => Promise<void>) | undefined;
    before(async () => {
      await admin.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'backup-key', namespace: ns }, stringData: { 'encryption.key': 'test-only' } } as KubeObject);
      const probe = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'probe', namespace: ns }, spec: { schedule: '0 0 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } } } };
      allow = await refuse('deny-cronjobs', { apiGroups: ['batch'], resources: ['cronjobs'], operations: ['CREATE', 'UPDATE'] },
        () => admin.request('POST', pathFor(resources.CronJob, ns), { query: { dryRun: 'All' }, body: probe }));
    });
    after(async () => allow?.());

    const withBackup = { backup: { image: 'registry.example/backup-tools:2.1.0', s3: { bucket: 'auth-service-backups' }, encryptionKeySecretRef: { name: 'backup-key' } } };

    it('fails the pass naming the refused child, and still says when the rollout wants to look again', async () => {
      await admin.apply(sampleAuthService(ns, 'refused', { ...withBackup, rollout: { progressDeadlineSeconds: 30 } }));
      const current = await snapshot();
      const failure = await reconcile(deps(() => current), ns, 'refused').then(() => undefined, (err: unknown) => err);
      expect(failure).to.be.instanceOf(ApplyFailedError);
      expect((failure as ApplyFailedError).message).to.contain('CronJob refused-backup').and.contain('refused by the test policy deny-cronjobs');
      // The first rollout's progress deadline is due within its 30 s.
      expect((failure as ApplyFailedError).requeueAfterMs).to.be.within(1, 30_000);
      const degraded = (await getAuth('refused')).status?.conditions?.find((c) => c.type === 'Degraded');
      expect(degraded).to.include({ status: 'True', reason: 'ApplyFailed' });
    });

    it('scales the old colour down on time while every pass fails, instead of after the failure backoff', async () => {
      const operator = await runOperator(ns);
      try {
        await admin.apply(sampleAuthService(ns, 'timers', { ...withBackup, rollout: { scaleDownDelaySeconds: 2, progressDeadlineSeconds: 30 } }));
        await eventually('blue available', async () => (readRolloutStatus((await getAuth('timers')).status?.rollout).state?.milestones.promoted ? true : undefined), 90_000);
        await admin.mergePatch(authPath('timers'), { spec: { image: 'registry.example/keyward-service:1.5.0' } }, 'test');
        const promoted = await eventually('traffic on green', async () => {
          const a = await getAuth('timers');
          return a.status?.activeColor === 'green' ? a : undefined;
        }, 90_000);
        // Every pass fails on the CronJob, and the key's backoff grows with each: after five it is 16 s
        // (±20 %), twice the bound below. Without the rollout's own requeue, the scale-down waited for it.
        expect(operator.controller.queue.failures(`${ns}/timers`)).to.be.at.least(5);
        const flipped = Date.parse(readRolloutStatus(promoted.status?.rollout).state!.milestones.promoted!);
        await eventually('blue scaled to 0', async () => {
          const blue = await admin.get<KubeObject & { spec?: { replicas?: number } }>(pathFor(resources.Deployment, ns, 'timers-blue'));
          return blue?.spec?.replicas === 0 ? true : undefined;
        }, 60_000);
        const late = Date.now() - flipped;
        expect(late, `blue scaled down ${late} ms after the flip, with a 2 s delay`).to.be.below(8000);
      } finally {
        await operator.stop();
      }
    });
  });
});
