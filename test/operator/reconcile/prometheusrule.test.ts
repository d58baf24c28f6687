import { expect } from 'chai';
import { backupOverdueSeconds, desiredPrometheusRule } from '../../../operator/reconcile/prometheusrule.js';
import { everyField, login } from '../api/fixtures.js';

describe('desiredPrometheusRule', function () {
  const rule = desiredPrometheusRule(login());
  const rules = rule?.spec.groups[0]?.rules ?? [];
  const byName = new Map(rules.map((r) => [r.alert, r]));

  it('holds one group <name>.critical with the guide’s four alerts', function () {
    expect(rule).to.deep.include({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    expect(rule?.metadata.name).to.equal('login');
    expect(rule?.spec.groups.map((g) => g.name)).to.deep.equal(['login.critical']);
    expect(rules.map((r) => r.alert)).to.deep.equal(['AuthServiceDown', 'HighErrorRate', 'DatabaseConnectionFailure', 'HighLatency']);
  });

  it('keeps the guide’s conditions, durations and severities, scoped to this AuthService', function () {
    const scope = 'job="login",namespace="auth-service"';
    const shape = (name: string) => {
      const r = byName.get(name);
      return [r?.expr, r?.for, r?.labels.severity];
    };
    expect(shape('AuthServiceDown')).to.deep.equal([`up{${scope}} == 0`, '1m', 'critical']);
    // Rendered with the colour that serves, it watches that colour's pods only: a preview down is the rollout's business.
    const serving = desiredPrometheusRule(login(), 'green')?.spec.groups[0]?.rules.find((r) => r.alert === 'AuthServiceDown');
    expect(serving?.expr).to.equal(`up{${scope},service="login-green"} == 0`);
    expect(shape('HighErrorRate')).to.deep.equal([`sum(rate(http_requests_total{${scope},status=~"5.."}[5m])) > 0.1`, '2m', 'critical']);
    expect(shape('DatabaseConnectionFailure')).to.deep.equal([`database_connections_active{${scope}} == 0`, '30s', 'critical']);
    expect(shape('HighLatency')).to.deep.equal([
      `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{${scope}}[5m]))) > 1.0`,
      '5m',
      'warning',
    ]);
  });

  it('labels each alert with its service and explains it with a summary, a description and a runbook', function () {
    for (const r of rules) {
      expect(r.labels.service, r.alert).to.equal('login');
      expect(r.annotations.summary, r.alert).to.be.a('string').and.not.be.empty;
      expect(r.annotations.description, r.alert).to.be.a('string').and.not.be.empty;
      expect(r.annotations.runbook, r.alert).to.be.a('string').and.have.length.greaterThan(40);
      expect(r.annotations).not.to.have.property('runbook_url');
    }
    expect(byName.get('HighErrorRate')?.annotations.description).to.equal('Error rate is {{ $value }} errors per second');
    expect(byName.get('AuthServiceDown')?.annotations.runbook).to.include('kubectl -n auth-service describe authservice login');
  });

  it('links each alert to its runbook section when spec.monitoring.prometheusRule.runbookBaseURL is set', function () {
    const linked = desiredPrometheusRule(everyField())?.spec.groups[0]?.rules ?? [];
    expect(linked.map((r) => r.annotations.runbook_url)).to.deep.equal([
      'https://runbooks.example.com/keyward#authservicedown',
      'https://runbooks.example.com/keyward#higherrorrate',
      'https://runbooks.example.com/keyward#databaseconnectionfailure',
      'https://runbooks.example.com/keyward#highlatency',
      'https://runbooks.example.com/keyward#backupoverdue',
    ]);
  });

  describe('BackupOverdue', function () {
    it('is added when spec.backup is enabled, beside the guide’s four, and only then', function () {
      expect(desiredPrometheusRule(everyField())?.spec.groups[0]?.rules.map((r) => r.alert)).to.deep.equal([
        'AuthServiceDown',
        'HighErrorRate',
        'DatabaseConnectionFailure',
        'HighLatency',
        'BackupOverdue',
      ]);
      const disabled = everyField();
      disabled.spec.backup!.enabled = false;
      expect(desiredPrometheusRule(disabled)?.spec.groups[0]?.rules.map((r) => r.alert)).not.to.include('BackupOverdue');
      expect(byName.has('BackupOverdue'), 'login() has no backup section').to.equal(false);
    });

    it('watches kube-state-metrics’ series of this AuthService’s CronJob <name>-backup, warning after 36 hours', function () {
      const overdue = desiredPrometheusRule(everyField())?.spec.groups[0]?.rules.find((r) => r.alert === 'BackupOverdue');
      const selector = '{namespace="auth-service",cronjob="login-backup"}';
      expect(overdue?.expr.split('\n')).to.deep.equal([
        `(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time${selector}) > 129600)`,
        'or',
        `(time() - max by (namespace, cronjob) (kube_cronjob_created${selector}) > 129600 unless on (namespace, cronjob) kube_cronjob_status_last_successful_time${selector})`,
        'or',
        `absent(kube_cronjob_created${selector})`,
      ]);
      expect([overdue?.for, overdue?.labels]).to.deep.equal(['15m', { severity: 'warning', service: 'login' }]);
      expect(overdue?.annotations.runbook).to.include('kubectl -n auth-service create job --from=cronjob/login-backup login-backup-now');
    });

    it('waits the longest gap the schedule can leave, plus 12 hours: a weekly backup is not overdue after 36 hours', function () {
      const hours = (schedule: string) => backupOverdueSeconds(schedule) / 3600;
      expect(hours('0 2 * * *'), 'nightly (the default)').to.equal(36);
      expect(hours('*/30 * * * *'), 'every half hour').to.equal(36);
      expect(hours('@daily')).to.equal(36);
      expect(hours('0 3 * * 0'), 'Sundays').to.equal(7 * 24 + 12);
      expect(hours('@weekly')).to.equal(7 * 24 + 12);
      expect(hours('0 3 * * MON-FRI'), 'weekdays: a week, a bound rather than the gap').to.equal(7 * 24 + 12);
      expect(hours('0 3 1 * *'), 'monthly').to.equal(31 * 24 + 12);
      expect(hours('0 3 1 1 *'), 'yearly').to.equal(366 * 24 + 12);
      const weekly = everyField();
      weekly.spec.backup!.schedule = '0 3 * * 0';
      const rule = desiredPrometheusRule(weekly)?.spec.groups[0]?.rules.find((r) => r.alert === 'BackupOverdue');
      expect(rule?.expr).to.include(`> ${(7 * 24 + 12) * 3600})`);
      expect(rule?.annotations.summary).to.equal('No successful backup for 7 days and 12 hours');
    });
  });

  it('is absent when spec.monitoring.prometheusRule.enabled is false', function () {
    const auth = login();
    auth.spec.monitoring.prometheusRule.enabled = false;
    expect(desiredPrometheusRule(auth)).to.equal(undefined);
  });
});
