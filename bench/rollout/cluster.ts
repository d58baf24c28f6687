/**
 * The rollout bench's cluster: a fresh local control plane (hack/cluster) of
 * its own, the AuthService CRD, the operator's ClusterRole bound to user
 * keyward-operator (the identity the operator child runs as), and one
 * namespace with the Secrets an AuthService reads.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/cluster/control-plane.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../operator/kube/client.js';
import { installCrd, readYamlObjects, sampleSecrets } from '../../test/support/operator.js';

export const OPERATOR_USER = 'keyward-operator';

export interface BenchCluster {
  plane: ControlPlane;
  /** Admin client: the bench's own writes and watches. */
  admin: KubeClient;
  /** Kubeconfig of user keyward-operator, bound to operator/rbac/clusterrole.yaml. */
  operatorKubeconfig: string;
  /** A client with the operator's identity: the baseline writes as the operator does. */
  asOperator: KubeClient;
}

const clientFor = (path: string): Promise<KubeClient> => {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return createKubeClient(kc);
};

/** `onStarted` receives the plane as soon as it runs, so a later failure still stops it. */
export async function startBenchCluster(options: { dir: string; nodes: number; namespace: string; log: (line: string) => void; onStarted: (plane: ControlPlane) => void }): Promise<BenchCluster> {
  const plane = await startControlPlane({ dir: options.dir, nodes: options.nodes, log: options.log });
  options.onStarted(plane);
  const admin = await clientFor(plane.kubeconfigPath);
  await installCrd(admin, 'crds/authservice.yaml');
  for (const object of readYamlObjects('operator/rbac/clusterrole.yaml')) {
    if (object.kind === 'ClusterRole') await admin.apply(object);
  }
  await admin.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'keyward-operator-bench-rollout' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'keyward-operator' },
    subjects: [{ kind: 'User', name: OPERATOR_USER, apiGroup: 'rbac.authorization.k8s.io' }],
  } as KubeObject);
  await admin.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: options.namespace } });
  for (const secret of sampleSecrets(options.namespace)) await admin.apply(secret);
  const operatorKubeconfig = plane.userKubeconfig(OPERATOR_USER);
  return { plane, admin, operatorKubeconfig, asOperator: await clientFor(operatorKubeconfig) };
}
