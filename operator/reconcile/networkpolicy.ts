// NetworkPolicy `<name>` for the service's pods of both colours (guide,
// "Network Policies"): ingress only on the service port and only from the
// ingress controller, Prometheus and the operator; egress only to PostgreSQL,
// Redis, HTTPS and DNS (plus what the spec adds).
import type {
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1NetworkPolicySpec,
} from '@kubernetes/client-node';
import type { AuthService, NamespaceSelector } from '../api/types.js';
import { commonLabels, names, objectMeta, selectorLabels } from './meta.js';

/** Guide, "Network Policies", egress ports verbatim. */
export const EGRESS_PORTS: readonly V1NetworkPolicyPort[] = [
  { protocol: 'TCP', port: 5432 }, // PostgreSQL
  { protocol: 'TCP', port: 6379 }, // Redis
  { protocol: 'TCP', port: 443 }, // HTTPS (email, monitoring)
  { protocol: 'TCP', port: 53 }, // DNS
  { protocol: 'UDP', port: 53 }, // DNS
];

/**
 * V1NetworkPolicy as the API server reads it. client-node's model calls the
 * ingress rule's `from` `_from` (and renames it only in its own serializer);
 * the builders produce the JSON that is applied and rendered, so `from` it is.
 */
export type NetworkPolicyIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
export type NetworkPolicy = Omit<V1NetworkPolicy, 'spec'> & {
  spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress: NetworkPolicyIngressRule[] };
};

function peer(selector: NamespaceSelector): V1NetworkPolicyPeer {
  return { namespaceSelector: selector.matchLabels ? { matchLabels: { ...selector.matchLabels } } : {} };
}

/** undefined when spec.networkPolicy.enabled is false. */
export function desiredNetworkPolicy(auth: AuthService): NetworkPolicy | undefined {
  const policy = auth.spec.networkPolicy;
  if (!policy.enabled) return undefined;
  const extra = (policy.additionalEgressPorts ?? []).map((p) => ({ protocol: p.protocol, port: p.port }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      podSelector: { matchLabels: selectorLabels(auth) },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: [
            peer(policy.ingressNamespaceSelector),
            peer(policy.monitoringNamespaceSelector),
            peer(policy.operatorNamespaceSelector),
          ],
          ports: [{ protocol: 'TCP', port: auth.spec.port }],
        },
      ],
      // No `to`: any destination, as the guide's `to: []`, but only on these ports.
      egress: [{ ports: [...EGRESS_PORTS.map((p) => ({ ...p })), ...extra] }],
    },
  };
}
