// The fake Node objects kwok keeps alive: pure data, no I/O.

/** Pods per node: kwok hands out pod IPs from the node's podCIDR (a /22 here). */
export const podsPerNode = 1000;

/** Nodes are spread over this many zones so topology spread and PDB tests have something to spread over. */
const zones = 3;

/**
 * Node `index` (0-based) as created before kwok starts. Status is filled in by
 * kwok's default node stages (Ready, heartbeats via Leases); capacity is set
 * here so the scheduler sees room for hundreds of pods.
 */
export function desiredNode(index: number): Record<string, unknown> {
  if (index < 0 || index >= 64) throw new RangeError(`node index ${index}: at most 64 nodes (10.244.0.0/16 in /22 pod CIDRs)`);
  const name = `kwok-node-${index}`;
  const podCIDR = `10.244.${index * 4}.0/22`;
  const resources = { cpu: '32', memory: '256Gi', pods: String(podsPerNode), 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/agent': '',
        'topology.kubernetes.io/zone': `zone-${index % zones}`,
        type: 'kwok',
      },
    },
    spec: { podCIDR, podCIDRs: [podCIDR] },
    status: { allocatable: resources, capacity: resources },
  };
}
