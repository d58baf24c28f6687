/**
 * Which optional CRDs (VPA, ServiceMonitor, PrometheusRule) the cluster serves,
 * asked through API discovery. Absent ones are asked about again on every
 * refresh, so installing a CRD later works without restarting the operator.
 * Only a 404 means "not served": any other failure (a 503 while an API server
 * restarts, say) fails the refresh, and the controller keeps what it knew.
 */
import type { KubeClient } from '../kube/client.js';
import { KubeError } from '../kube/client.js';
import type { OptionalCrds } from '../render.js';

interface ApiResourceList {
  resources: Array<{ name: string }>;
}

async function serves(client: KubeClient, groupVersion: string, plural: string): Promise<boolean> {
  try {
    const list = await client.request<ApiResourceList>('GET', `/apis/${groupVersion}`);
    return list.resources.some((r) => r.name === plural);
  } catch (err) {
    if (err instanceof KubeError && err.status === 404) return false;
    throw err;
  }
}

export async function discoverOptionalCrds(client: KubeClient): Promise<OptionalCrds> {
  const [verticalPodAutoscaler, serviceMonitor, prometheusRule] = await Promise.all([
    serves(client, 'autoscaling.k8s.io/v1', 'verticalpodautoscalers'),
    serves(client, 'monitoring.coreos.com/v1', 'servicemonitors'),
    serves(client, 'monitoring.coreos.com/v1', 'prometheusrules'),
  ]);
  return { verticalPodAutoscaler, serviceMonitor, prometheusRule };
}
