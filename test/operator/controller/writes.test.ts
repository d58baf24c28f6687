import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { AuthService } from '../../../operator/api/types.js';
import { createController, type Controller } from '../../../operator/controller/controller.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { createOperatorMetrics } from '../../../operator/observability/metrics.js';
import { CONTAINER_NAME } from '../../../operator/reconcile/meta.js';
import { adminClient, createNamespace, kubeConfigFrom, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, operatorClient, sampleAuthService, sampleSecrets } from '../../support/operator.js';

/**
 * The most writes one AuthService may cost from its creation until it is
 * Healthy with every child: 11 applies (the 9 children of the first pass, then
 * the stable Service and the HPA once blue is available), 3 status writes (the
 * rollout started; the promotion, persisted before the stable Service is
 * created, as every decision that moves traffic is; Healthy), 2 Events for the
 * children written (one per pass) and 2 for the rollout (RolloutStarted,
 * Promoted): 18. It was 27-29 before the Events were grouped per pass and
 * progress-only status writes paced. Two more are allowed: on a loaded machine
 * (CI runs every suite at once) kwok may make the pods ready more than the 5 s
 * pacing apart, and a progress write is then due.
 */
const MAX_WRITES = 18 + 2;

/** "PATCH deployments/login-blue", "POST events", "PATCH authservices/login/status", … */
function describeWrite(verb: string, path: string): string {
  const parts = path.split('?')[0]!.split('/');
  const at = parts.indexOf('namespaces');
  const rest = at >= 0 ? parts.slice(at + 2) : parts.slice(-2);
  // An Event's name is a timestamp: one line for every patch of an existing Event.
  if (rest[0] === 'events') return `${verb} events${rest.length > 1 ? '/<existing>' : ''}`;
  return `${verb} ${rest.join('/')}`;
}

function tally(lines: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return [...counts].map(([line, n]) => `${n} × ${line}`).join('\n');
}

describe('API writes for one AuthService created', function () {
  this.timeout(120_000);
  let admin: KubeClient;
  let ns: string;
  let controller: Controller | undefined;
  const writes: string[] = [];
  /** Resolves once the operator has written nothing for 3 s with nothing queued (Events are sent without waiting). */
  const quiet = async (): Promise<void> => {
    let seen = -1;
    await eventually('the operator quiet', async () => {
      const now = writes.length;
      if (now === seen && controller!.queue.depth === 0) return true;
      seen = now;
      await sleep(3000);
      return undefined;
    }, 60_000, 0);
  };

  before(async () => {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    ns = await createNamespace(admin, 'writes');
    for (const secret of sampleSecrets(ns)) await admin.apply(secret);
    await admin.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'backup-key', namespace: ns }, stringData: { 'encryption.key': 'test-only' } } as KubeObject);
  });
  after(async () => controller?.stop());

  it(`stays within ${MAX_WRITES} writes from create until Healthy with all 11 children, counted by keyward_operator_api_writes_total`, async () => {
    await operatorClient(); // binds the operator's ClusterRole
    const plane = await sharedControlPlane();
    const metrics = createOperatorMetrics();
    const client = await createKubeClient(kubeConfigFrom(plane.userKubeconfig('keyward-operator')), {
      onWrite: (verb, path) => {
        metrics.countWrite(verb, path);
        writes.push(describeWrite(verb, path));
      },
    });
    const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
    controller = createController({ client, namespace: ns, workers: 2, discoveryMs: 1000, resyncMs: 300_000, logger: silent });
    await controller.start();

    // Backup on (ConfigMap + CronJob), ServiceMonitor and PrometheusRule off: the 11 children of bench/operator/sample.ts,
    // whatever CRDs other suites installed on the shared control plane.
    await admin.apply(sampleAuthService(ns, 'login', {
      monitoring: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
      backup: { image: 'registry.example/backup-tools:2.1.0', s3: { bucket: 'auth-service-backups' }, encryptionKeySecretRef: { name: 'backup-key' } },
    }));
    const children = [
      `apis/apps/v1/namespaces/${ns}/deployments/login-blue`, `apis/apps/v1/namespaces/${ns}/deployments/login-green`,
      `api/v1/namespaces/${ns}/services/login`, `api/v1/namespaces/${ns}/services/login-blue`, `api/v1/namespaces/${ns}/services/login-green`,
      `api/v1/namespaces/${ns}/serviceaccounts/login`, `api/v1/namespaces/${ns}/configmaps/login-backup-scripts`,
      `apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/login`, `apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/login`,
      `apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/login`, `apis/batch/v1/namespaces/${ns}/cronjobs/login-backup`,
    ];
    const auth = await eventually('Healthy with every child', async () => {
      const a = (await admin.get<KubeObject>(`/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/login`)) as unknown as AuthService | undefined;
      if (a?.status?.phase !== 'Healthy') return undefined;
      for (const path of children) if ((await admin.get(`/${path}`)) === undefined) return undefined;
      return a;
    }, 90_000);
    await quiet();

    const counted = (await metrics.apiWrites.get()).values.reduce((sum, v) => sum + v.value, 0);
    expect(counted, 'the metric counts every write the client sent').to.equal(writes.length);
    expect(counted, `${counted} writes:\n${tally(writes)}`).to.be.at.most(MAX_WRITES);

    // Fewer writes, not less to read: `kubectl describe` still shows the conditions and the events of the rollout.
    expect(auth.status?.conditions?.map((c) => c.type)).to.include.members(['Ready', 'Progressing', 'Degraded']);
    const events = await admin.list<KubeObject & { reason: string; message: string; involvedObject: { uid: string } }>(`/api/v1/namespaces/${ns}/events`);
    const reasons = events.items.filter((e) => e.involvedObject.uid === auth.metadata.uid).map((e) => e.reason);
    expect(reasons).to.include.members(['Created', 'RolloutStarted', 'Promoted']);
  });

  it('leaves alone an env var another manager added to a Deployment: no apply, no Event, however many passes run', async () => {
    const blue = `/apis/apps/v1/namespaces/${ns}/deployments/login-blue`;
    await quiet();
    const before = writes.length;
    // What `kubectl set env deployment/login-blue DEBUG=1` sends.
    await admin.request('PATCH', blue, {
      body: { spec: { template: { spec: { containers: [{ name: CONTAINER_NAME, env: [{ name: 'DEBUG', value: '1' }] }] } } } },
      contentType: 'application/strategic-merge-patch+json',
      query: { fieldManager: 'kubectl-set' },
    });
    // Passes: the Deployment's own events, and one for each AuthService change.
    for (let i = 0; i < 3; i++) {
      await admin.mergePatch(`/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/login`, { metadata: { annotations: { 'test/touch': String(i) } } }, 'test');
      await sleep(500);
    }
    await quiet();
    const since = writes.slice(before);
    // The status may follow the pods the patch replaced; nothing else may be written.
    expect(since.filter((w) => w !== 'PATCH authservices/login/status'), 'writes after the patch').to.deep.equal([]);
    const live = await admin.get<KubeObject & { spec: { template: { spec: { containers: Array<{ env?: Array<{ name: string }> }> } } } }>(blue);
    expect(live?.spec.template.spec.containers[0]?.env?.map((e) => e.name)).to.include('DEBUG');
  });
});

