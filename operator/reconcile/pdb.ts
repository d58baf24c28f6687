// PodDisruptionBudget `<name>` (beyond the guide): a node drain may not take
// the serving colour below a majority of its pods.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { colourSelectorLabels, commonLabels, names, objectMeta } from './meta.js';

/** The fewest replicas the spec ever asks for: the HPA's floor, or the fixed count. */
function replicaFloor(auth: AuthService): number {
  return auth.spec.autoscaling.enabled ? auth.spec.autoscaling.minReplicas : auth.spec.replicas;
}

/** `activeColour`: the colour the stable Service selects, which the budget follows as it moves. */
export function desiredPodDisruptionBudget(auth: AuthService, activeColour: Colour): V1PodDisruptionBudget {
  // 51 % rounds up to a strict majority (2 of 3, 3 of 5). Below three replicas it leaves no
  // eviction at all (1 of 1, 2 of 2) and every drain would wait forever, so allow one at a time.
  const budget = replicaFloor(auth) >= 3 ? { minAvailable: '51%' } : { maxUnavailable: 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      ...budget,
      // The serving colour only. Counted over both, a rollout's ready preview pods made up the
      // majority, and a drain could take two of the three pods that carry the traffic.
      selector: { matchLabels: colourSelectorLabels(auth, activeColour) },
      // Pods that are not Ready serve nothing; evicting them must never be blocked.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
