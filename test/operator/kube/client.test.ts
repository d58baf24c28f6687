import { expect } from 'chai';
import { createKubeClient, KubeError, type KubeClient, type KubeObject, type WatchEvent } from '../../../operator/kube/client.js';
import { adminClient, createNamespace, kubeConfigFrom, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';

describe('operator/kube/client against a real kube-apiserver', function () {
  this.timeout(120_000);
  let client: KubeClient;
  let namespace: string;

  before(async () => {
    client = await adminClient();
    namespace = await createNamespace(client, 'client');
  });

  const configMap = (name: string, data: Record<string, string>): KubeObject & { data: Record<string, string> } => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data,
  });

  it('creates and updates with server-side apply under the keyward-operator field manager', async () => {
    const created = await client.apply(configMap('applied', { a: '1' }));
    expect(created.metadata?.uid).to.be.a('string');
    await client.apply(configMap('applied', { a: '2' }));
    const live = await client.get<KubeObject & { data: Record<string, string>; metadata: { managedFields: Array<{ manager: string; operation: string }> } }>(
      `/api/v1/namespaces/${namespace}/configmaps/applied`,
    );
    expect(live?.data).to.deep.equal({ a: '2' });
    expect(live?.metadata.managedFields.map((f) => [f.manager, f.operation])).to.deep.include(['keyward-operator', 'Apply']);
  });

  it('answers undefined for a missing object and a KubeError with the API reason otherwise', async () => {
    expect(await client.get(`/api/v1/namespaces/${namespace}/configmaps/none`)).to.equal(undefined);
    const err = await client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name', namespace } }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(KubeError);
    expect((err as KubeError).status).to.equal(422);
    expect((err as KubeError).reason).to.equal('Invalid');
  });

  it('counts mutating requests and not reads', async () => {
    const before = client.writes;
    await client.get(`/api/v1/namespaces/${namespace}/configmaps/applied`);
    await client.list(`/api/v1/namespaces/${namespace}/configmaps`);
    expect(client.writes).to.equal(before);
    await client.apply(configMap('counted', { a: '1' }));
    expect(client.writes).to.equal(before + 1);
  });

  it('streams watch events from a resourceVersion until aborted', async () => {
    const list = await client.list(`/api/v1/namespaces/${namespace}/configmaps`);
    const events: WatchEvent<KubeObject>[] = [];
    const abort = new AbortController();
    const done = client.watch<KubeObject>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
      (e) => events.push(e),
      abort.signal,
    );
    await client.apply(configMap('watched', { a: '1' }));
    await eventually('the ADDED event', async () => events.find((e) => e.type === 'ADDED' && e.object.metadata?.name === 'watched'));
    abort.abort();
    await done;
  });

  it('ends a watch with the error its event handler raised (how an in-stream 410 Gone reaches the informer)', async () => {
    const list = await client.list(`/api/v1/namespaces/${namespace}/configmaps`);
    const gone = new KubeError(410, 'Expired', 'too old resource version');
    const watching = client
      .watch(`/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion: list.metadata.resourceVersion }, () => {
        throw gone;
      }, AbortSignal.timeout(20_000))
      .catch((e: unknown) => e);
    await client.apply(configMap('provokes-an-event', { a: '1' }));
    expect(await watching).to.equal(gone);
  });

  it('uses the credentials of the kubeconfig it is given: a user without RBAC is forbidden', async () => {
    const plane = await sharedControlPlane();
    const nobody = await createKubeClient(kubeConfigFrom(plane.userKubeconfig('nobody')));
    const err = await nobody.list(`/api/v1/namespaces/${namespace}/secrets`).catch((e: unknown) => e);
    expect((err as KubeError).status).to.equal(403);
    expect((err as KubeError).reason).to.equal('Forbidden');
  });
});
