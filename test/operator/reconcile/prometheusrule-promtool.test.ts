// The PrometheusRule the operator renders, judged by Prometheus itself:
// `promtool check rules` parses every expression and template, and
// `promtool test rules` feeds each alert input series and checks which alerts
// fire, with which labels and annotations (Prometheus docs, "Unit testing for
// rules"). promtool comes from hack/tools/build.sh.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultAuthService } from '../../../operator/api/defaults.js';
import { desiredPrometheusRule, type AlertRule, type PrometheusRule } from '../../../operator/reconcile/prometheusrule.js';
import { runTool, toolPath, type ToolResult } from '../../support/tools.js';
import { everyField, login, loginInput } from '../api/fixtures.js';

// login() lives in auth-service; its metrics job is its name.
const SCOPE = { job: 'login', namespace: 'auth-service' };

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }>;
}

interface TestGroup {
  name: string;
  interval: string;
  input_series: Array<{ series: string; values: string }>;
  alert_rule_test: AlertTest[];
}

/** login with the smallest backup section the CRD accepts: its CronJob is login-backup. */
function loginWithBackup() {
  const input = loginInput();
  input.spec.backup = { image: 'backup-tools:1', s3: { bucket: 'auth-service-backups' }, encryptionKeySecretRef: { name: 'backup-key' } };
  return defaultAuthService(input);
}

/** `name{a="b",…}` in the exposition/promtool series notation. */
function series(name: string, labels: Record<string, string>): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

