// PrometheusRule `<name>`: the guide's "Critical Alerts", scoped to this
// AuthService's job and namespace, each with a runbook.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { AuthService } from '../api/types.js';
import { commonLabels, names, namespaceOf, objectMeta } from './meta.js';
import { MONITORING_API_VERSION, metricsJob } from './servicemonitor.js';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning'; service: string };
  annotations: Record<string, string>;
}

/** The fields of monitoring.coreos.com/v1 PrometheusRule that the operator sets. */
export interface PrometheusRule {
  apiVersion: typeof MONITORING_API_VERSION;
  kind: 'PrometheusRule';
  metadata: V1ObjectMeta;
  spec: { groups: Array<{ name: string; rules: AlertRule[] }> };
}

/** undefined when spec.monitoring.prometheusRule.enabled is false. */
export function desiredPrometheusRule(auth: AuthService): PrometheusRule | undefined {
  const { prometheusRule, labels } = auth.spec.monitoring;
  if (!prometheusRule.enabled) return undefined;
  const name = names(auth).stable;
  const namespace = namespaceOf(auth);
  const scope = `job="${metricsJob(auth)}",namespace="${namespace}"`;
  const describe = `kubectl -n ${namespace} describe authservice ${name}`;
  const pods = `kubectl -n ${namespace} get pods -l app.kubernetes.io/instance=${name}`;

  const alert = (
    alertName: string,
    expr: string,
    forDuration: string,
    severity: 'critical' | 'warning',
    text: { summary: string; description: string; runbook: string },
  ): AlertRule => ({
    alert: alertName,
    expr,
    for: forDuration,
    labels: { severity, service: name },
    annotations: {
      ...text,
      ...(prometheusRule.runbookBaseURL ? { runbook_url: `${prometheusRule.runbookBaseURL}#${alertName.toLowerCase()}` } : {}),
    },
  });

  const rules = [
    alert('AuthServiceDown', `up{${scope}} == 0`, '1m', 'critical', {
      summary: 'Auth service is down',
      description: 'Auth service target {{ $labels.pod }} has been down for more than 1 minute',
      runbook: `${describe} tells the phase and conditions; ${pods} shows the pods. Look at their events and logs: the probes are /health/live, /health/ready and /health/startup on the service port.`,
    }),
    alert('HighErrorRate', `sum(rate(http_requests_total{${scope},status=~"5.."}[5m])) > 0.1`, '2m', 'critical', {
      summary: 'High error rate detected',
      description: 'Error rate is {{ $value }} errors per second',
      runbook: `Break the 5xx answers down with sum by (route, status) (rate(http_requests_total{${scope},status=~"5.."}[5m])); the service's JSON log lines about a request carry its request_id. GET /health on a pod names a failing dependency. If the errors began with a rollout, set spec.image back to the previous image.`,
    }),
    alert('DatabaseConnectionFailure', `database_connections_active{${scope}} == 0`, '30s', 'critical', {
      summary: 'Database connection failure',
      description: 'No active database connections on {{ $labels.pod }}',
      runbook: `GET /health on the pod: checks.database.details says why. Check that PostgreSQL is up and reachable on 5432 (the NetworkPolicy allows egress there) and that the Secret named in spec.database.urlSecretRef holds the right URL.`,
    }),
    alert('HighLatency', `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${scope}}[5m]))) > 1.0`, '5m', 'warning', {
      summary: 'High latency detected',
      description: '99th percentile latency is {{ $value }}s',
      runbook: `Compare database_query_duration_seconds and the cache hit rate (cache_hits_total, cache_misses_total); check CPU throttling against spec.resources.limits.cpu and whether the HPA is at maxReplicas (kubectl -n ${namespace} get hpa ${name}).`,
    }),
  ];

  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    metadata: objectMeta(auth, name, { ...labels, ...commonLabels(auth) }),
    spec: { groups: [{ name: `${name}.critical`, rules }] },
  };
}
