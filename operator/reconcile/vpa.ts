// VerticalPodAutoscaler `<name>` on the active colour's Deployment (guide,
// "Vertical Pod Autoscaler"). The VPA CRD is optional in a cluster, so its type
// is declared here rather than taken from a client library.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { AuthService, Colour, CpuMemory, VpaUpdateMode } from '../api/types.js';
import { CONTAINER_NAME, commonLabels, names, objectMeta } from './meta.js';

export const VPA_API_VERSION = 'autoscaling.k8s.io/v1';

/** The fields of autoscaling.k8s.io/v1 VerticalPodAutoscaler that the operator sets. */
export interface VerticalPodAutoscaler {
  apiVersion: typeof VPA_API_VERSION;
  kind: 'VerticalPodAutoscaler';
  metadata: V1ObjectMeta;
  spec: {
    targetRef: { apiVersion: string; kind: string; name: string };
    updatePolicy: { updateMode: VpaUpdateMode };
    resourcePolicy: {
      containerPolicies: Array<{
        containerName: string;
        minAllowed: CpuMemory;
        maxAllowed: CpuMemory;
        controlledResources: Array<'cpu' | 'memory'>;
      }>;
    };
  };
}

/** undefined when spec.verticalAutoscaling.enabled is false. */
export function desiredVerticalPodAutoscaler(auth: AuthService, activeColour: Colour): VerticalPodAutoscaler | undefined {
  const vpa = auth.spec.verticalAutoscaling;
  if (!vpa.enabled) return undefined;
  return {
    apiVersion: VPA_API_VERSION,
    kind: 'VerticalPodAutoscaler',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: names(auth).colour(activeColour) },
      updatePolicy: { updateMode: vpa.updateMode },
      resourcePolicy: {
        containerPolicies: [
          {
            containerName: CONTAINER_NAME,
            minAllowed: { ...vpa.minAllowed },
            maxAllowed: { ...vpa.maxAllowed },
            controlledResources: ['cpu', 'memory'],
          },
        ],
      },
    },
  };
}
