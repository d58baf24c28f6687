import { expect } from 'chai';
import { healthReport, type CheckResult, type HealthSources } from '../../../service/health/checks.js';

/** The three checks as given; the database answers in 3 ms unless `databaseDown`. */
function sources(cache: CheckResult['status'], email: CheckResult['status'], databaseDown = false): HealthSources {
  const result = (status: CheckResult['status']) => ({ status, latency_ms: 1, details: status === 'degraded' ? 'unreachable' : null });
  return {
    pingDatabase: async () => {
      if (databaseDown) throw new Error('connect ECONNREFUSED');
      return 3;
    },
    cacheHealth: async () => result(cache) as Awaited<ReturnType<HealthSources['cacheHealth']>>,
    emailHealth: async () => result(email),
    version: '1.0.0',
  };
}

describe('healthReport: the overall status, by the guide\'s rule', () => {
  const overall = async (cache: CheckResult['status'], email: CheckResult['status'], databaseDown = false) => (await healthReport(sources(cache, email, databaseDown))).status;

  it('stays healthy while the database and one optional dependency answer: one down shows in its own check', async () => {
    expect(await overall('healthy', 'healthy')).to.equal('healthy');
    expect(await overall('degraded', 'healthy'), 'Redis down, SMTP up').to.equal('healthy');
    expect(await overall('healthy', 'degraded'), 'SMTP refusing, Redis up').to.equal('healthy');
    const report = await healthReport(sources('healthy', 'degraded'));
    expect(report.checks.email).to.include({ status: 'degraded', details: 'unreachable' });
  });

  it('is degraded when every optional dependency that is configured is down', async () => {
    expect(await overall('degraded', 'degraded')).to.equal('degraded');
    expect(await overall('degraded', 'disabled'), 'Redis down, no SMTP configured').to.equal('degraded');
    expect(await overall('disabled', 'degraded'), 'SMTP down, no Redis configured').to.equal('degraded');
    expect(await overall('disabled', 'disabled'), 'neither configured').to.equal('healthy');
  });

  it('is unhealthy when the database does not answer, whatever the rest', async () => {
    expect(await overall('healthy', 'healthy', true)).to.equal('unhealthy');
  });
});
