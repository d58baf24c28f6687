// What renderAll produces, applied by the operator's own identity (the
// ClusterRole of operator/rbac) to a real kube-apiserver: every object is
// valid as written and permitted, and nothing beyond it is.
import { expect } from 'chai';
import type { AuthService } from '../../../operator/api/types.js';
import { fieldManager, KubeError, type KubeClient, type KubeObject } from '../../../operator/kube/client.js';
import { pathFor, resourceFor } from '../../../operator/kube/resources.js';
import { renderAll } from '../../../operator/render.js';
import { adminClient, createNamespace } from '../../support/cluster.js';
import { installCrd, operatorClient } from '../../support/operator.js';
import { everyField } from '../api/fixtures.js';

/** Server-side apply without storing anything (dryRun=All): the API server validates and authorises it all the same. */
async function dryRunApply(client: KubeClient, object: KubeObject): Promise<KubeError | undefined> {
  const { apiVersion, kind, metadata } = object;
  const path = pathFor(resourceFor(apiVersion as string, kind as string), metadata?.namespace, metadata?.name);
  try {
    await client.request('PATCH', path, {
      query: { fieldManager, force: true, dryRun: 'All' },
      contentType: 'application/apply-patch+yaml',
      body: object,
    });
    return undefined;
  } catch (err) {
    if (err instanceof KubeError) return err;
    throw err;
  }
}

describe('renderAll on kube-apiserver, as the operator', function () {
  this.timeout(180_000);
  let admin: KubeClient;
  let operator: KubeClient;
  let namespace: string;
  let auth: AuthService;

  before(async function () {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    operator = await operatorClient();
    namespace = await createNamespace(admin, 'render');
    const input = everyField();
    const { status: _status, ...object } = input;
    object.metadata = { name: 'login', namespace };
    auth = await admin.create<KubeObject>(`/apis/auth.keyward.dev/v1alpha1/namespaces/${namespace}/authservices`, object as KubeObject) as AuthService;
  });

  after(async function () {
    if (namespace) await admin.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  });

  it('accepts every built-in object the operator renders, and the operator may apply each one', async function () {
    const objects = renderAll(auth, {
      activeColour: 'blue',
      secretsHash: '0123456789abcdef',
      crds: { verticalPodAutoscaler: false, serviceMonitor: false, prometheusRule: false },
    });
    expect(objects.map((o) => o.kind)).to.include.members(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'PodDisruptionBudget', 'CronJob', 'ConfigMap', 'ServiceAccount']);
    const refusals: string[] = [];
    for (const object of objects) {
      const error = await dryRunApply(operator, object as KubeObject);
      if (error) refusals.push(`${object.kind}/${object.metadata.name}: ${error.status} ${error.message}`);
    }
    expect(refusals).to.deep.equal([]);
  });

  it('does not let the operator write a Secret', async function () {
    const error = await dryRunApply(operator, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stolen', namespace } } as KubeObject);
    expect(error?.status).to.equal(403);
  });
});
