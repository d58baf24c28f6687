/**
 * The guide's multi-level cache: L1 an in-process LRU (1000 entries, 300 s),
 * L2 Redis (3600 s, 5 s timeout) shared by every replica. Writes go to both
 * levels and are announced on a Redis channel so other replicas drop their L1
 * copy at once: a revoked session stops working everywhere, not after 300 s.
 * Redis being down only costs hits; the caller then reads PostgreSQL. A write
 * that cannot reach Redis (or whose announcement cannot) is remembered, and on
 * reconnection the key is made unknown everywhere before shared() answers true
 * again (unsynced.ts, repair.ts): a logout during a blip is never lost.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { channelFor, keyInvalidation, parseInvalidation } from './invalidation.js';
import { createReadGuard } from './read-guard.js';
import { createRepair, unknownValue } from './repair.js';
import { keepSubscribed } from './subscription.js';
import { createUnsynced, type Unsynced } from './unsynced.js';
import { errorMessage } from '../util/error-message.js';

export interface CacheHealth {
  status: 'healthy' | 'degraded' | 'disabled';
  latency_ms: number;
  details: string | null;
}

export interface Cache {
  /**
   * True only while every replica's changes reach this one at once: Redis and its
   * invalidation channel are up, and every write this process made has reached
   * them. False without Redis (nothing tells this process of a logout on another
   * replica), during an outage, and until writes missed during one are repaired.
   * State that must be current everywhere (revocation) is read from PostgreSQL then.
   */
  shared(): boolean;
  get<T>(key: string): Promise<T | undefined>;
  /**
   * What this process's memory holds for `key`, without asking Redis: for callers that must
   * answer synchronously (the fast path of `me`). It counts nothing: a caller that falls back
   * to get() would count its lookups twice, so one that answers from memory counts its hits.
   */
  peek<T>(key: string): T | undefined;
  /**
   * Stores `value` and freezes it (shallowly: cached values are flat records): readers share it,
   * so a change is another set(), never an edit. add() freezes its value too, and get() what it
   * read from Redis, whether or not they keep it.
   */
  set<T>(key: string, value: T): Promise<void>;
  /**
   * Stores `value` only where `key` is absent (Redis SET NX): for filling the cache from
   * PostgreSQL, so a read that raced a write never overwrites the newer value.
   */
  add<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  health(): Promise<CacheHealth>;
  close(): Promise<void>;
}

export interface CacheOptions {
  memorySize: number;
  memoryTtlSeconds: number;
  redisTtlSeconds: number;
  /** Absent: in-process only (the embedded default, a single replica). */
  redis?: Redis;
  /** A second connection for the invalidation channel (a subscribed connection can do nothing else). */
  subscriber?: Redis;
  metrics: Pick<Metrics, 'cacheHits' | 'cacheMisses'>;
  logger: Logger;
  prefix?: string;
  /** Keys remembered one by one while Redis misses writes, before whole namespaces are (unsynced.ts). */
  unsyncedLimit?: number;
  /** How often the invalidation channel's connection is checked (subscription.ts). */
  heartbeatMs?: number;
}

// About 1 MB of keys: far more than the writes of a blip, while a long outage costs no more memory.
const defaultUnsyncedLimit = 10_000;

