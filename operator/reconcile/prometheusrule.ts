// PrometheusRule `<name>`: the guide's "Critical Alerts", scoped to this
// AuthService's job and namespace, each with a runbook; and, when the operator
// runs its backup CronJob, BackupOverdue.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { BACKUP_ACTIVE_DEADLINE_SECONDS, BACKUP_STARTING_DEADLINE_SECONDS, backupEnabled } from './backup.js';
import { COMPONENT_BACKUP, commonLabels, LABEL_COMPONENT, LABEL_INSTANCE, names, namespaceOf, objectMeta } from './meta.js';
import { MONITORING_API_VERSION, metricsJob } from './servicemonitor.js';

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'critical' | 'warning'; service: string };
  annotations: Record<string, string>;
}

interface AlertText {
  summary: string;
  description: string;
  runbook: string;
}

type MakeAlert = (alertName: string, expr: string, forDuration: string, severity: AlertRule['labels']['severity'], text: AlertText) => AlertRule;

/** The fields of monitoring.coreos.com/v1 PrometheusRule that the operator sets. */
export interface PrometheusRule {
  apiVersion: typeof MONITORING_API_VERSION;
  kind: 'PrometheusRule';
  metadata: V1ObjectMeta;
  spec: { groups: Array<{ name: string; rules: AlertRule[] }> };
}

/**
 * BackupOverdue fires this long after the backup CronJob's last success: the longest gap the
 * schedule can leave between two runs, plus 12 hours for one that starts late or runs long
 * (operator/reconcile/backup.ts). For the default nightly schedule that is 36 hours: one run
 * missed or failed, and time to fix it before the next night's. The gap is bounded from the
 * schedule's shape, never under it: a month field other than * may leave a year, a day of the
 * month 31 days, a day of the week 7 days; otherwise a day. So a weekly backup is not overdue
 * after 36 hours, and a weekday one is given a week (not three days, a bound, not the gap).
 */
export function backupOverdueSeconds(schedule: string): number {
  const day = 24 * 3600;
  const macro: Record<string, number> = { '@yearly': 366 * day, '@annually': 366 * day, '@monthly': 31 * day, '@weekly': 7 * day, '@daily': day, '@midnight': day, '@hourly': day };
  const [, , dayOfMonth, month, dayOfWeek] = schedule.trim().split(/\s+/);
  const gap =
    macro[schedule.trim()] ??
    (month !== '*' && month !== '?' ? 366 * day : dayOfMonth !== '*' && dayOfMonth !== '?' ? 31 * day : dayOfWeek !== '*' && dayOfWeek !== '?' ? 7 * day : day);
  return gap + 12 * 3600;
}

/**
 * undefined when spec.monitoring.prometheusRule.enabled is false. `servingColour`: the colour the
 * stable Service selects; AuthServiceDown watches its pods only (below).
 */
export function desiredPrometheusRule(auth: AuthService, servingColour?: Colour): PrometheusRule | undefined {
  const { prometheusRule, labels } = auth.spec.monitoring;
  if (!prometheusRule.enabled) return undefined;
  const name = names(auth).stable;
  const namespace = namespaceOf(auth);
  const scope = `job="${metricsJob(auth)}",namespace="${namespace}"`;
  const describe = `kubectl -n ${namespace} describe authservice ${name}`;
  const pods = `kubectl -n ${namespace} get pods -l app.kubernetes.io/instance=${name}`;

  const alert: MakeAlert = (alertName, expr, forDuration, severity, text) => ({
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
    // The pods that take the traffic. The ServiceMonitor scrapes both colours, and a preview's pods
    // are down while they migrate, or for good when the new revision is broken: the rollout waits,
    // then rolls back and says so in the AuthService's status, and nothing needs waking up for it.
    // The rule follows traffic at each flip, as the PodDisruptionBudget does.
    alert('AuthServiceDown', `up{${scope}${servingColour ? `,service="${names(auth).colour(servingColour)}"` : ''}} == 0`, '1m', 'critical', {
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
    ...(backupEnabled(auth) ? [backupOverdue(auth, alert)] : []),
  ];

  return {
    apiVersion: MONITORING_API_VERSION,
    kind: 'PrometheusRule',
    metadata: objectMeta(auth, name, { ...labels, ...commonLabels(auth) }),
    spec: { groups: [{ name: `${name}.critical`, rules }] },
  };
}

/**
 * From kube-state-metrics' series of CronJob `<name>-backup`: its last success
 * is older than backupOverdueSeconds (36 hours for a nightly schedule); or it never succeeded
 * and was created longer ago than that (the success series appears with the first success); or
 * kube-state-metrics reports no such CronJob at all, for 15 minutes (not
 * installed, not scraped, or the CronJob is missing): without the series
 * nothing could tell that backups stopped, so their absence alerts too.
 * `max by (namespace, cronjob)` drops kube-state-metrics' own pod and instance
 * labels, so a restart or a second replica of it keeps the alert one alert.
 */
function backupOverdue(auth: AuthService, alert: MakeAlert): AlertRule {
  const namespace = namespaceOf(auth);
  const { stable: name, backupCronJob: cronJob } = names(auth);
  const selector = `{namespace="${namespace}",cronjob="${cronJob}"}`;
  const lastSuccess = `kube_cronjob_status_last_successful_time${selector}`;
  const created = `kube_cronjob_created${selector}`;
  // Rendered only with backups on (desiredPrometheusRule checks backupEnabled), so spec.backup is there.
  const overdue = backupOverdueSeconds(auth.spec.backup!.schedule);
  const expr = [
    `(time() - max by (namespace, cronjob) (${lastSuccess}) > ${overdue})`,
    `(time() - max by (namespace, cronjob) (${created}) > ${overdue} unless on (namespace, cronjob) ${lastSuccess})`,
    `absent(${created})`,
  ].join('\nor\n');
  const hours = (seconds: number) => (seconds % (24 * 3600) === 12 * 3600 && seconds > 2 * 24 * 3600 ? `${(seconds - 12 * 3600) / (24 * 3600)} days and 12 hours` : `${seconds / 3600} hours`);
  return alert('BackupOverdue', expr, '15m', 'warning', {
    summary: `No successful backup for ${hours(overdue)}`,
    description: `CronJob ${namespace}/${cronJob} has not completed a backup in ${hours(overdue)}, or kube-state-metrics does not report it`,
    runbook:
      `kubectl -n ${namespace} get cronjob,jobs -l ${LABEL_INSTANCE}=${name},${LABEL_COMPONENT}=${COMPONENT_BACKUP} shows the last schedule and each Job. ` +
      `Take a backup now and follow it: kubectl -n ${namespace} create job --from=cronjob/${cronJob} ${cronJob}-now; kubectl -n ${namespace} logs -f job/${cronJob}-now; a failure ends with FAILED at stage "<stage>". ` +
      `A Job failed with DeadlineExceeded ran past ${hours(BACKUP_ACTIVE_DEADLINE_SECONDS)}: look for a pg_dump waiting on a lock (pg_stat_activity) or a stalled upload. ` +
      `Missed runs: kubectl -n ${namespace} describe cronjob ${cronJob} (a run that cannot start within ${hours(BACKUP_STARTING_DEADLINE_SECONDS)} of its schedule is skipped). ` +
      `No kube_cronjob_created series for the CronJob: kube-state-metrics is not installed or not scraped.`,
  });
}
