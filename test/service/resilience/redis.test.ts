import { expect } from 'chai';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { eventually as poll } from '../../support/eventually.js';

// Limits per client address have their own tests; every request here comes from 127.0.0.1.
const noRateLimits = { RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_REFRESH_PER_MINUTE: '0' };

/** The sum of a counter's samples in the service's /metrics, optionally for one `level`. */
async function counter(service: TestService, name: string, level?: string): Promise<number> {
  const res = await service.request('GET', '/metrics');
  let total = 0;
  for (const line of res.text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (level !== undefined && !(match[2] ?? '').includes(`level="${level}"`)) continue;
    total += Number(match[3]);
  }
  return total;
}

/** The shared poller, with the time budget first as these tests read best. */
const eventually = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
  poll(what, probe, timeoutMs, 200);

async function registered(service: TestService): Promise<{ email: string; password: string; userId: string; access: string; refresh: string }> {
  const account = newAccount();
  const res = await service.request('POST', '/api/auth/register', { body: account });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return { email: account.email, password: account.password, userId: res.body.user.id, access: res.body.access_token, refresh: res.body.refresh_token };
}

describe('Redis as the shared cache of several instances', () => {
  let redis: TestRedis;
  let inspect: Redis;
  let a: TestService;
  let b: TestService;
  before(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await inspect.connect();
    a = await startTestService({ REDIS_URL: redis.url, ...noRateLimits });
    b = await startTestService({ REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl, ...noRateLimits });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    inspect?.disconnect();
    await redis?.stop();
  });

  it('answers login and me from the cache: the entries are in Redis and cache_hits_total grows', async () => {
    const user = await registered(a);
    const login = await a.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
    expect(login.status).to.equal(200);
    expect(await inspect.exists(`keyward:user:${user.userId}`)).to.equal(1);
    const hitsBefore = await counter(a, 'cache_hits_total');
    const me = await a.request('GET', '/api/auth/me', { token: login.body.access_token });
    expect(me.status).to.equal(200);
    expect(me.body.user).to.include({ id: user.userId, email: user.email });
    // The session check and the profile: two hits.
    expect(await counter(a, 'cache_hits_total')).to.be.at.least(hitsBefore + 2);
  });

  it('lets another instance read what one wrote, from Redis rather than PostgreSQL', async () => {
    const user = await registered(a);
    const redisHits = await counter(b, 'cache_hits_total', 'redis');
    const me = await b.request('GET', '/api/auth/me', { token: user.access });
    expect(me.status).to.equal(200);
    expect(me.body.user.id).to.equal(user.userId);
    expect(await counter(b, 'cache_hits_total', 'redis')).to.be.at.least(redisHits + 2);
  });

  it('refuses an access token on B at once (401 session_revoked) after logout on A, though B held it in memory', async () => {
    const user = await registered(a);
    expect((await b.request('GET', '/api/auth/me', { token: user.access })).status).to.equal(200);
    const memoryHits = await counter(b, 'cache_hits_total', 'memory');
    expect((await b.request('GET', '/api/auth/me', { token: user.access })).status).to.equal(200);
    expect(await counter(b, 'cache_hits_total', 'memory'), "B answers from its own memory").to.be.at.least(memoryHits + 2);

    expect((await a.request('POST', '/api/auth/logout', { token: user.access })).status).to.equal(204);
    const onB = await b.request('GET', '/api/auth/me', { token: user.access });
    expect(onB.status).to.equal(401);
    expect(onB.body.error.code).to.equal('session_revoked');
    const onA = await a.request('GET', '/api/auth/me', { token: user.access });
    expect(onA.body.error.code).to.equal('session_revoked');
  });

  it('shares lockout counters: failures spread over both instances lock the account on both', async () => {
    const user = await registered(a);
    const wrong = { email: user.email, password: 'not the right password' };
    // Three on A and two on B: five in all, the default threshold; neither instance saw five alone.
    for (const service of [a, b, a, b, a]) {
      const res = await service.request('POST', '/api/auth/login', { body: wrong });
      expect(res.status).to.equal(401);
    }
    for (const service of [a, b]) {
      const res = await service.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_credentials');
    }
    const client = new pg.Client({ connectionString: a.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT type, details->>'reason' AS reason FROM security_events WHERE user_id = $1 AND type IN ('account_locked', 'login_failed') ORDER BY id`, [user.userId]);
      expect(rows.filter((r) => r.type === 'account_locked')).to.have.length(1);
      expect(rows.filter((r) => r.reason === 'locked')).to.have.length(2);
    } finally {
      await client.end();
    }
  });
});

describe('Redis going away and coming back', () => {
  let redis: TestRedis;
  let inspect: Redis;
  let a: TestService;
  let b: TestService;
  // Signed in before the outage, so its session sits in A's memory.
  let before1: Awaited<ReturnType<typeof registered>>;
  // Signed in before the outage and used on B, so B holds it in memory; logged out on A during the outage.
  let revokedDuringOutage: Awaited<ReturnType<typeof registered>>;
  before(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    inspect.on('error', () => undefined);
    await inspect.connect();
    a = await startTestService({ REDIS_URL: redis.url, ...noRateLimits });
    b = await startTestService({ REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl, ...noRateLimits });
    before1 = await registered(a);
    revokedDuringOutage = await registered(a);
    expect((await b.request('GET', '/api/auth/me', { token: revokedDuringOutage.access })).status).to.equal(200);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    inspect?.disconnect();
    await redis?.stop();
  });

  describe('while Redis is down', () => {
    before(async () => {
      await redis.kill();
    });

    it('still registers, logs in, answers me, refreshes and logs out from PostgreSQL', async () => {
      const user = await registered(a);
      const login = await a.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
      expect(login.status).to.equal(200);
      const me = await a.request('GET', '/api/auth/me', { token: login.body.access_token });
      expect(me.status).to.equal(200);
      expect(me.body.user.email).to.equal(user.email);
      // B never saw this user: its answer comes from PostgreSQL alone.
      const meOnB = await b.request('GET', '/api/auth/me', { token: login.body.access_token });
      expect(meOnB.status).to.equal(200);
      expect(meOnB.body.user.id).to.equal(user.userId);

      const refreshed = await a.request('POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
      expect(refreshed.status).to.equal(200);
      expect(refreshed.body.refresh_token).to.not.equal(login.body.refresh_token);
      expect((await a.request('GET', '/api/auth/me', { token: refreshed.body.access_token })).status).to.equal(200);

      expect((await a.request('POST', '/api/auth/logout', { token: refreshed.body.access_token })).status).to.equal(204);
      const after = await a.request('GET', '/api/auth/me', { token: refreshed.body.access_token });
      expect(after.status).to.equal(401);
      expect(after.body.error.code).to.equal('session_revoked');
      const wrong = await a.request('POST', '/api/auth/login', { body: { email: user.email, password: 'not the right password' } });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error.code).to.equal('invalid_credentials');
    });

    it('keeps a session signed in before the outage working', async () => {
      const me = await a.request('GET', '/api/auth/me', { token: before1.access });
      expect(me.status).to.equal(200);
      expect(me.body.user.id).to.equal(before1.userId);
    });

    it('reports checks.cache.status degraded in /health, 200 overall', async () => {
      const res = await a.request('GET', '/health');
      expect(res.status).to.equal(200);
      expect(res.body.status).to.equal('degraded');
      expect(res.body.checks.database.status).to.equal('healthy');
      expect(res.body.checks.cache.status).to.equal('degraded');
      expect(res.body.checks.cache.details).to.be.a('string').and.not.contain(redis.url);
      expect((await a.request('GET', '/health/ready')).status).to.equal(200);
    });

    it('logs out on one instance, and the other refuses the session at once although it kept it in memory', async () => {
      expect((await a.request('POST', '/api/auth/logout', { token: revokedDuringOutage.access })).status).to.equal(204);
      expect((await a.request('GET', '/api/auth/me', { token: revokedDuringOutage.access })).status).to.equal(401);
      // B cannot hear of the logout without Redis, so it reads session state from PostgreSQL meanwhile.
      const onB = await b.request('GET', '/api/auth/me', { token: revokedDuringOutage.access });
      expect(onB.status).to.equal(401);
      expect(onB.body.error.code).to.equal('session_revoked');
    });

    it('logs the outage at warn once, not once per request or per reconnection attempt', async function () {
      this.timeout(15_000);
      const outage = (): Record<string, unknown>[] => a.logs.filter((line) => line['level'] === 'warn' && line['message'] === 'redis unavailable; serving from PostgreSQL');
      await eventually('a warning', 5_000, async () => (outage().length > 0 ? true : undefined));
      // Reconnection attempts go on every 200 ms to 2 s; let a few of them fail.
      await new Promise((r) => setTimeout(r, 2_500));
      for (let i = 0; i < 5; i++) await a.request('GET', '/api/auth/me', { token: before1.access });
      expect(outage().length).to.be.within(1, 2);
    });
  });

  describe('when Redis returns', () => {
    before(async () => {
      await redis.restart();
    });

    it('reports /health healthy again within a few seconds', async function () {
      this.timeout(20_000);
      for (const service of [a, b]) {
        const body = await eventually('cache healthy', 10_000, async () => {
          const res = await service.request('GET', '/health');
          return res.body.checks.cache.status === 'healthy' ? res.body : undefined;
        });
        expect(body.status).to.equal('healthy');
      }
      expect(a.logs.map((line) => line['message'])).to.include('redis available again');
    });

    it('writes to Redis again, and another instance reads from it', async () => {
      const user = await registered(a);
      expect(await inspect.exists(`keyward:user:${user.userId}`)).to.equal(1);
      const redisHits = await counter(b, 'cache_hits_total', 'redis');
      expect((await b.request('GET', '/api/auth/me', { token: user.access })).status).to.equal(200);
      expect(await counter(b, 'cache_hits_total', 'redis')).to.be.at.least(redisHits + 2);
    });

    it('refuses on B, within a few seconds, a session revoked on A while B could not hear of it', async function () {
      this.timeout(20_000);
      // B drops what it kept in memory when its invalidation channel reconnects: it may have missed some.
      const res = await eventually('B refusing the revoked session', 10_000, async () => {
        const me = await b.request('GET', '/api/auth/me', { token: revokedDuringOutage.access });
        return me.status === 401 ? me : undefined;
      });
      expect(res.body.error.code).to.equal('session_revoked');
    });

    it('carries revocations between instances again', async function () {
      this.timeout(20_000);
      // The invalidation channel reconnects on its own schedule; give it the same few seconds.
      const user = await eventually('a fresh revocation reaching B', 10_000, async () => {
        const candidate = await registered(a);
        expect((await b.request('GET', '/api/auth/me', { token: candidate.access })).status).to.equal(200);
        expect((await b.request('GET', '/api/auth/me', { token: candidate.access })).status).to.equal(200);
        expect((await a.request('POST', '/api/auth/logout', { token: candidate.access })).status).to.equal(204);
        const onB = await b.request('GET', '/api/auth/me', { token: candidate.access });
        return onB.status === 401 ? candidate : undefined;
      });
      const onB = await b.request('GET', '/api/auth/me', { token: user.access });
      expect(onB.body.error.code).to.equal('session_revoked');
    });
  });
});

describe('Redis that stops answering without closing its connections (a brownout)', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let proxy: TcpProxy;
  let service: TestService;
  let admin: pg.Client;

  before(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    service = await startTestService({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_TIMEOUT_SECONDS: '2', ...noRateLimits });
    admin = new pg.Client({ connectionString: service.databaseUrl });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await service?.stop();
    await proxy?.stop();
    await redis?.stop();
  });

  it('never keeps a database transaction open while it waits for Redis: logins still succeed, just later', async () => {
    const accounts = await Promise.all([1, 2, 3].map(() => registered(service)));
    proxy.stall();
    // The service's own connections that have sat inside a transaction doing nothing for a second:
    // waiting on something else. (Between two statements a transaction is idle for a moment too.)
    const waiting: string[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const { rows } = await admin.query<{ query: string }>(
          `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'keyward-service'
             AND state = 'idle in transaction' AND clock_timestamp() - state_change > interval '1 second'`,
        );
        waiting.push(...rows.map((r) => r.query));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    try {
      const logins = await Promise.all(accounts.map((a) => service.request('POST', '/api/auth/login', { body: { email: a.email, password: a.password } })));
      expect(logins.map((l) => l.status)).to.deep.equal([200, 200, 200]);
    } finally {
      watching = false;
      await watch;
    }
    expect(waiting, 'statements after which a transaction waited').to.deep.equal([]);
  });
});