export async function createCache(options: CacheOptions): Promise<Cache> {
  const prefix = options.prefix ?? 'keyward:';
  const channel = channelFor(prefix);
  const instance = randomUUID();
  const { metrics, logger, redis, subscriber } = options;
  // lru-cache needs object-or-primitive values that are not undefined; wrap them.
  const memory = new LRUCache<string, { value: unknown }>({ max: options.memorySize, ttl: options.memoryTtlSeconds * 1000 });
  // What memory holds is frozen (set, add and get freeze it on the way in): every reader gets the
  // same object (peek hands it out, and the fast path of `me` keeps the JSON of a profile per
  // object), so a change must be a new set(), never an edit some readers would see and others not.
  const hold = (key: string, value: unknown): void => void memory.set(key, { value });
  let lastRedisError: string | null = null;
  let listening = false;
  const unsynced: Unsynced = createUnsynced(options.unsyncedLimit ?? defaultUnsyncedLimit);
  // What Redis answers is kept in memory only if nothing changed the key while the answer was on its way.
  const reads = createReadGuard();

  const redisFailed = (err: unknown): void => {
    const message = errorMessage(err);
    // Log a failure once per change, not once per request: Redis down means every request fails over.
    if (message !== lastRedisError) logger.warn('redis unavailable; serving from PostgreSQL', { error: message });
    lastRedisError = message;
  };
  const redisUp = (): boolean => redis !== undefined && redis.status === 'ready';
  const repair = redis && createRepair({ redis, unsynced, prefix, instance, logger, failed: redisFailed });
  /** Redis, or the replicas listening to it, may still hold what `key` was before this write. */
  const missed = (key: string): void => {
    unsynced.mark(key);
    repair?.request();
  };
  if (redis) {
    // Requests skip Redis while it is not ready, so they never see the outage: the connection reports it.
    redis.on('error', redisFailed);
    redis.on('ready', () => {
      if (lastRedisError !== null) logger.info('redis available again');
      lastRedisError = null;
      repair?.request();
    });
  }

  if (subscriber) {
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const invalidation = parseInvalidation(message);
      if (invalidation.origin === instance) return;
      if ('key' in invalidation) {
        memory.delete(invalidation.key);
        reads.changed(invalidation.key);
      } else {
        for (const key of [...memory.keys()]) if (key.startsWith(invalidation.namespace)) memory.delete(key);
        reads.changedUnder(invalidation.namespace);
      }
    });
    // Between a reconnection and the SUBSCRIBE's reply, invalidations still go unheard.
    subscriber.on('close', () => (listening = false));
    await keepSubscribed(subscriber, channel, {
      // Invalidations published before this subscription was confirmed never arrive: those of a
      // reconnection's outage, and those of a first connection made after starting cut off. Repair's
      // invalidations of this process's own missed writes are skipped here as its own, too. So drop the
      // memory level on every confirmed subscription, the first included, and only then let shared()
      // answer true. Not at 'ready': an invalidation published before the SUBSCRIBE is confirmed is lost.
      subscribed: () => {
        memory.clear();
        reads.changedUnder('');
        listening = true;
      },
      failed: redisFailed,
    }, options.heartbeatMs);
  }

  /** Writes `key` to Redis (or deletes it) and tells the other replicas; remembers the key if either fails. */
  const writeThrough = async (key: string, write: (redis: Redis) => Promise<unknown>): Promise<void> => {
    if (!redisUp()) return missed(key);
    try {
      await write(redis!);
      await redis!.publish(channel, keyInvalidation(instance, key));
    } catch (err) {
      redisFailed(err);
      // Unknown whether the write landed; either way other replicas may keep the old value in memory.
      missed(key);
    }
  };

  /** Why shared() answers false, for /health; null while it answers true. */
  const notShared = (): string | null => {
    if (!redis) return 'REDIS_URL is not set; in-process cache only';
    if (!redisUp()) return `redis connection is ${redis.status}`;
    // The invalidation channel must be up and subscribed too: without it, other replicas' writes do not reach L1.
    const reason =
      !subscriber ? 'no invalidation channel'
      : subscriber.status !== 'ready' ? `invalidation channel connection is ${subscriber.status}`
      : !listening ? 'not subscribed to the invalidation channel'
      : !unsynced.empty() ? 'catching up with writes made while redis was unreachable'
      : null;
    return reason && `${reason}; session state is read from PostgreSQL`;
  };

  return {
    shared: () => notShared() === null,

    peek<T>(key: string): T | undefined {
      return memory.get(key)?.value as T | undefined;
    },

    async get<T>(key: string): Promise<T | undefined> {
      const local = memory.get(key);
      if (local) {
        metrics.cacheHits.inc({ level: 'memory' });
        return local.value as T;
      }
      metrics.cacheMisses.inc({ level: 'memory' });
      // Redis may hold what this process overwrote while cut off: the caller reads PostgreSQL instead.
      if (!redisUp() || unsynced.has(key)) return undefined;
      const keep = reads.begin(key);
      try {
        const raw = await redis!.get(prefix + key);
        lastRedisError = null;
        if (raw === null || raw === unknownValue) {
          metrics.cacheMisses.inc({ level: 'redis' });
          return undefined;
        }
        metrics.cacheHits.inc({ level: 'redis' });
        const value = Object.freeze(JSON.parse(raw) as T);
        // Answered for the caller either way: the read was right when Redis served it.
        if (keep()) hold(key, value);
        return value;
      } catch (err) {
        redisFailed(err);
        metrics.cacheMisses.inc({ level: 'redis' });
        return undefined;
      } finally {
        keep();
      }
    },

    async set<T>(key: string, value: T): Promise<void> {
      Object.freeze(value);
      hold(key, value);
      reads.changed(key);
      if (!redis) return;
      await writeThrough(key, (client) => client.set(prefix + key, JSON.stringify(value), 'EX', options.redisTtlSeconds));
    },

    async add<T>(key: string, value: T): Promise<void> {
      Object.freeze(value);
      if (!redis) {
        if (!memory.has(key)) hold(key, value);
        return;
      }
      // Redis unreachable: no fill at all, not even of memory. Nothing could tell this read from one that
      // raced a write (SET NX does that), and nothing would drop it later: the write's invalidation may
      // already have come and gone, and a reconnection of this connection alone keeps memory. Clearing
      // memory on that reconnection instead would still serve the stale value until then, and would
      // drop every profile on each blip. A fill that misses Redis is not remembered either: Redis then
      // holds nothing or a newer value.
      if (!redisUp()) return;
      const keep = reads.begin(key);
      try {
        const stored = await redis!.set(prefix + key, JSON.stringify(value), 'EX', options.redisTtlSeconds, 'NX');
        // Not stored: Redis holds a newer value, which the next get() reads and keeps in L1. Stored, but
        // overtaken by a write here or elsewhere before the answer came: Redis holds that one now.
        if (stored === 'OK' && keep() && !memory.has(key)) hold(key, value);
      } catch (err) {
        redisFailed(err);
      } finally {
        keep();
      }
    },

    async delete(key: string): Promise<void> {
      memory.delete(key);
      reads.changed(key);
      if (!redis) return;
      await writeThrough(key, (client) => client.del(prefix + key));
    },

    async health(): Promise<CacheHealth> {
      if (!redis) return { status: 'disabled', latency_ms: 0, details: notShared() };
      const started = performance.now();
      try {
        if (!redisUp()) throw new Error(`redis connection is ${redis.status}`);
        await redis.ping();
        // Redis answers, yet this replica cannot trust its memory with revocations: every check reads PostgreSQL.
        const reason = notShared();
        return { status: reason === null ? 'healthy' : 'degraded', latency_ms: Math.round(performance.now() - started), details: reason };
      } catch (err) {
        return { status: 'degraded', latency_ms: Math.round(performance.now() - started), details: errorMessage(err) };
      }
    },

    async close(): Promise<void> {
      repair?.stop();
      memory.clear();
      subscriber?.disconnect();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
