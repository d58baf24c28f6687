/**
 * One real control plane (etcd, kube-apiserver, controller-manager, scheduler,
 * kwok) shared by the operator suites of a mocha run, started on first use.
 * Each suite works in its own namespace.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/cluster/control-plane.js';
import { createKubeClient, type KubeClient } from '../../operator/kube/client.js';

let shared: Promise<{ plane: ControlPlane; dir: string }> | undefined;

export async function sharedControlPlane(): Promise<ControlPlane> {
  shared ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-test-cluster-'));
    try {
      return { plane: await startControlPlane({ dir, nodes: 3 }), dir };
    } catch (err) {
      throw new Error('could not start the local control plane; build it first with: bash hack/cluster/build.sh', { cause: err });
    }
  })();
  return (await shared).plane;
}

export async function stopSharedControlPlane(): Promise<void> {
  if (!shared) return;
  const { plane, dir } = await shared.catch(() => ({ plane: undefined, dir: undefined }));
  shared = undefined;
  await plane?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** An admin client on the shared control plane. */
export async function adminClient(): Promise<KubeClient> {
  const plane = await sharedControlPlane();
  return createKubeClient(kubeConfigFrom(plane.kubeconfigPath));
}

/** Creates a fresh namespace for one suite and returns its name. */
export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}
