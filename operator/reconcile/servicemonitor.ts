// ServiceMonitor `<name>` (guide, "Service Monitor Configuration"): /metrics on
// the `http` port every 30 s with a 10 s timeout, pod and node relabelled in.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { AuthService } from '../api/types.js';
import { LABEL_COLOUR, LABEL_INSTANCE, commonLabels, names, namespaceOf, objectMeta, selectorLabels } from './meta.js';

export const MONITORING_API_VERSION = 'monitoring.coreos.com/v1';

/** The fields of monitoring.coreos.com/v1 ServiceMonitor that the operator sets. */
export interface ServiceMonitor {
  apiVersion: typeof MONITORING_API_VERSION;
  kind: 'ServiceMonitor';
  metadata: V1ObjectMeta;
  spec: {
    jobLabel: string;
    selector: {
      matchLabels: Record<string, string>;
      matchExpressions: Array<{ key: string; operator: 'Exists' }>;
    };
    namespaceSelector: { matchNames: string[] };
    endpoints: Array<{
      port: string;
      path: string;
      interval: string;
      scrapeTimeout: string;
      relabelings: Array<{ sourceLabels: string[]; targetLabel: string }>;
    }>;
  };
}

/**
 * The Prometheus `job` of the service's metrics: the AuthService's name (the
 * ServiceMonitor takes it from each Service's app.kubernetes.io/instance label).
 */
export function metricsJob(auth: AuthService): string {
  return names(auth).stable;
}

/** undefined when spec.monitoring.serviceMonitor.enabled is false. */
export function desiredServiceMonitor(auth: AuthService): ServiceMonitor | undefined {
  const { serviceMonitor, labels } = auth.spec.monitoring;
  if (!serviceMonitor.enabled) return undefined;
  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'ServiceMonitor',
    // Beside the AuthService rather than in `monitoring` as in the guide: an
    // ownerReference cannot cross namespaces.
    metadata: objectMeta(auth, names(auth).stable, { ...labels, ...commonLabels(auth) }),
    spec: {
      jobLabel: LABEL_INSTANCE,
      // The per-colour Services only: together they reach every pod exactly
      // once, the preview colour's included; the stable Service would scrape the
      // active pods a second time.
      selector: {
        matchLabels: selectorLabels(auth),
        matchExpressions: [{ key: LABEL_COLOUR, operator: 'Exists' }],
      },
      namespaceSelector: { matchNames: [namespaceOf(auth)] },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: serviceMonitor.interval,
          scrapeTimeout: serviceMonitor.scrapeTimeout,
          relabelings: [
            { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
            { sourceLabels: ['__meta_kubernetes_pod_node_name'], targetLabel: 'node' },
          ],
        },
      ],
    },
  };
}
