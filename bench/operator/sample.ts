/**
 * The AuthService the benchmark creates, the Secrets it reads, and the
 * children it should get — computed with the operator's own builders, so the
 * list cannot drift from what the reconciler applies.
 *
 * Backup is on (ConfigMap + CronJob): the brief's full set of 11 children.
 * ServiceMonitor and PrometheusRule are off: their CRDs are not installed in a
 * bare cluster, and with them on every AuthService is re-queued each minute to
 * look for the CRDs, which would blur the idle-resync count.
 */
import type { AuthServiceInput } from '../../operator/api/types.js';
import type { KubeObject } from '../../operator/kube/client.js';
import { renderAll } from '../../operator/render.js';
import { sampleAuthService, sampleSecrets } from '../../test/support/operator.js';

export const CHILDREN_PER_AUTHSERVICE = 11;

export function benchAuthService(namespace: string, name: string, replicas: number): KubeObject {
  return sampleAuthService(namespace, name, {
    replicas,
    autoscaling: { minReplicas: replicas },
    monitoring: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
    backup: {
      image: 'registry.example/backup-tools:2.1.0',
      s3: { bucket: 'auth-service-backups' },
      encryptionKeySecretRef: { name: 'backup-key' },
    },
  });
}

export function benchSecrets(namespace: string): KubeObject[] {
  return [
    ...sampleSecrets(namespace),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'backup-key', namespace }, stringData: { 'encryption.key': 'bench-only' } } as KubeObject,
  ];
}

/**
 * What the operator applies for one AuthService on a cluster without the
 * optional CRDs, as plain objects (no ownerReference: the bench's baseline
 * applies these itself).
 */
export function childrenOf(namespace: string, name: string, replicas: number): KubeObject[] {
  const auth = benchAuthService(namespace, name, replicas) as unknown as AuthServiceInput;
  const objects = renderAll(auth, {
    activeColour: 'blue',
    secretsHash: '',
    crds: { verticalPodAutoscaler: false, serviceMonitor: false, prometheusRule: false },
  });
  if (objects.length !== CHILDREN_PER_AUTHSERVICE) {
    throw new Error(`the sample renders ${objects.length} children, not ${CHILDREN_PER_AUTHSERVICE}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return objects as KubeObject[];
}

/**
 * Children the operator applies only once the blue/green engine names a
 * colour, i.e. once the first colour is Available (operator/controller/
 * blue-green.ts, applyLayout): the stable Service and the HPA. Their time
 * includes the Deployment's pods becoming Ready, which is kwok's and the
 * controllers' work as much as the operator's; the other 9 are applied in
 * the first pass.
 */
export const gatedOnAvailability = (name: string): string[] => [`Service/${name}`, `HorizontalPodAutoscaler/${name}`];

/** `Kind/name` of every child, the keys the presence tracker reports. */
export const childKeys = (objects: readonly KubeObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata?.name}`);
