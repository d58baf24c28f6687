/**
 * Heartbeats for the kwok nodes, sent by the bench. The local control plane's
 * nodes get none (no Lease in kube-node-lease, Ready's lastHeartbeatTime never
 * moves), so after kube-controller-manager's node-monitor-grace-period (50 s)
 * every node turns NotReady, the node lifecycle controller marks every pod not
 * ready, and kwok re-readies the node but never the pods (its pod-ready stage
 * only takes pods without an IP). A colour older than ~50 s would stop being
 * whole and the rollouts would measure the harness. Patching Ready's
 * lastHeartbeatTime is what a kubelet (or kwok's node-heartbeat stage) does.
 */
import type { KubeClient, KubeObject, ObjectList } from '../../operator/kube/client.js';

export interface NodeHeartbeat {
  /** Patches sent so far. */
  readonly beats: number;
  stop(): void;
}

export async function startNodeHeartbeat(client: KubeClient, everyMs: number, log: (line: string) => void): Promise<NodeHeartbeat> {
  let beats = 0;
  let failing = false;
  const beat = async (): Promise<void> => {
    const nodes = await client.request<ObjectList<KubeObject>>('GET', '/api/v1/nodes');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const node of nodes.items) {
      // Strategic merge: conditions merge by type, so only Ready's heartbeat changes.
      await client.request('PATCH', `/api/v1/nodes/${node.metadata?.name}/status`, {
        body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'heartbeat from bench:rollout', lastHeartbeatTime: now }] } },
        contentType: 'application/strategic-merge-patch+json',
      });
      beats += 1;
    }
  };
  await beat();
  const timer = setInterval(() => {
    beat().then(() => {
      failing = false;
    }, (err: unknown) => {
      if (!failing) log(`node heartbeat failed: ${err instanceof Error ? err.message : String(err)}`);
      failing = true;
    });
  }, everyMs);
  timer.unref();
  return {
    get beats() {
      return beats;
    },
    stop: () => clearInterval(timer),
  };
}
