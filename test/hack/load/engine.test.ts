// The load engine against the real service (in-process, real PostgreSQL), on a
// profile scaled down to about ten seconds.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { runLoad, seededRandom, type LoadResult } from '../../../hack/load/engine.js';
import { arrivalsBy, parseProfile, scaleProfile } from '../../../hack/load/profile.js';
import { formatTable, percentile, tabulate } from '../../../hack/load/report.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

describe('hack/load engine and report', function () {
  this.timeout(120_000);
  const profile = scaleProfile(parseProfile(readFileSync(new URL('../../../hack/load/profile.yaml', import.meta.url), 'utf8')), 0.02, 0.1);
  let service: TestService;
  let result: LoadResult;
  let usersBefore: number;
  const countUsers = async () => {
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    try {
      return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0]?.n);
    } finally {
      await client.end();
    }
  };

  before(async function () {
    service = await startTestService({ RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
    const payload = [];
    for (let i = 0; i < 5; i++) {
      const account = newAccount();
      expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
      payload.push({ email: account.email, password: account.password });
    }
    usersBefore = await countUsers();
    result = await runLoad({ profile, baseUrl: `http://127.0.0.1:${service.port}`, payload, random: seededRandom(3), maxInFlight: 500 });
  });

  after(async function () {
    await service?.stop();
  });

  it('starts exactly the arrivals each phase adds up to, and every flow completes', function () {
    expect(result.phases.map((o) => o.arrivals)).to.deep.equal(profile.phases.map((p) => Math.round(arrivalsBy(p, p.durationSeconds))));
    expect(result.phases.every((o) => o.dropped === 0 && o.failedFlows === 0)).to.equal(true);
  });

  it('runs login then me for the authentication flow and register for the rest, all answered 2xx', function () {
    const [auth, register] = [0, 1].map((s) => result.phases.reduce((sum, o) => sum + (o.scenarios[s] ?? 0), 0)) as [number, number];
    expect(auth + register).to.equal(result.phases.reduce((s, o) => s + o.arrivals, 0));
    expect(result.records.filter((r) => r.scenario === 0)).to.have.length(2 * auth);
    expect(result.records.filter((r) => r.scenario === 1)).to.have.length(register);
    expect(result.records.filter((r) => r.status < 200 || r.status >= 300)).to.deep.equal([]);
    expect(register).to.be.greaterThan(0);
  });

  it('registers one account per registration flow', async function () {
    const register = result.phases.reduce((sum, o) => sum + (o.scenarios[1] ?? 0), 0);
    expect(await countUsers()).to.equal(usersBefore + register);
  });

  it("prints the guide's benchmark table: a row per phase and one for the run", function () {
    const rows = tabulate(result);
    expect(rows.map((r) => r.phase)).to.deep.equal(['Warm up', 'Sustained load', 'Ramp up', 'High load', 'All phases']);
    expect(rows.at(-1)?.requests).to.equal(result.records.length);
    expect(rows.every((r) => r.errorRatePercent === 0)).to.equal(true);
    const table = formatTable(rows);
    expect(table).to.include('| Phase | Arrivals/s | Duration | Requests | Avg Response Time | 99th Percentile | Error Rate | RPS |');
    expect(table).to.match(/\| Warm up \| 1 → 5 \| 1 s \| \d+ \| [\d.]+ms \| [\d.]+ms \| 0\.0% \| [\d.]+ \|/);
  });

  it('counts 4xx, 5xx, unanswered requests and dropped arrivals as errors, and takes the nearest-rank p99', function () {
    const phase = { name: 'p', durationSeconds: 1, arrivalRate: 1 };
    const rows = tabulate({
      phases: [{ phase, arrivals: 4, dropped: 1, failedFlows: 0, scenarios: [4], maxLagMs: 0 }],
      records: [200, 401, 503, 0].map((status, i) => ({ phase: 0, scenario: 0, status, ms: i + 1 })),
    });
    expect(rows[0]?.errorRatePercent).to.equal(80);
    expect(percentile([1, 2, 3, 4], 99)).to.equal(4);
    expect(percentile([1, 2, 3, 4], 50)).to.equal(2);
  });
});
