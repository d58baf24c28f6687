/**
 * Helpers for operator suites: install the CRD, run the controller in-process
 * under the operator's own RBAC (not as an administrator), and sample objects.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { ServiceUrlResolver } from '../../operator/controller/analysis-runner.js';
import { createController, type Controller } from '../../operator/controller/controller.js';
import { createKubeClient, type KubeClient, type KubeObject } from '../../operator/kube/client.js';
import { adminClient, kubeConfigFrom, sharedControlPlane } from './cluster.js';
import { eventually } from './eventually.js';

export function readYamlObjects(path: string): KubeObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON() as KubeObject).filter((o) => o !== null);
}

/** Applies a CRD file and waits until the API server serves it. */
export async function installCrd(client: KubeClient, path: string): Promise<void> {
  for (const crd of readYamlObjects(path)) {
    await client.apply(crd);
    await eventually(`CRD ${crd.metadata?.name} established`, async () => {
      const live = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}`,
      );
      return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
}

let rbacInstalled: Promise<void> | undefined;
/** A client for the operator's identity, bound to the ClusterRole the Helm chart ships. */
export async function operatorClient(): Promise<KubeClient> {
  const admin = await adminClient();
  rbacInstalled ??= (async () => {
    for (const object of readYamlObjects('operator/rbac/clusterrole.yaml')) {
      if (object.kind === 'ClusterRole') await admin.apply(object);
    }
    await admin.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'keyward-operator-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'keyward-operator' },
      subjects: [{ kind: 'User', name: 'keyward-operator', apiGroup: 'rbac.authorization.k8s.io' }],
    } as KubeObject);
  })();
  await rbacInstalled;
  const plane = await sharedControlPlane();
  return createKubeClient(kubeConfigFrom(plane.userKubeconfig('keyward-operator')));
}

export interface RunningOperator {
  controller: Controller;
  /** Reconcile passes finished, by result. */
  reconciles: { success: number; error: number; invalid: number };
  client: KubeClient;
  logs: Array<{ level: string; message: string; meta?: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function runOperator(namespace: string, options: { discoveryMs?: number; resyncMs?: number; serviceUrl?: ServiceUrlResolver; workers?: number } = {}): Promise<RunningOperator> {
  const client = await operatorClient();
  const logs: RunningOperator['logs'] = [];
  const reconciles = { success: 0, error: 0, invalid: 0 };
  const controller = createController({
    client,
    namespace,
    workers: options.workers ?? 2,
    discoveryMs: options.discoveryMs ?? 1000,
    resyncMs: options.resyncMs ?? 300_000,
    ...(options.serviceUrl ? { serviceUrl: options.serviceUrl } : {}),
    hooks: { onReconcile: (result) => void (reconciles[result] += 1) },
    logger: {
      error: (message, meta) => logs.push({ level: 'error', message, ...(meta ? { meta } : {}) }),
      warn: (message, meta) => logs.push({ level: 'warn', message, ...(meta ? { meta } : {}) }),
      info: (message, meta) => logs.push({ level: 'info', message, ...(meta ? { meta } : {}) }),
      debug: (message, meta) => logs.push({ level: 'debug', message, ...(meta ? { meta } : {}) }),
    },
  });
  await controller.start();
  return { controller, client, logs, reconciles, stop: () => controller.stop() };
}

/** Secrets an AuthService named `name` reads, with throwaway values. */
export function sampleSecrets(namespace: string): KubeObject[] {
  const secret = (name: string, data: Record<string, string>): KubeObject =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: data }) as KubeObject;
  return [
    secret('auth-db', { url: 'postgres://auth:secret@postgres:5432/auth' }),
    secret('auth-jwt', { 'signing-key.pem': '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n' }),
  ];
}

export function sampleAuthService(namespace: string, name = 'login', spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'auth.keyward.dev/v1alpha1',
    kind: 'AuthService',
    metadata: { name, namespace },
    spec: {
      image: 'registry.example/keyward-service:1.4.0',
      replicas: 3,
      database: { urlSecretRef: { name: 'auth-db', key: 'url' } },
      jwt: { keysSecretRef: { name: 'auth-jwt' } },
      ...spec,
    },
  } as KubeObject;
}
