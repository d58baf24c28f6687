import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

describe('two deployments sharing one Redis (REDIS_KEY_PREFIX)', () => {
  let redis: TestRedis;
  let inspect: Redis;
  let staging: TestService;
  let production: TestService;
  before(async () => {
    redis = await startRedis();
    inspect = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await inspect.connect();
    // Two AuthServices, each with its own database, as the operator prefixes them.
    staging = await startTestService({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'keyward:staging/login:', LOCKOUT_THRESHOLD: '3', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
    production = await startTestService({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'keyward:prod/login:', LOCKOUT_THRESHOLD: '3', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
  });
  after(async () => {
    await production?.stop();
    await staging?.stop();
    inspect?.disconnect();
    await redis?.stop();
  });

  it('keeps lockouts apart: locking an address in one does not lock it in the other', async () => {
    const account = newAccount();
    for (const service of [staging, production]) expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
    for (let i = 0; i < 4; i++) await staging.request('POST', '/api/auth/login', { body: { email: account.email, password: 'wrong password here' } });
    expect((await staging.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status, 'staging locked').to.equal(401);
    expect((await production.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status, 'production not').to.equal(200);
  });

  it('writes every key under its own prefix', async () => {
    const keys = await inspect.keys('*');
    expect(keys.length).to.be.above(0);
    const outside = keys.filter((k) => !k.startsWith('keyward:staging/login:') && !k.startsWith('keyward:prod/login:'));
    expect(outside).to.deep.equal([]);
    expect(keys.some((k) => k.startsWith('keyward:staging/login:user:'))).to.equal(true);
    expect(keys.some((k) => k.startsWith('keyward:prod/login:lock'))).to.equal(false);
    expect(keys.some((k) => k.startsWith('keyward:staging/login:lock'))).to.equal(true);
  });

  it('listens on its own invalidation channel only', async () => {
    const channels = (await inspect.call('PUBSUB', 'CHANNELS', '*')) as string[];
    expect(channels.sort()).to.deep.equal(['keyward:prod/login:cache:invalidate', 'keyward:staging/login:cache:invalidate']);
  });
});
