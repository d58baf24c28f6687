/**
 * The Redis connection, set up to fail fast rather than queue: when Redis is
 * down every command rejects at once and callers fall back to PostgreSQL, and
 * ioredis keeps reconnecting in the background so Redis is used again when it returns.
 */
import { Redis } from 'ioredis';
import type { CacheConfig } from '../config/env.js';

/** How long to wait before the `attempt`th retry of a connection or a subscription: 200 ms more each time, up to 2 s. */
export const retryDelayMs = (attempt: number): number => Math.min(attempt * 200, 2000);

export function createRedis(config: Pick<CacheConfig, 'redisTimeoutSeconds'> & { redisUrl: string }, onError: (err: Error) => void): Redis {
  const redis = new Redis(config.redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: config.redisTimeoutSeconds * 1000,
    connectTimeout: config.redisTimeoutSeconds * 1000,
    // Reconnect forever: Redis is optional, never fatal.
    retryStrategy: retryDelayMs,
    lazyConnect: false,
  });
  redis.on('error', onError);
  return redis;
}
