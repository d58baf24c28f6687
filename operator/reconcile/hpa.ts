// HorizontalPodAutoscaler `<name>` on the active colour's Deployment, with the
// guide's targets and scaling behaviour.
import type { V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { commonLabels, names, objectMeta } from './meta.js';

/** The per-pod request rate the HPA reads from the custom-metrics API (a Prometheus adapter serves it). */
export const RPS_METRIC = 'http_requests_per_second';

/** undefined when spec.autoscaling.enabled is false: then no HPA should exist. */
export function desiredHorizontalPodAutoscaler(auth: AuthService, activeColour: Colour): V2HorizontalPodAutoscaler | undefined {
  const scaling = auth.spec.autoscaling;
  if (!scaling.enabled) return undefined;
  const metrics: V2MetricSpec[] = [
    {
      type: 'Resource',
      resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: scaling.targetCPUUtilizationPercentage } },
    },
    {
      type: 'Resource',
      resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: scaling.targetMemoryUtilizationPercentage } },
    },
  ];
  if (scaling.requestsPerSecondPerPod > 0) {
    metrics.push({
      type: 'Pods',
      pods: { metric: { name: RPS_METRIC }, target: { type: 'AverageValue', averageValue: String(scaling.requestsPerSecondPerPod) } },
    });
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names(auth).colour(activeColour) },
      minReplicas: scaling.minReplicas,
      maxReplicas: scaling.maxReplicas,
      metrics,
      // Guide, "Horizontal Pod Autoscaler": scale up fast (double, or +4 pods,
      // every 15 s), scale down slowly (10 % a minute after 5 minutes' calm).
      behavior: {
        scaleDown: {
          stabilizationWindowSeconds: 300,
          policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }],
        },
        scaleUp: {
          stabilizationWindowSeconds: 0,
          policies: [
            { type: 'Percent', value: 100, periodSeconds: 15 },
            { type: 'Pods', value: 4, periodSeconds: 15 },
          ],
          selectPolicy: 'Max',
        },
      },
    },
  };
}