describe('desiredPrometheusRule under promtool', function () {
  this.timeout(60_000);

  let dir: string;
  // Rendered as the operator renders it: blue serves.
  const rule = desiredPrometheusRule(login(), 'blue') as PrometheusRule;
  const rules = new Map<string, AlertRule>(rule.spec.groups.flatMap((g) => g.rules).map((r) => [r.alert, r]));

  /** The annotations Prometheus renders for `alert`, with its templates' values filled in. */
  function annotations(alert: string, values: { value?: string; pod?: string } = {}): Record<string, string> {
    const source = rules.get(alert)?.annotations ?? {};
    return Object.fromEntries(
      Object.entries(source).map(([k, v]) => [k, v.replaceAll('{{ $value }}', values.value ?? '').replaceAll('{{ $labels.pod }}', values.pod ?? '')]),
    );
  }

  /** Writes the rule's spec as a Prometheus rules file: a PrometheusRule's spec is exactly that format. */
  function writeRules(name: string, prometheusRule: PrometheusRule): string {
    const path = join(dir, name);
    writeFileSync(path, stringify(prometheusRule.spec));
    return path;
  }

  const promtool = (...args: string[]): Promise<ToolResult> => runTool('promtool', args, { cwd: dir });

  before(function () {
    toolPath('promtool'); // fails with "run bash hack/tools/build.sh" when it is missing
    dir = mkdtempSync(join(tmpdir(), 'keyward-promtool-'));
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes promtool check rules, with every linter on', async function () {
    const path = writeRules('rules.yaml', rule);
    const result = await promtool('check', 'rules', '--lint=all', '--lint-fatal', path);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.include(`SUCCESS: ${rules.size} rules found`);
  });

  it('passes promtool check rules with runbook links too', async function () {
    const path = writeRules('rules-every-field.yaml', desiredPrometheusRule(everyField()) as PrometheusRule);
    const result = await promtool('check', 'rules', '--lint=all', '--lint-fatal', path);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it('fires each alert on its input series, scoped to this AuthService, after its `for`', async function () {
    writeRules('rules.yaml', rule);
    const pod = 'login-blue-7c9f3a1b2d-x8k2p';
    const target = { ...SCOPE, pod };
    const elsewhere = { job: 'login', namespace: 'staging', pod: 'login-blue-5d4c3b2a1f-q9w8e' };
    const serviceLabels = { severity: 'critical', service: 'login' };

    const groups: TestGroup[] = [
      {
        name: 'AuthServiceDown: a serving target down for a minute',
        interval: '1m',
        input_series: [
          // Up for two minutes, then down.
          { series: series('up', { ...target, service: 'login-blue' }), values: '1 1 0 0 0 0' },
          // Another AuthService's target, down all along: not ours.
          { series: series('up', { ...elsewhere, service: 'login-blue' }), values: '0x5' },
          // The preview colour's pod, still migrating or broken: the rollout's business, not a page.
          { series: series('up', { ...SCOPE, service: 'login-green', pod: 'login-green-6b5a4c3d2e-r7t6y' }), values: '0x5' },
        ],
        alert_rule_test: [
          { eval_time: '1m', alertname: 'AuthServiceDown', exp_alerts: [] },
          // Down since 2m: pending, not firing yet.
          { eval_time: '2m', alertname: 'AuthServiceDown', exp_alerts: [] },
          {
            eval_time: '3m',
            alertname: 'AuthServiceDown',
            // The rule's own service label (the guide's) replaces the target's Service name.
            exp_alerts: [{ exp_labels: { ...target, ...serviceLabels }, exp_annotations: annotations('AuthServiceDown', { pod }) }],
          },
        ],
      },
      {
        name: 'HighErrorRate: 1 error/s for more than 2 minutes',
        interval: '1m',
        input_series: [
          // 60 errors a minute from t=0: rate 1/s over every 5m window.
          { series: series('http_requests_total', { ...target, method: 'POST', route: '/api/auth/login', status: '500' }), values: '0+60x15' },
          // Plenty of successes, which are no errors.
          { series: series('http_requests_total', { ...target, method: 'POST', route: '/api/auth/login', status: '200' }), values: '0+6000x15' },
        ],
        alert_rule_test: [
          // The expression is true from the first rate (1m) on; `for: 2m` holds it back until 3m.
          { eval_time: '2m', alertname: 'HighErrorRate', exp_alerts: [] },
          {
            eval_time: '10m',
            alertname: 'HighErrorRate',
            exp_alerts: [{ exp_labels: serviceLabels, exp_annotations: annotations('HighErrorRate', { value: '1' }) }],
          },
        ],
      },
      {
        name: 'HighErrorRate: quiet below 0.1/s, and blind to other AuthServices',
        interval: '1m',
        input_series: [
          // 3 errors a minute: 0.05/s.
          { series: series('http_requests_total', { ...target, method: 'POST', route: '/api/auth/login', status: '503' }), values: '0+3x15' },
          // 10 errors/s in another namespace.
          { series: series('http_requests_total', { ...elsewhere, method: 'POST', route: '/api/auth/login', status: '500' }), values: '0+600x15' },
          // 404s are client errors.
          { series: series('http_requests_total', { ...target, method: 'GET', route: 'unmatched', status: '404' }), values: '0+600x15' },
        ],
        alert_rule_test: [{ eval_time: '10m', alertname: 'HighErrorRate', exp_alerts: [] }],
      },
      {
        name: 'DatabaseConnectionFailure: no pool connections for 30s',
        interval: '15s',
        input_series: [{ series: series('database_connections_active', target), values: '5 5 5 5 0 0 0 0 0 0' }],
        alert_rule_test: [
          { eval_time: '45s', alertname: 'DatabaseConnectionFailure', exp_alerts: [] },
          // 0 since 1m: pending at 1m15s, firing from 1m30s.
          { eval_time: '1m15s', alertname: 'DatabaseConnectionFailure', exp_alerts: [] },
          {
            eval_time: '1m30s',
            alertname: 'DatabaseConnectionFailure',
            exp_alerts: [{ exp_labels: { ...serviceLabels, ...target }, exp_annotations: annotations('DatabaseConnectionFailure', { pod }) }],
          },
        ],
      },
      {
        name: 'HighLatency: every request slower than the largest bucket for 5 minutes',
        interval: '1m',
        input_series: [
          // The service's buckets end at 5 s; every request lands above them, so the p99 is 5 (the highest finite bound).
          ...['0.1', '1', '2.5', '5'].map((le) => ({ series: series('http_request_duration_seconds_bucket', { ...target, le }), values: '0x15' })),
          { series: series('http_request_duration_seconds_bucket', { ...target, le: '+Inf' }), values: '0+60x15' },
        ],
        alert_rule_test: [
          { eval_time: '5m', alertname: 'HighLatency', exp_alerts: [] },
          {
            eval_time: '10m',
            alertname: 'HighLatency',
            exp_alerts: [{ exp_labels: { severity: 'warning', service: 'login' }, exp_annotations: annotations('HighLatency', { value: '5' }) }],
          },
        ],
      },
      {
        name: 'HighLatency: quiet when requests are fast',
        interval: '1m',
        input_series: [
          ...['0.1', '1', '2.5', '5', '+Inf'].map((le) => ({ series: series('http_request_duration_seconds_bucket', { ...target, le }), values: '0+60x15' })),
        ],
        alert_rule_test: [{ eval_time: '10m', alertname: 'HighLatency', exp_alerts: [] }],
      },
    ];

    writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], evaluation_interval: '15s', tests: groups }));
    const result = await promtool('test', 'rules', 'tests.yaml');
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.include('SUCCESS');
  });
  describe('BackupOverdue, on kube-state-metrics series of CronJob login-backup', function () {
    const backupRule = desiredPrometheusRule(loginWithBackup()) as PrometheusRule;
    const overdue = backupRule.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === 'BackupOverdue');
    // kube-state-metrics' own target labels, which the alert must not carry.
    const ksm = { job: 'kube-state-metrics', instance: '10.0.0.7:8080' };
    const ours = { namespace: 'auth-service', cronjob: 'login-backup' };
    const alertLabels = { severity: 'warning', service: 'login', ...ours };
    const firing = [{ exp_labels: alertLabels, exp_annotations: overdue?.annotations ?? {} }];
    const hours = (h: number) => h * 3600;

    it('passes promtool check rules, with every linter on', async function () {
      const path = writeRules('rules-backup.yaml', backupRule);
      const result = await promtool('check', 'rules', '--lint=all', '--lint-fatal', path);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include('SUCCESS: 5 rules found');
    });

    it('fires 36 hours after the last success, not before; a new success or another namespace’s CronJob does not', async function () {
      writeRules('rules-backup.yaml', backupRule);
      // Promtool's clock starts at the epoch: a series' value is a time in seconds since t=0.
      // One sample a minute, well inside Prometheus's 5-minute lookback.
      const minutes = (h: number) => h * 60;
      const groups: TestGroup[] = [
        {
          name: 'BackupOverdue: last success at 2h, none since',
          interval: '1m',
          input_series: [
            { series: series('kube_cronjob_created', { ...ksm, ...ours }), values: `0x${minutes(40)}` },
            // Never succeeded until 2h, then a success at 2h that stays the last.
            { series: series('kube_cronjob_status_last_successful_time', { ...ksm, ...ours }), values: `_x${minutes(2) - 1} ${hours(2)}x${minutes(38)}` },
            // Another namespace's login-backup, its last success at 0: overdue, but not ours.
            { series: series('kube_cronjob_created', { ...ksm, namespace: 'staging', cronjob: 'login-backup' }), values: `0x${minutes(40)}` },
            { series: series('kube_cronjob_status_last_successful_time', { ...ksm, namespace: 'staging', cronjob: 'login-backup' }), values: `0x${minutes(40)}` },
          ],
          alert_rule_test: [
            { eval_time: '1h', alertname: 'BackupOverdue', exp_alerts: [] },
            { eval_time: '37h', alertname: 'BackupOverdue', exp_alerts: [] },
            // 36 hours since the success exactly: not more than 36 yet.
            { eval_time: '38h', alertname: 'BackupOverdue', exp_alerts: [] },
            // Overdue since just after 38h: pending for its 15 minutes.
            { eval_time: '38h10m', alertname: 'BackupOverdue', exp_alerts: [] },
            { eval_time: '38h20m', alertname: 'BackupOverdue', exp_alerts: firing },
            { eval_time: '40h', alertname: 'BackupOverdue', exp_alerts: firing },
          ],
        },
        {
          name: 'BackupOverdue: a success every day keeps it quiet',
          interval: '1m',
          input_series: [
            { series: series('kube_cronjob_created', { ...ksm, ...ours }), values: `0x${minutes(80)}` },
            // Successes at 0h, 30h (six hours late) and 54h.
            {
              series: series('kube_cronjob_status_last_successful_time', { ...ksm, ...ours }),
              values: `0x${minutes(30) - 1} ${hours(30)}x${minutes(24) - 1} ${hours(54)}x${minutes(26)}`,
            },
          ],
          alert_rule_test: ['35h', '36h30m', '60h', '80h'].map((t) => ({ eval_time: t, alertname: 'BackupOverdue', exp_alerts: [] })),
        },
        {
          name: 'BackupOverdue: never a success, 36 hours after the CronJob was created',
          interval: '1m',
          input_series: [{ series: series('kube_cronjob_created', { ...ksm, ...ours }), values: `${hours(1)}x${minutes(40)}` }],
          alert_rule_test: [
            { eval_time: '36h', alertname: 'BackupOverdue', exp_alerts: [] },
            { eval_time: '37h10m', alertname: 'BackupOverdue', exp_alerts: [] },
            { eval_time: '37h20m', alertname: 'BackupOverdue', exp_alerts: firing },
          ],
        },
        {
          name: 'BackupOverdue: kube-state-metrics reports no such CronJob for 15 minutes',
          interval: '1m',
          input_series: [{ series: series('kube_cronjob_created', { ...ksm, namespace: 'staging', cronjob: 'login-backup' }), values: '0x60' }],
          alert_rule_test: [
            { eval_time: '10m', alertname: 'BackupOverdue', exp_alerts: [] },
            { eval_time: '20m', alertname: 'BackupOverdue', exp_alerts: firing },
          ],
        },
        {
          name: 'BackupOverdue: kube-state-metrics restarting, its series gone for a few minutes, under a new instance after',
          interval: '1m',
          input_series: [
            { series: series('kube_cronjob_created', { ...ksm, ...ours }), values: '0x30' },
            { series: series('kube_cronjob_status_last_successful_time', { ...ksm, ...ours }), values: '0x30' },
            { series: series('kube_cronjob_created', { ...ksm, instance: '10.0.0.9:8080', ...ours }), values: '_x39 0x40' },
            { series: series('kube_cronjob_status_last_successful_time', { ...ksm, instance: '10.0.0.9:8080', ...ours }), values: '_x39 0x40' },
          ],
          alert_rule_test: ['30m', '38m', '45m', '80m'].map((t) => ({ eval_time: t, alertname: 'BackupOverdue', exp_alerts: [] })),
        },
      ];

      writeFileSync(join(dir, 'tests-backup.yaml'), stringify({ rule_files: ['rules-backup.yaml'], evaluation_interval: '1m', tests: groups }));
      const result = await promtool('test', 'rules', 'tests-backup.yaml');
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include('SUCCESS');
    });
  });
});
