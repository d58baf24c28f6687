/**
 * The guide's multi-level cache: L1 an in-process LRU (1000 entries, 300 s),
 * L2 Redis (3600 s, 5 s timeout) shared by every replica. Writes go to both
 * levels and are announced on a Redis channel so other replicas drop their L1
 * copy at once: a revoked session stops working everywhere, not after 300 s.
 * Redis being down only costs hits; the caller then reads PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';

export interface CacheHealth {
  status: 'healthy' | 'degraded' | 'disabled';
  latency_ms: number;
  details: string | null;
}

export interface Cache {
  /**
   * False while Redis is configured but unreachable: other replicas' changes
   * (a logout) cannot reach this replica's memory then, so state that must be
   * current everywhere should be read from PostgreSQL instead.
   */
  shared(): boolean;
  get<T>(key: string): Promise<T | undefined>;
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
}

const channel = 'keyward:cache:invalidate';

export async function createCache(options: CacheOptions): Promise<Cache> {
  const prefix = options.prefix ?? 'keyward:';
  const instance = randomUUID();
  const { metrics, logger, redis, subscriber } = options;
  // lru-cache needs object-or-primitive values that are not undefined; wrap them.
  const memory = new LRUCache<string, { value: unknown }>({ max: options.memorySize, ttl: options.memoryTtlSeconds * 1000 });
  let lastRedisError: string | null = null;

  const redisFailed = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    // Log a failure once per change, not once per request: Redis down means every request fails over.
    if (message !== lastRedisError) logger.warn('redis unavailable; serving from PostgreSQL', { error: message });
    lastRedisError = message;
  };
  const redisUp = (): boolean => redis !== undefined && redis.status === 'ready';
  if (redis) {
    // Requests skip Redis while it is not ready, so they never see the outage: the connection reports it.
    redis.on('error', redisFailed);
    redis.on('ready', () => {
      if (lastRedisError !== null) logger.info('redis available again');
      lastRedisError = null;
    });
  }

  if (subscriber) {
    subscriber.on('message', (_channel: string, message: string) => {
      const [origin, key] = [message.slice(0, 36), message.slice(37)];
      if (origin !== instance) memory.delete(key);
    });
    await subscribeOnEveryConnection(subscriber, {
      // Invalidations published while this instance was cut off never arrive: drop the
      // memory level rather than keep serving entries (a revoked session) they would have removed.
      reconnected: () => memory.clear(),
      failed: redisFailed,
    });
  }

  const announce = async (key: string): Promise<void> => {
    if (!redisUp()) return;
    await redis!.publish(channel, `${instance}:${key}`).catch(redisFailed);
  };

  return {
    // The invalidation channel must be up too: without it, other replicas' writes do not reach L1.
    shared: () => redis === undefined || (redisUp() && (subscriber === undefined || subscriber.status === 'ready')),

    async get<T>(key: string): Promise<T | undefined> {
      const local = memory.get(key);
      if (local) {
        metrics.cacheHits.inc({ level: 'memory' });
        return local.value as T;
      }
      metrics.cacheMisses.inc({ level: 'memory' });
      if (!redisUp()) return undefined;
      try {
        const raw = await redis!.get(prefix + key);
        lastRedisError = null;
        if (raw === null) {
          metrics.cacheMisses.inc({ level: 'redis' });
          return undefined;
        }
        metrics.cacheHits.inc({ level: 'redis' });
        const value = JSON.parse(raw) as T;
        memory.set(key, { value });
        return value;
      } catch (err) {
        redisFailed(err);
        metrics.cacheMisses.inc({ level: 'redis' });
        return undefined;
      }
    },

    async set<T>(key: string, value: T): Promise<void> {
      memory.set(key, { value });
      if (!redisUp()) return;
      try {
        await redis!.set(prefix + key, JSON.stringify(value), 'EX', options.redisTtlSeconds);
      } catch (err) {
        redisFailed(err);
      }
      await announce(key);
    },

    async add<T>(key: string, value: T): Promise<void> {
      if (!redisUp()) {
        if (!memory.has(key)) memory.set(key, { value });
        return;
      }
      try {
        const stored = await redis!.set(prefix + key, JSON.stringify(value), 'EX', options.redisTtlSeconds, 'NX');
        // Not stored: Redis holds a newer value, which the next get() reads and keeps in L1.
        if (stored === 'OK' && !memory.has(key)) memory.set(key, { value });
      } catch (err) {
        redisFailed(err);
      }
    },

    async delete(key: string): Promise<void> {
      memory.delete(key);
      if (!redisUp()) return;
      try {
        await redis!.del(prefix + key);
      } catch (err) {
        redisFailed(err);
      }
      await announce(key);
    },

    async health(): Promise<CacheHealth> {
      if (!redis) return { status: 'disabled', latency_ms: 0, details: 'REDIS_URL is not set; in-process cache only' };
      const started = performance.now();
      try {
        if (!redisUp()) throw new Error(`redis connection is ${redis.status}`);
        await redis.ping();
        return { status: 'healthy', latency_ms: Math.round(performance.now() - started), details: null };
      } catch (err) {
        return { status: 'degraded', latency_ms: Math.round(performance.now() - started), details: err instanceof Error ? err.message : String(err) };
      }
    },

    async close(): Promise<void> {
      memory.clear();
      subscriber?.disconnect();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * Subscribes to the invalidation channel each time the connection becomes ready.
 * With the offline queue off, a SUBSCRIBE sent before the first connection is
 * refused outright, and ioredis only re-subscribes channels it once subscribed;
 * so the first attempt cannot be made up front. Resolves once subscribed, or once
 * the first connection attempt fails (Redis is optional: serve, subscribe when it comes).
 */
function subscribeOnEveryConnection(subscriber: Redis, on: { reconnected: () => void; failed: (err: unknown) => void }): Promise<void> {
  let connections = 0;
  return new Promise((resolve) => {
    const subscribe = (): void => {
      connections += 1;
      if (connections > 1) on.reconnected();
      subscriber.subscribe(channel).then(() => resolve(), (err: unknown) => {
        on.failed(err);
        resolve();
      });
    };
    subscriber.on('ready', subscribe);
    subscriber.once('error', () => resolve());
    if (subscriber.status === 'ready') subscribe();
  });
}
