import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../../service/db/embedded.js';
import { freePort } from '../../../service/util/free-port.js';
import { createTestDatabase } from '../../support/postgres.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { eventually as poll } from '../../support/eventually.js';

/** The shared poller, with the time budget first as these tests read best. */
const eventually = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  poll(what, probe, timeoutMs, 250);

describe('PostgreSQL going away and coming back', function () {
  // Starting and stopping a real PostgreSQL takes a few seconds on a busy machine.
  this.timeout(60_000);

  let dir: string;
  let port: number;
  let database: EmbeddedDatabase | undefined;
  let service: TestService;
  const account = newAccount();
  const password = (): string => decodeURIComponent(new URL(database!.url).password);

  // Its own server, not the suite-wide one: this one is stopped and started again on the same port.
  const startDatabase = async (): Promise<void> => {
    database = await startEmbeddedPostgres({ dataDir: dir, port, persistent: true });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-db-outage-'));
    port = await freePort();
    await startDatabase();
    service = await startTestService({ DATABASE_URL: database!.url, RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0' });
    expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
  });

  after(async () => {
    await service?.stop();
    await database?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** database_connections_active as /metrics reports it now. */
  const openConnections = async (): Promise<number> => {
    const text = (await service.request('GET', '/metrics')).text;
    const value = /^database_connections_active (\S+)$/m.exec(text)?.[1];
    expect(value, 'database_connections_active in /metrics').to.be.a('string');
    return Number(value);
  };

  it('reports its open connections while idle, so the DatabaseConnectionFailure alert (== 0 for 30 s) stays quiet at rest', async () => {
    // No request in flight but the scrape: a count of connections in use would say 0 here.
    expect(await openConnections()).to.be.at.least(1);
  });

  describe('while the database is down', () => {
    before(async () => {
      await database!.stop();
    });

    it('reports 0 open connections: the signal the DatabaseConnectionFailure alert fires on', async () => {
      await eventually('database_connections_active 0', 10_000, async () => ((await openConnections()) === 0 ? true : undefined));
    });

    it('answers /health 503 with checks.database.status unhealthy, naming no password', async () => {
      const res = await service.request('GET', '/health');
      expect(res.status).to.equal(503);
      expect(res.body.status).to.equal('unhealthy');
      expect(res.body.checks.database.status).to.equal('unhealthy');
      expect(res.body.checks.database.details).to.be.a('string').and.not.equal('');
      expect(res.text).to.not.contain(password());
    });

    it('fails readiness (503) and keeps liveness (200): a restart would not bring the database back', async () => {
      const ready = await service.request('GET', '/health/ready');
      expect(ready.status).to.equal(503);
      expect(ready.body.status).to.equal('database_unreachable');
      expect(ready.text).to.not.contain(password());
      const live = await service.request('GET', '/health/live');
      expect(live.status).to.equal(200);
    });

    it('answers login with 503 service_unavailable JSON and Retry-After, without a stack trace', async () => {
      const res = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      expect(res.status).to.equal(503);
      expect(res.headers.get('retry-after')).to.equal('5');
      expect(res.body).to.deep.equal({
        error: { code: 'service_unavailable', message: 'The service is temporarily unavailable; retry later.', request_id: res.headers.get('x-request-id') },
      });
      expect(res.text).to.not.match(/ECONNREFUSED|\bat \S+ \(|\.ts:\d+/);
    });

    it('answers register with 503 too, and keeps answering', async () => {
      const res = await service.request('POST', '/api/auth/register', { body: newAccount() });
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal('service_unavailable');
      expect((await service.request('GET', '/health/live')).status).to.equal(200);
      expect(service.logs.some((line) => line['message'] === 'request failed' && line['code'] === 'service_unavailable')).to.equal(true);
    });
  });

  describe('when the database returns', () => {
    before(async () => {
      await startDatabase();
    });

    it('answers /health and /health/ready 200 again within a few seconds', async () => {
      const health = await eventually('/health 200', 15_000, async () => {
        const res = await service.request('GET', '/health');
        return res.status === 200 ? res : undefined;
      });
      expect(health.body.checks.database.status).to.equal('healthy');
      await eventually('/health/ready 200', 15_000, async () => ((await service.request('GET', '/health/ready')).status === 200 ? true : undefined));
    });

    it('reports open connections again, and the alert resolves', async () => {
      await eventually('database_connections_active ≥ 1', 15_000, async () => ((await openConnections()) >= 1 ? true : undefined));
    });

    it('logs in with the account created before the outage', async () => {
      const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      expect(login.status).to.equal(200);
      const me = await service.request('GET', '/api/auth/me', { token: login.body.access_token });
      expect(me.status).to.equal(200);
      expect(me.body.user.email).to.equal(account.email);
    });
  });
});

describe('PostgreSQL that stops answering without closing its connections (a lost node)', function () {
  this.timeout(60_000);
  let proxy: TcpProxy;
  let service: TestService;
  const account = newAccount();
  const login = (): ReturnType<TestService['request']> => service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
  const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> => {
    const started = performance.now();
    const result = await work();
    return { result, ms: performance.now() - started };
  };

  before(async () => {
    const direct = new URL(await createTestDatabase('stalled'));
    proxy = await startTcpProxy(Number(direct.port), direct.hostname);
    direct.port = String(proxy.port);
    service = await startTestService({
      DATABASE_URL: direct.toString(),
      // Every connection open and idle when the server stops answering: each is one a probe can hang on.
      DATABASE_MAX_CONNECTIONS: '4',
      DATABASE_MIN_CONNECTIONS: '4',
      // Longer than the gauges' 2 s: a scrape that waited for a connection would show it.
      DATABASE_CONNECTION_TIMEOUT_SECONDS: '8',
      DATABASE_QUERY_TIMEOUT_SECONDS: '1',
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
    });
    expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
    proxy.stall();
  });
  after(async () => {
    await service?.stop();
    await proxy?.stop();
  });

  it('fails every readiness probe in bounded time, more probes than the pool has connections', async () => {
    for (let probe = 1; probe <= 8; probe++) {
      const { result, ms } = await timed(() => service.request('GET', '/health/ready'));
      expect(result.status, `probe ${probe}`).to.equal(503);
      expect(ms, `probe ${probe} took ${Math.round(ms)} ms`).to.be.below(4000);
    }
  });

  it('answers /metrics within a scrape\'s time, with the database-backed gauges at their last value', async () => {
    const { result, ms } = await timed(() => service.request('GET', '/metrics'));
    expect(result.status).to.equal(200);
    expect(result.text).to.match(/^active_sessions_total \d+/m);
    expect(ms, `the scrape took ${Math.round(ms)} ms`).to.be.below(5000);
  });

  it('answers a login 503 service_unavailable within seconds, not once TCP gives up', async () => {
    const { result, ms } = await timed(login);
    expect(result.status).to.equal(503);
    expect(result.body.error.code).to.equal('service_unavailable');
    // At most a connection's wait (8 s) and a statement's (1 s): seconds, where TCP takes minutes.
    expect(ms, `the login took ${Math.round(ms)} ms`).to.be.below(12_000);
  });

  it('is ready again soon after the database answers again, on new connections: the stalled ones were let go', async () => {
    proxy.unstall();
    await eventually('/health/ready 200', 15_000, async () => ((await service.request('GET', '/health/ready')).status === 200 ? true : undefined));
    expect((await login()).status).to.equal(200);
  });
});
