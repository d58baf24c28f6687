import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { kubeconfigFiles, loadClusterAccess } from '../../../operator/kube/access.js';
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

  describe('which files, as kubectl chooses them', () => {
    let home: string;
    before(async () => {
      home = await mkdtemp(join(tmpdir(), 'keyward-home-'));
      await mkdir(join(home, '.kube'));
      await writeFile(join(home, '.kube', 'config'), 'apiVersion: v1\nkind: Config\n');
    });
    after(() => rm(home, { recursive: true, force: true }));

    it('refuses a KUBECONFIG whose files are all missing, instead of falling back to ~/.kube/config (another cluster)', () => {
      const missing = join(home, 'staging.yaml');
      expect(() => kubeconfigFiles(undefined, { KUBECONFIG: missing }, home)).to.throw(`KUBECONFIG names no file that exists (${missing}); fix it or unset it`);
    });

    it('reads the files of KUBECONFIG that exist, never ~/.kube/config while it is set, and ~/.kube/config when it is not', () => {
      const config = join(home, '.kube', 'config');
      expect(kubeconfigFiles(undefined, { KUBECONFIG: `${join(home, 'gone')}:${config}` }, home)).to.deep.equal([config]);
      expect(kubeconfigFiles(undefined, {}, home)).to.deep.equal([config]);
      expect(kubeconfigFiles('/explicit/path', { KUBECONFIG: join(home, 'gone') }, home), '--kubeconfig first').to.deep.equal(['/explicit/path']);
      expect(kubeconfigFiles(undefined, {}, join(home, 'nobody')), 'nothing: in-cluster').to.equal(undefined);
    });

    it('merges several files as kubectl does: the first to set the current context or to name an entry wins; paths stay relative to their own file', async () => {
      const a = join(home, 'a');
      const b = join(home, 'b');
      await mkdir(a);
      await mkdir(b);
      await writeFile(join(b, 'token'), 'from-b\n');
      await writeFile(join(a, 'config'), [
        'apiVersion: v1', 'kind: Config', 'current-context: dev',
        'contexts: [{name: dev, context: {cluster: c, user: u, namespace: auth-service}}]',
      ].join('\n'));
      await writeFile(join(b, 'config'), [
        'apiVersion: v1', 'kind: Config', 'current-context: other',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:7443", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {tokenFile: token}}]',
        'contexts: [{name: dev, context: {cluster: elsewhere, user: u}}, {name: other, context: {cluster: c, user: u}}]',
      ].join('\n'));
      const previous = process.env['KUBECONFIG'];
      process.env['KUBECONFIG'] = `${join(a, 'config')}:${join(b, 'config')}`;
      try {
        const access = await loadClusterAccess();
        expect(access.server).to.equal('https://127.0.0.1:7443');
        expect(access.namespace).to.equal('auth-service');
        expect((await access.requestOptions()).headers).to.deep.equal({ Authorization: 'Bearer from-b' });
      } finally {
        if (previous === undefined) delete process.env['KUBECONFIG'];
        else process.env['KUBECONFIG'] = previous;
      }
    });
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
