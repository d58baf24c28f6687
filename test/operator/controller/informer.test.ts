import { expect } from 'chai';
import { createInformer, type InformerEvent } from '../../../operator/controller/informer.js';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { adminClient, createNamespace } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';

describe('operator/controller/informer against a real kube-apiserver', function () {
  this.timeout(60_000);
  let client: KubeClient;
  let namespace: string;
  before(async () => {
    client = await adminClient();
    namespace = await createNamespace(client, 'informer');
  });

  const configMap = (name: string, value: string): KubeObject =>
    ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { value } }) as KubeObject;

  it('lists, then follows changes in its cache, with apiVersion and kind on listed items too', async () => {
    await client.apply(configMap('before-start', '1'));
    const seen: Array<[InformerEvent, string | undefined]> = [];
    const informer = createInformer<KubeObject>({
      client,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      onEvent: (type, o) => seen.push([type, o?.metadata?.name]),
    });
    informer.start();
    try {
      await informer.synced;
      expect(informer.get(namespace, 'before-start')).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
      await client.apply(configMap('after-start', '1'));
      await eventually('the new object in the cache', async () => informer.get(namespace, 'after-start'));
      await client.delete(`/api/v1/namespaces/${namespace}/configmaps/after-start`);
      await eventually('the deletion', async () => (informer.get(namespace, 'after-start') ? undefined : true));
      expect(seen).to.deep.include.members([['added', 'before-start'], ['synced', undefined], ['added', 'after-start'], ['deleted', 'after-start']]);
    } finally {
      informer.stop();
    }
  });

  it('lists in pages: every object, one request per page, and a change made after the list is followed', async () => {
    const paged = await createNamespace(client, 'informer-pages');
    for (let i = 0; i < 5; i++) await client.apply({ ...configMap(`page-${i}`, String(i)), metadata: { name: `page-${i}`, namespace: paged } } as KubeObject);
    const lists: string[] = [];
    const counting: KubeClient = {
      ...client,
      list: (path, query) => {
        lists.push(String(query?.['continue'] ?? ''));
        return client.list(path, query);
      },
    };
    const informer = createInformer<KubeObject>({ client: counting, path: `/api/v1/namespaces/${paged}/configmaps`, pageSize: 2, onEvent: () => undefined });
    informer.start();
    try {
      await informer.synced;
      // kube-root-ca.crt, which every namespace gets, and the five: three pages of two.
      expect(informer.list().map((o) => o.metadata?.name).sort()).to.deep.equal(['kube-root-ca.crt', 'page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
      expect(lists).to.have.length(3);
      expect(lists[0], 'the first page has no continue token').to.equal('');
      expect(informer.get(paged, 'page-4')).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
      await client.apply({ ...configMap('page-5', '5'), metadata: { name: 'page-5', namespace: paged } } as KubeObject);
      await eventually('the object made after the list', async () => informer.get(paged, 'page-5'));
    } finally {
      informer.stop();
    }
  });

  it('restarts a watch that has gone silent and still sees the changes made afterwards', async () => {
    const restarts: string[] = [];
    const informer = createInformer<KubeObject>({
      client,
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      onEvent: () => undefined,
      onRestart: (reason) => restarts.push(reason),
      stallMs: 1000,
    });
    informer.start();
    try {
      await informer.synced;
      await eventually('a restart for silence', async () => (restarts.includes('stalled') ? true : undefined), 15_000);
      await client.apply(configMap('after-stall', '1'));
      await eventually('the change after the restart', async () => informer.get(namespace, 'after-stall'));
    } finally {
      informer.stop();
    }
  });
});
