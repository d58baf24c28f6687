// PodDisruptionBudget `<name>` (beyond the guide): a node drain may not take
// the service below a majority of its pods.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { AuthService } from '../api/types.js';
import { commonLabels, names, objectMeta, selectorLabels } from './meta.js';

/** The fewest replicas the spec ever asks for: the HPA's floor, or the fixed count. */
function replicaFloor(auth: AuthService): number {
  return auth.spec.autoscaling.enabled ? auth.spec.autoscaling.minReplicas : auth.spec.replicas;
}

export function desiredPodDisruptionBudget(auth: AuthService): V1PodDisruptionBudget {
  // 51 % rounds up to a strict majority (2 of 3, 3 of 5). With a single replica
  // that would be 1 of 1 and block every drain forever, so allow one eviction.
  const budget = replicaFloor(auth) > 1 ? { minAvailable: '51%' } : { maxUnavailable: 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      ...budget,
      // Both colours: during a rollout the preview pods count towards the majority too.
      selector: { matchLabels: selectorLabels(auth) },
      // Pods that are not Ready serve nothing; evicting them must never be blocked.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
