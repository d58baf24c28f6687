import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { AuthService } from '../../../operator/api/types.js';
import { KubeError, type KubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { commandPatch } from '../../../operator/rollout/index.js';
import { adminClient, createNamespace, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, runOperator, sampleAuthService, sampleSecrets, type RunningOperator } from '../../support/operator.js';

type Live = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

const children = (ns: string, name: string): Array<[string, string]> => [
  [`/apis/apps/v1/namespaces/${ns}/deployments/${name}-blue`, 'Deployment'],
  [`/apis/apps/v1/namespaces/${ns}/deployments/${name}-green`, 'Deployment'],
  [`/api/v1/namespaces/${ns}/services/${name}`, 'Service'],
  [`/api/v1/namespaces/${ns}/services/${name}-blue`, 'Service'],
  [`/api/v1/namespaces/${ns}/services/${name}-green`, 'Service'],
  [`/api/v1/namespaces/${ns}/serviceaccounts/${name}`, 'ServiceAccount'],
  [`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/${name}`, 'HorizontalPodAutoscaler'],
  [`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`, 'NetworkPolicy'],
  [`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`, 'PodDisruptionBudget'],
];

describe('the operator against a real control plane', function () {
  this.timeout(180_000);
  let admin: KubeClient;
  let ns: string;
  let operator: RunningOperator;
  const authPath = (name = 'login'): string => `/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/${name}`;
  const getAuth = async (name = 'login'): Promise<AuthService> => (await admin.get<KubeObject>(authPath(name))) as unknown as AuthService;

  before(async () => {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    ns = await createNamespace(admin, 'operator');
    for (const secret of sampleSecrets(ns)) await admin.apply(secret);
    operator = await runOperator(ns);
    await admin.apply(sampleAuthService(ns, 'login', { rollout: { scaleDownDelaySeconds: 2 } }));
  });
  after(async () => operator?.stop());

  it('creates every child, owned by the AuthService', async () => {
    const auth = await eventually('the AuthService', () => getAuth());
    for (const [path, kind] of children(ns, 'login')) {
      const child = await eventually(`${kind} ${path}`, () => admin.get<Live>(path));
      const owner = child.metadata?.ownerReferences?.find((o) => o.kind === 'AuthService');
      expect(owner, `${kind} ownerReference`).to.deep.include({ name: 'login', uid: auth.metadata.uid, controller: true, blockOwnerDeletion: true });
      expect(child.metadata?.labels?.['app.kubernetes.io/managed-by']).to.equal('keyward-operator');
    }
  });

  it('brings the active colour up and reports Healthy with 3/3 ready', async () => {
    const auth = await eventually('phase Healthy', async () => {
      const a = await getAuth();
      return a.status?.phase === 'Healthy' ? a : undefined;
    }, 120_000);
    expect(auth.status).to.include({ activeColor: 'blue', readyText: '3/3', activeImage: 'registry.example/keyward-service:1.4.0', observedGeneration: auth.metadata.generation });
    const ready = auth.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).to.include({ status: 'True', reason: 'AllReplicasReady' });
    const service = await admin.get<Live>(`/api/v1/namespaces/${ns}/services/login`);
    expect((service?.spec as { selector: Record<string, string> }).selector['auth.keyward.dev/color']).to.equal('blue');
    const green = await admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/login-green`);
    expect(green?.spec?.['replicas']).to.equal(0);
  });

  it('says CRDNotInstalled for ServiceMonitor, then applies it once the CRD is installed, without a restart', async () => {
    const before = await getAuth();
    expect(before.status?.conditions?.find((c) => c.type === 'ServiceMonitor')).to.include({ status: 'False', reason: 'CRDNotInstalled' });
    await installCrd(admin, 'test/fixtures/servicemonitor-crd.yaml');
    await eventually('the ServiceMonitor', () => admin.get(`/apis/monitoring.coreos.com/v1/namespaces/${ns}/servicemonitors/login`), 60_000);
    await eventually('condition ServiceMonitor=True', async () => {
      const a = await getAuth();
      return a.status?.conditions?.find((c) => c.type === 'ServiceMonitor' && c.status === 'True');
    });
  });

  it('restores a child deleted by hand and undoes a hand edit', async () => {
    await admin.delete(`/api/v1/namespaces/${ns}/services/login`);
    await eventually('the Service recreated', () => admin.get(`/api/v1/namespaces/${ns}/services/login`));
    await admin.mergePatch(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/login`, { spec: { maxUnavailable: null, minAvailable: 0 } });
    await eventually('the PodDisruptionBudget restored', async () => {
      const pdb = await admin.get<Live>(`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/login`);
      return pdb?.spec?.['minAvailable'] !== 0 ? pdb : undefined;
    });
  });

  it('rolls a Secret rotation out as a new revision on the other colour, then flips traffic to it', async () => {
    const before = (await getAuth()).status;
    await admin.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'auth-db', namespace: ns }, stringData: { url: 'postgres://auth:rotated@postgres:5432/auth' } } as KubeObject);
    const after = await eventually('traffic on green at a new revision', async () => {
      const a = await getAuth();
      return a.status?.activeColor === 'green' && a.status.activeRevision !== before?.activeRevision ? a.status : undefined;
    }, 90_000);
    const green = await admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/login-green`);
    const template = (green?.spec as { template: KubeObject }).template;
    expect(template.metadata?.labels?.['auth.keyward.dev/revision']).to.equal(after.activeRevision);
    expect(template.metadata?.annotations?.['auth.keyward.dev/secrets-hash']).to.be.a('string');
    const service = await admin.get<Live>(`/api/v1/namespaces/${ns}/services/login`);
    expect((service?.spec as { selector: Record<string, string> }).selector['auth.keyward.dev/color']).to.equal('green');
    // The old colour is scaled to nothing after the delay, and kept for a fast rollback.
    await eventually('blue scaled to 0', async () => ((await admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/login-blue`))?.spec?.['replicas'] === 0 ? true : undefined), 60_000);
  });

  it('passes the TOTP encryption key from its Secret, and rolls a rotated key out as a new revision', async () => {
    const totp = (data: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'auth-totp', namespace: ns }, stringData: data }) as KubeObject;
    const key = (): string => randomBytes(32).toString('base64');
    // No previous keys yet: that entry is optional, so the pods start without it.
    await admin.apply(totp({ 'totp-encryption-key': key() }));
    await admin.apply(sampleAuthService(ns, 'mfa', { mfa: { encryptionKeySecretRef: { name: 'auth-totp' } }, rollout: { scaleDownDelaySeconds: 1 } }));
    const first = await eventually('mfa Healthy on blue', async () => {
      const a = await getAuth('mfa');
      return a.status?.phase === 'Healthy' && a.status.activeColor === 'blue' ? a.status : undefined;
    }, 90_000);
    const blue = await admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/mfa-blue`);
    const env = new Map(((blue?.spec as { template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom?: unknown }> }> } } }).template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.valueFrom]));
    expect(env.get('TOTP_ENCRYPTION_KEY')).to.deep.equal({ secretKeyRef: { name: 'auth-totp', key: 'totp-encryption-key' } });
    expect(env.get('TOTP_PREVIOUS_ENCRYPTION_KEYS')).to.deep.equal({ secretKeyRef: { name: 'auth-totp', key: 'totp-previous-encryption-keys', optional: true } });

    // The rotation: a new key, the old one kept to decrypt what it encrypted.
    const old = (await admin.get<KubeObject & { data: Record<string, string> }>(`/api/v1/namespaces/${ns}/secrets/auth-totp`))?.data['totp-encryption-key'] ?? '';
    await admin.apply(totp({ 'totp-encryption-key': key(), 'totp-previous-encryption-keys': Buffer.from(old, 'base64').toString() }));
    const rotated = await eventually('mfa on green at a new revision', async () => {
      const a = await getAuth('mfa');
      return a.status?.activeColor === 'green' && a.status.phase === 'Healthy' && a.status.activeRevision !== first.activeRevision ? a.status : undefined;
    }, 90_000);
    const green = await admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/mfa-green`);
    expect((green?.spec as { template: KubeObject }).template.metadata?.labels?.['auth.keyward.dev/revision']).to.equal(rotated.activeRevision);
    // Leave the namespace as the next tests expect it: only login.
    await admin.delete(authPath('mfa'));
    await eventually('mfa gone', async () => ((await admin.get(authPath('mfa'))) === undefined ? true : undefined), 60_000);
  });

  it('writes nothing when nothing changed: a restarted operator after a full pass, after a CLI command too', async () => {
    await eventually('phase Healthy again', async () => ((await getAuth()).status?.phase === 'Healthy' ? true : undefined), 120_000);
    // The CLI's command lives in status.rollout.commands, which the operator never writes: it must
    // not count as a difference between the status it would write and the one there is.
    const sent = commandPatch('abort', Date.now());
    await admin.mergePatch(`${authPath()}/status`, sent, 'keyward-cli');
    const acknowledged = async (): Promise<unknown> => ((await getAuth()).status?.rollout as { acknowledged?: Record<string, string> } | undefined)?.acknowledged?.['abort'];
    await eventually('the command acknowledged', async () => ((await acknowledged()) === sent.status.rollout.commands.abort ? true : undefined));
    await operator.stop();
    operator = await runOperator(ns);
    // Every AuthService is reconciled once on start (here: one); wait for that pass to finish.
    await eventually('the first full pass', async () => (operator.reconciles.success >= 1 ? true : undefined));
    // And for any pass the informers' first events ask for.
    await sleep(2000);
    expect(operator.reconciles.error).to.equal(0);
    expect(operator.client.writes, JSON.stringify(operator.logs.filter((l) => l.level !== 'debug'))).to.equal(0);
  });

  it('deletes the HPA when autoscaling is turned off, and creates it again when turned on', async () => {
    const hpaPath = `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/login`;
    await admin.mergePatch(authPath(), { spec: { autoscaling: { enabled: false } } }, 'test');
    await eventually('the HPA gone', async () => ((await admin.get(hpaPath)) === undefined ? true : undefined));
    await admin.mergePatch(authPath(), { spec: { autoscaling: { enabled: true } } }, 'test');
    await eventually('the HPA back', () => admin.get(hpaPath));
  });

  it('takes a field out of a child when the spec stops asking for it', async () => {
    const npPath = `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/login`;
    const ports = async (): Promise<number[]> => {
      const np = await admin.get<Live>(npPath);
      return ((np?.spec?.['egress'] as Array<{ ports?: Array<{ port?: number }> }>) ?? []).flatMap((r) => r.ports ?? []).map((p) => p.port ?? 0);
    };
    await admin.mergePatch(authPath(), { spec: { networkPolicy: { additionalEgressPorts: [{ port: 587, protocol: 'TCP' }] } } }, 'test');
    await eventually('port 587 allowed', async () => ((await ports()).includes(587) ? true : undefined));
    await admin.mergePatch(authPath(), { spec: { networkPolicy: { additionalEgressPorts: null } } }, 'test');
    await eventually('port 587 no longer allowed', async () => (!(await ports()).includes(587) ? true : undefined));
  });

  it('refuses an invalid AuthService at the API server, naming the field', async () => {
    const bad = sampleAuthService(ns, 'bad', { autoscaling: { enabled: true, minReplicas: 10, maxReplicas: 2 } });
    const err = await admin.apply(bad).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeError);
    expect((err as KubeError).status).to.equal(422);
    expect((err as KubeError).message).to.match(/spec\.autoscaling/);
    const noImage = sampleAuthService(ns, 'bad2', { image: 42 });
    expect(((await admin.apply(noImage).catch((e: unknown) => e)) as KubeError).message).to.match(/spec\.image/);
  });

  it('resumes its watches after the API server restarts, and reconciles a change made afterwards', async () => {
    const plane = await sharedControlPlane();
    await plane.restartApiServer();
    await admin.apply(sampleAuthService(ns, 'after-restart'));
    await eventually('children of an AuthService created after the restart', () => admin.get(`/api/v1/namespaces/${ns}/services/after-restart`), 90_000);
  });

  it('leaves garbage collection of the children to Kubernetes when the AuthService is deleted', async () => {
    await admin.delete(authPath('after-restart'));
    await eventually('children gone', async () => ((await admin.get(`/api/v1/namespaces/${ns}/services/after-restart`)) === undefined ? true : undefined), 90_000);
    expect(await admin.get(`/apis/apps/v1/namespaces/${ns}/deployments/after-restart-blue`)).to.equal(undefined);
  });
});
