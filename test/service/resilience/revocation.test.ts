import { expect } from 'chai';
import { Redis } from 'ioredis';
import { eventually } from '../../support/eventually.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

// Limits per client address have their own tests; every request here comes from 127.0.0.1.
const noRateLimits = { RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_REFRESH_PER_MINUTE: '0' };

interface Account {
  email: string;
  password: string;
  userId: string;
  access: string;
  sessionId: string;
}

async function registered(service: TestService): Promise<Account> {
  const account = newAccount();
  const res = await service.request('POST', '/api/auth/register', { body: account });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  const claims = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString('utf8')) as { sid: string };
  return { email: account.email, password: account.password, userId: res.body.user.id, access: res.body.access_token, sessionId: claims.sid };
}

const meStatus = async (service: TestService, token: string): Promise<number> => (await service.request('GET', '/api/auth/me', { token })).status;

/** The sum of cache_hits_total{level} in the service's /metrics. */
async function hits(service: TestService, level: string): Promise<number> {
  const res = await service.request('GET', '/metrics');
  return res.text
    .split('\n')
    .filter((line) => line.startsWith('cache_hits_total{') && line.includes(`level="${level}"`))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

describe('revocation reaching every instance', () => {
  describe('two instances on one database, without Redis', () => {
    let a: TestService;
    let b: TestService;
    before(async () => {
      a = await startTestService(noRateLimits);
      b = await startTestService({ ...noRateLimits, DATABASE_URL: a.databaseUrl });
    });
    after(async () => {
      await b?.stop();
      await a?.stop();
    });

    it('refuses on B at once (401 session_revoked) a token logged out on A, though B has served it', async () => {
      const user = await registered(a);
      expect(await meStatus(b, user.access)).to.equal(200);
      expect(await meStatus(b, user.access)).to.equal(200);
      expect((await a.request('POST', '/api/auth/logout', { token: user.access })).status).to.equal(204);
      const onB = await b.request('GET', '/api/auth/me', { token: user.access });
      expect(onB.status).to.equal(401);
      expect(onB.body.error.code).to.equal('session_revoked');
      expect(await meStatus(a, user.access)).to.equal(401);
    });

    it('refuses on A at once every session that logout-all on B revoked', async () => {
      const user = await registered(a);
      const login = await a.request('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
      expect(login.status).to.equal(200);
      for (const token of [user.access, login.body.access_token]) expect(await meStatus(a, token)).to.equal(200);
      expect((await b.request('POST', '/api/auth/logout-all', { token: user.access })).status).to.equal(204);
      for (const token of [user.access, login.body.access_token]) expect(await meStatus(a, token)).to.equal(401);
    });

    it('still answers profiles from memory: only session state is read from PostgreSQL', async () => {
      const user = await registered(a);
      const before = await hits(a, 'memory');
      expect(await meStatus(a, user.access)).to.equal(200);
      expect(await hits(a, 'memory')).to.equal(before + 1);
    });
  });

  describe('one instance losing Redis while it logs a session out', () => {
    let redis: TestRedis;
    let proxy: TcpProxy;
    let inspect: Redis;
    // A reaches Redis through a proxy the tests cut; B reaches it directly and never loses it.
    let a: TestService;
    let b: TestService;
    before(async () => {
      redis = await startRedis();
      proxy = await startTcpProxy(redis.port);
      inspect = new Redis(redis.url);
      a = await startTestService({ ...noRateLimits, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_TIMEOUT_SECONDS: '1' });
      b = await startTestService({ ...noRateLimits, REDIS_URL: redis.url, DATABASE_URL: a.databaseUrl });
    });
    after(async () => {
      await b?.stop();
      await a?.stop();
      inspect?.disconnect();
      await proxy?.stop();
      await redis?.stop();
    });

    const cutOff = async (): Promise<void> => {
      await proxy.cut();
      await eventually('A to notice', async () => ((await a.request('GET', '/health')).body.checks.cache.status === 'degraded' ? true : undefined), 10_000);
    };
    const reconnected = async (): Promise<void> => {
      await proxy.restore();
      await eventually('A to reconnect', async () => ((await a.request('GET', '/health')).body.checks.cache.status === 'healthy' ? true : undefined), 10_000);
    };

    it('refuses the token on A and B within seconds of the link returning, and Redis no longer says revoked:false', async function () {
      this.timeout(40_000);
      const user = await registered(a);
      // B holds the session in memory, Redis holds {revoked:false} from the login.
      expect(await meStatus(b, user.access)).to.equal(200);
      expect(await meStatus(b, user.access)).to.equal(200);
      expect(await inspect.get(`keyward:session:${user.sessionId}`)).to.contain('"revoked":false');

      await cutOff();
      expect((await a.request('POST', '/api/auth/logout', { token: user.access })).status).to.equal(204);
      expect(await meStatus(a, user.access), 'A reads PostgreSQL while cut off').to.equal(401);

      await reconnected();
      for (const service of [a, b]) {
        const res = await eventually('the revoked session refused', async () => {
          const me = await service.request('GET', '/api/auth/me', { token: user.access });
          return me.status === 401 ? me : undefined;
        }, 5_000);
        expect(res.body.error.code).to.equal('session_revoked');
      }
      expect(await inspect.get(`keyward:session:${user.sessionId}`)).to.not.contain('"revoked":false');
      expect(a.logs.map((line) => line['message'])).to.include('redis caught up with writes made while it was unreachable');
      // And it stays refused: nobody puts "not revoked" back into Redis.
      for (const service of [a, b, a, b]) expect(await meStatus(service, user.access)).to.equal(401);
      expect(await inspect.get(`keyward:session:${user.sessionId}`)).to.not.contain('"revoked":false');
    });

    it('keeps refusing a session created on A while cut off and logged out on B', async function () {
      this.timeout(40_000);
      await cutOff();
      const user = await registered(a);
      expect((await b.request('POST', '/api/auth/logout', { token: user.access })).status).to.equal(204);
      expect(await meStatus(a, user.access)).to.equal(401);
      await reconnected();
      // The registration on A cached nothing for its session while cut off (a new session is only
      // ever filled in, which needs Redis), so nothing of A's can overwrite B's revocation.
      for (const service of [a, b, a, b]) expect(await meStatus(service, user.access)).to.equal(401);
      expect(await inspect.get(`keyward:session:${user.sessionId}`)).to.not.contain('"revoked":false');
    });

    it('serves sessions from the cache again once caught up', async function () {
      this.timeout(20_000);
      const user = await registered(a);
      expect(await meStatus(a, user.access)).to.equal(200);
      const before = await hits(a, 'memory');
      expect(await meStatus(a, user.access)).to.equal(200);
      // The session check and the profile.
      expect(await hits(a, 'memory')).to.equal(before + 2);
    });
  });
});
