/**
 * Brings Redis and the other replicas up to date with the writes this process
 * made while Redis was out of reach (see unsynced.ts). The value this process
 * wrote cannot simply be replayed: another replica may have written a newer one
 * meanwhile (a session created here during the blip and revoked there). So each
 * key becomes "unknown" in Redis and is dropped from every replica's memory, and
 * everyone reads PostgreSQL, the source of truth, for it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';
import { channelFor, keyInvalidation, namespaceInvalidation } from './invalidation.js';
import type { Unsynced, UnsyncedSnapshot } from './unsynced.js';

/**
 * What a repaired key holds in Redis: not JSON, so no cached value can equal it.
 * get() reads it as a miss; add()'s SET NX cannot replace it. That keeps the
 * tombstone's guarantee: a reader that looked the session up in PostgreSQL before
 * the revocation committed, and fills the cache only now, cannot put "not revoked" back.
 */
export const unknownValue = '!unknown';

/**
 * How long a repaired key stays unknown: far longer than a reader takes from its
 * PostgreSQL read to its cache fill (a query plus one 5 s Redis timeout), short
 * enough that a repair of a whole namespace costs at most a minute of database reads.
 */
export const unknownTtlSeconds = 60;

// Bounds the size of one pipeline: a long outage can leave thousands of keys to repair.
const batchSize = 500;
// After a failure with the connection still up (a timeout), try again soon; a reconnection also asks.
const retryMs = 1000;

export interface RepairOptions {
  redis: Redis;
  unsynced: Unsynced;
  prefix: string;
  instance: string;
  logger: Logger;
  failed: (err: unknown) => void;
}

export interface Repair {
  /** Starts a repair if anything awaits one and Redis is ready; coalesces with one already running. */
  request(): void;
  stop(): void;
}

export function createRepair(options: RepairOptions): Repair {
  const { redis, unsynced, logger } = options;
  let running = false;
  let again = false;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const request = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (unsynced.empty() || redis.status !== 'ready') return;
    running = true;
    const done = unsynced.snapshot();
    repair(options, done).then(
      () => {
        // Only now may shared() answer true again: Redis and every replica's memory have let go of the stale values.
        unsynced.settle(done);
        logger.info('redis caught up with writes made while it was unreachable', {
          keys: done.keys.size,
          namespaces: [...done.namespaces.keys()],
        });
      },
      (err: unknown) => {
        options.failed(err);
        if (stopped) return;
        retry ??= setTimeout(() => {
          retry = undefined;
          request();
        }, retryMs).unref();
      },
    ).finally(() => {
      running = false;
      if (again) {
        again = false;
        request();
      }
    });
  };

  return {
    request,
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}

async function repair(options: RepairOptions, done: UnsyncedSnapshot): Promise<void> {
  const { redis, prefix, instance } = options;
  const channel = channelFor(prefix);
  const keys = [...done.keys.keys()];
  for (let start = 0; start < keys.length; start += batchSize) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(start, start + batchSize)) {
      pipeline.set(prefix + key, unknownValue, 'EX', unknownTtlSeconds);
      pipeline.publish(channel, keyInvalidation(instance, key));
    }
    failOnError(await pipeline.exec());
  }
  for (const namespace of done.namespaces.keys()) {
    for await (const found of redis.scanStream({ match: `${globEscape(prefix + namespace)}*`, count: 1000 })) {
      const batch = found as string[];
      if (batch.length === 0) continue;
      const pipeline = redis.pipeline();
      for (const key of batch) pipeline.set(key, unknownValue, 'EX', unknownTtlSeconds);
      failOnError(await pipeline.exec());
    }
    await redis.publish(channel, namespaceInvalidation(instance, namespace));
  }
}

function failOnError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('redis pipeline was discarded');
  const failure = results.find(([err]) => err !== null);
  if (failure) throw failure[0];
}

/** SCAN's MATCH is a glob: escape its special characters so a prefix matches only itself. */
export const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');
