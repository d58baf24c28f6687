import { expect } from 'chai';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createCache, type Cache } from '../../../service/cache/two-level.js';
import { createRedis } from '../../../service/cache/redis.js';
import { createLogger } from '../../../service/logging/logger.js';
import { createMetrics } from '../../../service/metrics/registry.js';
import { eventually } from '../../support/eventually.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

interface Session {
  userId: string;
  revoked: boolean;
}

const quiet = createLogger({ level: 'error', stream: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

/** A cache as the service builds it, with its two connections to `url` (the subscriber's to `subscriberUrl` if given). */
async function cacheOn(url: string, extra: { unsyncedLimit?: number; subscriberUrl?: string; heartbeatMs?: number } = {}): Promise<Cache> {
  const { subscriberUrl = url, ...options } = extra;
  const config = { memoryCacheSize: 100, memoryCacheTtlSeconds: 300, redisUrl: url, redisDefaultTtlSeconds: 3600, redisTimeoutSeconds: 1 };
  return createCache({
    memorySize: config.memoryCacheSize,
    memoryTtlSeconds: config.memoryCacheTtlSeconds,
    redisTtlSeconds: config.redisDefaultTtlSeconds,
    redis: createRedis(config, () => undefined),
    subscriber: createRedis({ ...config, redisUrl: subscriberUrl }, () => undefined),
    metrics: createMetrics(),
    logger: quiet,
    ...options,
  });
}

const untilShared = (cache: Cache): Promise<true> =>
  eventually('the cache to be shared again', async () => (cache.shared() ? true : undefined), 10_000, 50);

describe('the two-level cache', () => {
  it('is never shared without Redis: nothing would tell it of another replica\'s writes', async () => {
    const cache = await createCache({ memorySize: 10, memoryTtlSeconds: 300, redisTtlSeconds: 3600, metrics: createMetrics(), logger: quiet });
    await cache.set('session:a', { userId: 'u', revoked: false });
    expect(cache.shared()).to.equal(false);
    // Still a cache for what may be stale: profiles.
    expect(await cache.get('session:a')).to.deep.equal({ userId: 'u', revoked: false });
    await cache.close();
  });

  it('holds what it stores frozen: every reader gets the same object, so none can change what the others read', async () => {
    const cache = await createCache({ memorySize: 10, memoryTtlSeconds: 300, redisTtlSeconds: 3600, metrics: createMetrics(), logger: quiet });
    const profile = { id: 'u1', email: 'ada@example.com' };
    await cache.set('user:u1', profile);
    const read = cache.peek<{ email: string }>('user:u1')!;
    expect(read).to.equal(await cache.get('user:u1'));
    expect(() => (read.email = 'eve@example.com')).to.throw(TypeError);
    expect(cache.peek('user:u1')).to.deep.equal({ id: 'u1', email: 'ada@example.com' });
    await cache.add('user:u2', { id: 'u2' });
    expect(Object.isFrozen(cache.peek('user:u2'))).to.equal(true);
    // Whether or not add() keeps it: a caller's object is frozen the same way every time.
    const late = { id: 'u2', email: 'late@example.com' };
    await cache.add('user:u2', late);
    expect(cache.peek('user:u2')).to.deep.equal({ id: 'u2' });
    expect(Object.isFrozen(late)).to.equal(true);
    await cache.close();
  });

  describe('writes that miss Redis during a blip', () => {
    let redis: TestRedis;
    let inspect: Redis;
    let proxy: TcpProxy;
    // `cut` reaches Redis through the proxy; `direct` is another replica that never loses Redis.
    let cut: Cache;
    let direct: Cache;
    before(async () => {
      redis = await startRedis();
      inspect = new Redis(redis.url);
      proxy = await startTcpProxy(redis.port);
    });
    afterEach(async () => {
      await cut?.close();
      await direct?.close();
      // A test that failed while the link was cut leaves it cut: the next one starts with it up.
      await proxy.cut();
      await proxy.restore();
    });
    after(async () => {
      inspect?.disconnect();
      await proxy?.stop();
      await redis?.stop();
    });

    it('make the key unknown in Redis and in other replicas\' memory before it is shared again', async function () {
      this.timeout(20_000);
      cut = await cacheOn(`redis://127.0.0.1:${proxy.port}`);
      direct = await cacheOn(redis.url);
      await untilShared(cut);
      await direct.set<Session>('session:s1', { userId: 'u', revoked: false });
      expect(await direct.get('session:s1')).to.deep.equal({ userId: 'u', revoked: false });

      await proxy.cut();
      await cut.set<Session>('session:s1', { userId: '', revoked: true });
      expect(cut.shared()).to.equal(false);
      expect(await inspect.get('keyward:session:s1'), 'Redis missed the write').to.contain('"revoked":false');

      await proxy.restore();
      await untilShared(cut);
      expect(await inspect.get('keyward:session:s1')).to.equal('!unknown');
      expect(await inspect.ttl('keyward:session:s1')).to.be.within(1, 60);
      // The other replica dropped its copy and finds nothing it may use: it reads PostgreSQL.
      expect(await direct.get('session:s1')).to.equal(undefined);
      // A reader that looked the session up before the revocation cannot put its stale answer back.
      await direct.add<Session>('session:s1', { userId: 'u', revoked: false });
      expect(await inspect.get('keyward:session:s1')).to.equal('!unknown');
      expect(await direct.get('session:s1')).to.equal(undefined);
      // A write-through replaces the unknown marker.
      await direct.set<Session>('session:s1', { userId: '', revoked: true });
      expect(await cut.get('session:s1')).to.deep.equal({ userId: '', revoked: true });
    });

    it('does not replay its own older value over a newer one written by another replica meanwhile', async function () {
      this.timeout(20_000);
      cut = await cacheOn(`redis://127.0.0.1:${proxy.port}`);
      direct = await cacheOn(redis.url);
      await untilShared(cut);
      await proxy.cut();
      // Created on the cut-off replica during the blip, revoked on the other one.
      await cut.set<Session>('session:s2', { userId: 'u', revoked: false });
      await direct.set<Session>('session:s2', { userId: '', revoked: true });
      await proxy.restore();
      await untilShared(cut);
      expect(await inspect.get('keyward:session:s2')).to.not.contain('"revoked":false');
      expect(await cut.get('session:s2')).to.equal(undefined);
    });

    it('drops what it wrote while starting cut off once first subscribed: a logout elsewhere meanwhile is not lost', async function () {
      this.timeout(20_000);
      await proxy.cut();
      cut = await cacheOn(`redis://127.0.0.1:${proxy.port}`);
      direct = await cacheOn(redis.url);
      await untilShared(direct);
      expect(cut.shared()).to.equal(false);
      // A login on the replica that started without Redis, then a logout of that session on the other.
      await cut.set<Session>('session:s6', { userId: 'u', revoked: false });
      await direct.set<Session>('session:s6', { userId: '', revoked: true });
      await proxy.restore();
      await untilShared(cut);
      // Its own memory no longer answers "not revoked": it reads PostgreSQL, or Redis once a write lands there.
      expect(await cut.get('session:s6')).to.equal(undefined);
    });

    it('keeps out of memory a fill made while only its main connection is cut: the read may predate a logout already heard', async function () {
      this.timeout(20_000);
      cut = await cacheOn(`redis://127.0.0.1:${proxy.port}`, { subscriberUrl: redis.url });
      direct = await cacheOn(redis.url);
      await untilShared(cut);
      // A session check on `cut` misses and reads PostgreSQL before the logout on the other replica commits.
      expect(await cut.get('session:s8')).to.equal(undefined);
      const staleRead: Session = { userId: 'u', revoked: false };
      await direct.set<Session>('session:s8', { userId: '', revoked: true });

      await proxy.cut();
      await eventually('the main connection to drop', async () => (cut.shared() ? undefined : true), 5_000, 10);
      await cut.add<Session>('session:s8', staleRead);
      expect(await cut.get('session:s8'), 'while cut off').to.equal(undefined);
      await proxy.restore();
      await untilShared(cut);
      expect(await cut.get('session:s8')).to.deep.equal({ userId: '', revoked: true });
    });

    it('past its limit, makes the whole namespace unknown and leaves other namespaces alone', async function () {
      this.timeout(20_000);
      cut = await cacheOn(`redis://127.0.0.1:${proxy.port}`, { unsyncedLimit: 1 });
      direct = await cacheOn(redis.url);
      await untilShared(cut);
      await direct.set<Session>('session:other', { userId: 'v', revoked: false });
      await direct.set('user:v', { id: 'v' });
      expect(await direct.get('session:other')).to.deep.equal({ userId: 'v', revoked: false });

      await proxy.cut();
      await cut.set<Session>('session:s3', { userId: '', revoked: true });
      await cut.set<Session>('session:s4', { userId: '', revoked: true });
      await cut.delete('session:s5');
      await proxy.restore();
      await untilShared(cut);

      expect(await inspect.get('keyward:session:other'), 'a key the cut-off replica never wrote').to.equal('!unknown');
      expect(await direct.get('session:other'), "dropped from the other replica's memory").to.equal(undefined);
      expect(await direct.get('user:v')).to.deep.equal({ id: 'v' });
      expect(await inspect.get('keyward:user:v')).to.equal(JSON.stringify({ id: 'v' }));
    });
  });

  describe('a subscription that fails while its connection stays up', () => {
    let redis: TestRedis;
    let admin: Redis;
    let refused: Cache;
    let other: Cache;
    before(async () => {
      redis = await startRedis();
      admin = new Redis(redis.url);
    });
    afterEach(async () => {
      await refused?.close();
      await other?.close();
    });
    after(async () => {
      admin?.disconnect();
      await redis?.stop();
    });

    it('says so in its health, subscribes again by itself, and then drops what it may have missed', async function () {
      this.timeout(20_000);
      // A Redis user refused every channel: its SUBSCRIBE fails (NOPERM) on a connection that stays ready.
      await admin.call('ACL', 'SETUSER', 'listener', 'on', '>secret', '~*', '+@all', 'resetchannels');
      other = await cacheOn(redis.url);
      refused = await cacheOn(redis.url, { subscriberUrl: `redis://listener:secret@127.0.0.1:${redis.port}` });
      await untilShared(other);
      expect(refused.shared()).to.equal(false);
      // Once its main connection is up too (until then health names that first).
      const degraded = await eventually('the refused subscription in health', async () => {
        const health = await refused.health();
        return health.details?.includes('not subscribed to the invalidation channel') ? health : undefined;
      }, 5_000, 50);
      expect(degraded.status).to.equal('degraded');

      // A login on the replica that cannot listen, then a logout of that session it does not hear of.
      await refused.set<Session>('session:s7', { userId: 'u', revoked: false });
      await other.set<Session>('session:s7', { userId: '', revoked: true });
      await sleep(1_000);
      expect(refused.shared(), 'still refused').to.equal(false);

      await admin.call('ACL', 'SETUSER', 'listener', 'allchannels');
      await untilShared(refused);
      expect(await refused.health()).to.include({ status: 'healthy', details: null });
      expect(await refused.get('session:s7')).to.deep.equal({ userId: '', revoked: true });
    });
  });

  describe('a read that a change overtakes', () => {
    let redis: TestRedis;
    // Puts values straight into Redis, as another replica's earlier write left them, with no invalidation still on its way.
    let earlier: Redis;
    let reader: Cache;
    before(async () => {
      redis = await startRedis();
      earlier = new Redis(redis.url);
      reader = await cacheOn(redis.url);
      await untilShared(reader);
    });
    after(async () => {
      await reader?.close();
      earlier?.disconnect();
      await redis?.stop();
    });
    const stored = (key: string, value: Session): Promise<unknown> => earlier.set(`keyward:${key}`, JSON.stringify(value), 'EX', 3600);

    it('answers what Redis held, but keeps the logout made here meanwhile in memory, not the answer', async () => {
      await stored('session:r1', { userId: 'u', revoked: false });
      // The reader's memory misses, so it asks Redis; the logout lands in its memory before the answer comes.
      const reading = reader.get<Session>('session:r1');
      const logout = reader.set<Session>('session:r1', { userId: '', revoked: true });
      expect(await reading, 'the answer: right when Redis gave it').to.deep.equal({ userId: 'u', revoked: false });
      await logout;
      expect(reader.peek<Session>('session:r1'), 'what memory answers next').to.deep.equal({ userId: '', revoked: true });
    });

    it('keeps nothing in memory from a fill that a delete here overtook', async () => {
      const filling = reader.add<Session>('session:r2', { userId: 'u', revoked: false });
      await reader.delete('session:r2');
      await filling;
      expect(reader.peek('session:r2'), 'memory, after the delete').to.equal(undefined);
    });

    it('keeps the answer of a read that nothing overtook', async () => {
      await stored('session:r3', { userId: 'u', revoked: false });
      expect(await reader.get<Session>('session:r3')).to.deep.equal({ userId: 'u', revoked: false });
      expect(reader.peek<Session>('session:r3')).to.deep.equal({ userId: 'u', revoked: false });
    });
  });

  describe('an invalidation channel that stops answering without closing', () => {
    let redis: TestRedis;
    let proxy: TcpProxy;
    let deaf: Cache;
    let other: Cache;
    before(async () => {
      redis = await startRedis();
      proxy = await startTcpProxy(redis.port);
    });
    after(async () => {
      await deaf?.close();
      await other?.close();
      await proxy?.stop();
      await redis?.stop();
    });

    it('is noticed by its heartbeat: the cache stops being shared, and is shared again, emptied, once the channel answers', async function () {
      this.timeout(30_000);
      deaf = await cacheOn(redis.url, { subscriberUrl: `redis://127.0.0.1:${proxy.port}`, heartbeatMs: 300 });
      other = await cacheOn(redis.url);
      await Promise.all([untilShared(deaf), untilShared(other)]);
      await deaf.set<Session>('session:h1', { userId: 'u', revoked: false });
      // A channel that answers is left alone: several heartbeats later, no reconnection has emptied memory.
      await sleep(1_000);
      expect(deaf.shared()).to.equal(true);
      expect(deaf.peek('session:h1'), 'memory, while the channel answers').to.deep.equal({ userId: 'u', revoked: false });

      proxy.stall();
      // A logout elsewhere, whose invalidation the deaf replica never hears.
      await other.set<Session>('session:h1', { userId: '', revoked: true });
      await eventually('the deaf replica no longer shared', async () => (deaf.shared() ? undefined : true), 10_000, 50);
      expect((await deaf.health()).status).to.equal('degraded');

      proxy.unstall();
      await untilShared(deaf);
      expect(deaf.peek('session:h1'), 'memory, after subscribing again').to.equal(undefined);
      expect(await deaf.get<Session>('session:h1')).to.deep.equal({ userId: '', revoked: true });
    });
  });
});

