// Command lines of the control plane's components: pure functions of the
// layout, so what runs is reviewable in one place.
import type { ComponentName } from './binaries.js';
import type { Pki } from './pki.js';

export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

export interface Layout {
  dir: string;
  ports: Ports;
  pki: Pki;
  /** Static bearer tokens: `token,user,uid,"group,…"` per line. */
  tokenFile: string;
  /** Admin kubeconfig the other components use. */
  kubeconfig: string;
  kwokStages: string;
  etcdDataDir: string;
}

/**
 * Service IPs. Wider than envtest's 10.0.0.0/24 (254 Services): the operator
 * makes three Services per AuthService and is benchmarked with 200 of them.
 */
export const serviceClusterIpRange = '10.96.0.0/16';

export function etcdArgs(l: Layout): string[] {
  const client = `http://127.0.0.1:${l.ports.etcdClient}`;
  const peer = `http://127.0.0.1:${l.ports.etcdPeer}`;
  return [
    '--name=keyward',
    `--data-dir=${l.etcdDataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=keyward=${peer}`,
    // Throwaway data: skipping fsync makes every API write several times faster.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export function apiServerArgs(l: Layout): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${l.ports.etcdClient}`,
    `--cert-dir=${l.dir}`,
    `--tls-cert-file=${l.pki.servingCert}`,
    `--tls-private-key-file=${l.pki.servingKey}`,
    `--client-ca-file=${l.pki.caCert}`,
    `--secure-port=${l.ports.apiServer}`,
    '--bind-address=127.0.0.1',
    // There is no default route on these machines, so the API server cannot pick an address by itself.
    '--advertise-address=127.0.0.1',
    `--service-cluster-ip-range=${serviceClusterIpRange}`,
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${l.pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${l.pki.serviceAccountKey}`,
    `--token-auth-file=${l.tokenFile}`,
    // Nothing serves behind the kubernetes Service's endpoints here (kwokctl does the same).
    '--endpoint-reconciler-type=none',
    // Without a bound, SIGTERM waits on open watches (the controllers' and kwok's)
    // for 10+ s; with one, a restart takes ~3 s and clients see their watches end.
    '--shutdown-watch-termination-grace-period=1s',
    '--profiling=false',
  ];
}

export function controllerManagerArgs(l: Layout): string[] {
  return [
    `--kubeconfig=${l.kubeconfig}`,
    `--service-account-private-key-file=${l.pki.serviceAccountKey}`,
    `--root-ca-file=${l.pki.caCert}`,
    `--cluster-signing-cert-file=${l.pki.caCert}`,
    `--cluster-signing-key-file=${l.pki.caKey}`,
    '--leader-elect=false',
    // Every default controller: garbage collector, namespaces, deployments, replicasets, HPA, jobs, cronjobs, …
    '--controllers=*',
    `--secure-port=${l.ports.controllerManager}`,
    '--bind-address=127.0.0.1',
    '--profiling=false',
  ];
}

export function schedulerArgs(l: Layout): string[] {
  return [
    `--kubeconfig=${l.kubeconfig}`,
    '--leader-elect=false',
    `--secure-port=${l.ports.scheduler}`,
    '--bind-address=127.0.0.1',
    '--profiling=false',
  ];
}

export function kwokArgs(l: Layout): string[] {
  return [
    `--kubeconfig=${l.kubeconfig}`,
    '--manage-all-nodes=true',
    // Renew a Lease per node, as a kubelet does. Without this flag kwok v0.7 keeps no Leases and
    // falls back to a status heartbeat every ~10 minutes, so after the controller-manager's
    // 40 s grace period every node turns NotReady and its pods are marked not Ready for good
    // (kwok's pod-ready stage does not run again): Deployments older than a minute lost their replicas.
    '--node-lease-duration-seconds=40',
    `--config=${l.kwokStages}`,
    `--server-address=127.0.0.1:${l.ports.kwok}`,
  ];
}

export const argsFor: Record<ComponentName, (l: Layout) => string[]> = {
  etcd: etcdArgs,
  'kube-apiserver': apiServerArgs,
  'kube-controller-manager': controllerManagerArgs,
  'kube-scheduler': schedulerArgs,
  kwok: kwokArgs,
};

/** How to ask each component whether it is healthy. */
export interface HealthCheck {
  url: string;
  /** The API server's serving cert is ours (verify with the CA); the others sign their own. */
  verify: 'cluster-ca' | 'none' | 'plain-http';
  /** Send the admin token (only the API server needs it). */
  admin: boolean;
}

export function healthCheckFor(name: ComponentName, ports: Ports): HealthCheck {
  switch (name) {
    case 'etcd':
      return { url: `http://127.0.0.1:${ports.etcdClient}/health`, verify: 'plain-http', admin: false };
    case 'kube-apiserver':
      return { url: `https://127.0.0.1:${ports.apiServer}/readyz`, verify: 'cluster-ca', admin: true };
    case 'kube-controller-manager':
      return { url: `https://127.0.0.1:${ports.controllerManager}/healthz`, verify: 'none', admin: false };
    case 'kube-scheduler':
      return { url: `https://127.0.0.1:${ports.scheduler}/healthz`, verify: 'none', admin: false };
    case 'kwok':
      return { url: `http://127.0.0.1:${ports.kwok}/healthz`, verify: 'plain-http', admin: false };
  }
}

export function portOf(name: ComponentName, ports: Ports): number {
  return {
    etcd: ports.etcdClient,
    'kube-apiserver': ports.apiServer,
    'kube-controller-manager': ports.controllerManager,
    'kube-scheduler': ports.scheduler,
    kwok: ports.kwok,
  }[name];
}
