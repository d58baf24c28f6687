/**
 * A benchmark's cluster: a fresh local control plane (hack/cluster) of its
 * own, the AuthService CRD, the operator's ClusterRole bound to user
 * keyward-operator (the identity the operator child runs as), and namespaces
 * with the Secrets an AuthService reads.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/cluster/control-plane.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../operator/kube/client.js';
import { installCrd, readYamlObjects } from '../../test/support/operator.js';

export const OPERATOR_USER = 'keyward-operator';

export interface BenchCluster {
  plane: ControlPlane;
  /** Admin client: the bench's own applies, lists and watches. */
  admin: KubeClient;
  /** Kubeconfig of user keyward-operator, bound to operator/rbac/clusterrole.yaml. */
  operatorKubeconfig: string;
}

/** A client for the kubeconfig at `path`. */
export function kubeClientFrom(path: string): Promise<KubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return createKubeClient(kc);
}

/** Builds whatever control plane binary is missing (hack/cluster/build.sh; instant when cached), its progress on our stderr. */
export function buildControlPlane(repo: string, say: (line: string) => void): void {
  say('control plane binaries: bash hack/cluster/build.sh (instant when cached)');
  execFileSync('bash', [join(repo, 'hack/cluster/build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** `onStarted` receives the plane as soon as it runs, so a later failure still stops it. */
export async function startBenchCluster(options: { dir: string; nodes: number; log: (line: string) => void; onStarted: (plane: ControlPlane) => void }): Promise<BenchCluster> {
  const plane = await startControlPlane({ dir: options.dir, nodes: options.nodes, log: options.log });
  options.onStarted(plane);
  const admin = await kubeClientFrom(plane.kubeconfigPath);
  await installCrd(admin, 'crds/authservice.yaml');
  for (const object of readYamlObjects('operator/rbac/clusterrole.yaml')) {
    if (object.kind === 'ClusterRole') await admin.apply(object);
  }
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'keyward-operator-bench' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'keyward-operator' },
    subjects: [{ kind: 'User', name: OPERATOR_USER, apiGroup: 'rbac.authorization.k8s.io' }],
  } as KubeObject);
  options.log('CRD installed; ClusterRole keyward-operator bound to user keyward-operator');
  return { plane, admin, operatorKubeconfig: plane.userKubeconfig(OPERATOR_USER) };
}

/** A namespace with `secrets` (those an AuthService reads). */
export async function prepareNamespace(admin: KubeClient, name: string, secrets: KubeObject[]): Promise<void> {
  await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // The namespace controller creates the default ServiceAccount shortly after; nothing here needs it.
  for (const secret of secrets) await admin.apply(secret);
}
