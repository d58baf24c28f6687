/**
 * One real control plane (etcd, kube-apiserver, controller-manager, scheduler,
 * kwok) shared by the operator suites of a mocha run, started on first use.
 * Each suite works in its own namespace.
 */
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { sharedControlPlane } from '../../hack/cluster/shared.js';
import { createKubeClient, type KubeClient } from '../../operator/kube/client.js';

export { sharedControlPlane, stopSharedControlPlane } from '../../hack/cluster/shared.js';

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
