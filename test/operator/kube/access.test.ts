import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadClusterAccess } from '../../../operator/kube/access.js';
import { createKubeClient } from '../../../operator/kube/client.js';
import { sharedControlPlane } from '../../support/cluster.js';

describe('operator/kube/access: the kubeconfig loader', function () {
  this.timeout(60_000);

  it('reaches the API server with the token of an admin kubeconfig and the client certificate of a user one', async () => {
    const plane = await sharedControlPlane();
    const admin = await createKubeClient(await loadClusterAccess(plane.kubeconfigPath));
    expect(await admin.get('/api/v1/namespaces/default')).to.not.equal(undefined);
    const user = await createKubeClient(await loadClusterAccess(plane.userKubeconfig('someone')));
    const denied = await user.get('/api/v1/namespaces/default').catch((e: unknown) => e);
    expect((denied as { status?: number }).status, 'a known but unprivileged user: 403, not 401').to.equal(403);
  });

  it('takes the namespace of the current context, and resolves file paths relative to the kubeconfig', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-kubeconfig-'));
    try {
      await writeFile(join(dir, 'token'), 'from-a-file\n');
      await writeFile(join(dir, 'config'), [
        'apiVersion: v1', 'kind: Config', 'current-context: dev',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443/", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {tokenFile: token}}]',
        'contexts: [{name: dev, context: {cluster: c, user: u, namespace: auth-service}}]',
      ].join('\n'));
      const access = await loadClusterAccess(join(dir, 'config'));
      expect(access.server).to.equal('https://127.0.0.1:6443');
      expect(access.namespace).to.equal('auth-service');
      const options = await access.requestOptions();
      expect(options.headers).to.deep.equal({ Authorization: 'Bearer from-a-file' });
      expect(options.rejectUnauthorized).to.equal(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a kubeconfig that has no current context', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-kubeconfig-'));
    try {
      await writeFile(join(dir, 'config'), 'apiVersion: v1\nkind: Config\nclusters: []\n');
      const err = await loadClusterAccess(join(dir, 'config')).catch((e: unknown) => e);
      expect((err as Error).message).to.equal(`${join(dir, 'config')}: no current context`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
