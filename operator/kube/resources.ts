/** Where each kind the operator touches lives in the API, so paths are built in one place. */

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const type = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType => ({ apiVersion, kind, plural, namespaced });

export const resources = {
  AuthService: type('auth.keyward.dev/v1alpha1', 'AuthService', 'authservices'),
  Deployment: type('apps/v1', 'Deployment', 'deployments'),
  Service: type('v1', 'Service', 'services'),
  ServiceAccount: type('v1', 'ServiceAccount', 'serviceaccounts'),
  ConfigMap: type('v1', 'ConfigMap', 'configmaps'),
  Secret: type('v1', 'Secret', 'secrets'),
  Event: type('v1', 'Event', 'events'),
  HorizontalPodAutoscaler: type('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  VerticalPodAutoscaler: type('autoscaling.k8s.io/v1', 'VerticalPodAutoscaler', 'verticalpodautoscalers'),
  NetworkPolicy: type('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  PodDisruptionBudget: type('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  CronJob: type('batch/v1', 'CronJob', 'cronjobs'),
  ServiceMonitor: type('monitoring.coreos.com/v1', 'ServiceMonitor', 'servicemonitors'),
  PrometheusRule: type('monitoring.coreos.com/v1', 'PrometheusRule', 'prometheusrules'),
  Lease: type('coordination.k8s.io/v1', 'Lease', 'leases'),
  CustomResourceDefinition: type('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
  // Installed by the Helm chart and by tests, never by the controller.
  ClusterRole: type('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false),
  ClusterRoleBinding: type('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  Namespace: type('v1', 'Namespace', 'namespaces', false),
} as const;

export type KindName = keyof typeof resources;

export function resourceFor(apiVersion: string, kind: string): ResourceType {
  const found = Object.values(resources).find((r) => r.apiVersion === apiVersion && r.kind === kind);
  if (!found) throw new Error(`the operator does not know where ${apiVersion} ${kind} lives`);
  return found;
}

/** The collection path (`/apis/apps/v1/namespaces/ns/deployments`), or one object's path when `name` is given. */
export function pathFor(type: ResourceType, namespace?: string, name?: string): string {
  const base = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${type.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
