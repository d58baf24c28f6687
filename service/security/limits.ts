/**
 * Per-IP rate limits and per-account lockout, on rate-limiter-flexible. With
 * Redis the counters are shared by every replica (atomic Lua scripts); without
 * it, or while it is down, an in-process limiter takes over ("insurance").
 */
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';

/** Where shared counters live: a Redis and the prefix of this deployment's keys in it (REDIS_KEY_PREFIX). */
export interface RedisCounters {
  client: Redis;
  prefix: string;
}

interface CounterOptions {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
  redis: RedisCounters | undefined;
}

function counter(options: CounterOptions): RateLimiterAbstract {
  const base = { points: options.points, duration: options.durationSeconds };
  // In memory the counters are this process's own: no other deployment can collide with them.
  const memory = new RateLimiterMemory({ ...base, keyPrefix: options.keyPrefix });
  if (!options.redis) return memory;
  const { client, prefix } = options.redis;
  return new RateLimiterRedis({ ...base, keyPrefix: `${prefix}${options.keyPrefix}`, storeClient: client, insuranceLimiter: memory, rejectIfRedisNotReady: true });
}

const retryAfter = (res: RateLimiterRes): number => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

export interface RateLimit {
  /** Takes one request from `key`'s budget, or throws `rate_limited` with Retry-After. */
  consume(key: string): Promise<void>;
}

export interface RateLimitWindow {
  seconds: number;
  /** Whose budget it is, for the message: "from this address" (an IP), "for this email address". */
  per: string;
}

const perMinuteFromAddress: RateLimitWindow = { seconds: 60, per: 'from this address' };

/** A budget of `points` requests per window (a minute per client IP unless given); 0 means no limit. */
export function createRateLimit(name: string, points: number, redis: RedisCounters | undefined, window: RateLimitWindow = perMinuteFromAddress): RateLimit {
  if (points === 0) return { consume: async () => undefined };
  const limiter = counter({ keyPrefix: `rl:${name}`, points, durationSeconds: window.seconds, redis });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        const seconds = retryAfter(res);
        throw new AppError('rate_limited', {
          message: `Too many ${name} requests ${window.per}; retry in ${seconds} s.`,
          headers: { 'Retry-After': String(seconds) },
        });
      }
    },
  };
}

export interface LockoutOptions {
  threshold: number;
  baseSeconds: number;
  maxSeconds: number;
  redis: RedisCounters | undefined;
}

export type Reservation = { allowed: true; lastChance: boolean } | { allowed: false; retryAfterSeconds: number };

export interface Lockout {
  /**
   * Reserves one password evaluation for `account`. Reservations are taken
   * atomically, so N+k parallel attempts reserve at most N evaluations.
   */
  reserve(account: string): Promise<Reservation>;
  /** Records that the reserved evaluation failed; returns the lock length when this failure locked the account. */
  fail(account: string, lastChance: boolean): Promise<number | undefined>;
  /**
   * Gives back a reservation that never came to a wrong password: the request failed for
   * another reason (PostgreSQL down, a bug). Otherwise an outage alone locks accounts.
   */
  release(account: string): Promise<void>;
  /**
   * A correct password clears the failure count and the lockout history; answers
   * whether the account had been locked within the history window (a day), so the
   * owner can be told of this sign-in.
   */
  succeed(account: string): Promise<boolean>;
}

// Failures count within a 15-minute window: long enough to cover the longest lock.
const failureWindowSeconds = 900;
// Lockouts within a day make the next one longer (1 min, 2, 4, 8, then the 15 min cap).
const historyWindowSeconds = 86400;

export function lockoutSeconds(lockoutNumber: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, lockoutNumber - 1), maxSeconds);
}

/**
 * Runs `work`, part of a reserved attempt that has not come to a wrong password; if it
 * throws, the reservation is given back and the error rethrown. Judge a wrong password
 * outside it (with `fail`), or a failure to record that guess would refund it.
 */
export async function releasingOnError<T>(lockout: Lockout, account: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    // A release that fails leaves the attempt counted, as before: the caller must see the first error.
    await lockout.release(account).catch(() => undefined);
    throw err;
  }
}

export function createLockout(options: LockoutOptions): Lockout {
  const attempts = counter({ keyPrefix: 'lock:attempts', points: options.threshold, durationSeconds: failureWindowSeconds, redis: options.redis });
  const history = counter({ keyPrefix: 'lock:history', points: 1_000_000, durationSeconds: historyWindowSeconds, redis: options.redis });
  return {
    async reserve(account) {
      try {
        const res = await attempts.consume(account);
        return { allowed: true, lastChance: res.consumedPoints >= options.threshold };
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        return { allowed: false, retryAfterSeconds: retryAfter(res) };
      }
    },
    async fail(account, lastChance) {
      if (!lastChance) return undefined;
      const lockouts = await history.consume(account);
      const seconds = lockoutSeconds(lockouts.consumedPoints, options.baseSeconds, options.maxSeconds);
      await attempts.block(account, seconds);
      return seconds;
    },
    async release(account) {
      const res = await attempts.get(account);
      // Nothing to give back once a success cleared the count (a reward would then grant an extra
      // guess), nor past the threshold: the account is locked or being guessed at by others.
      if (!res || res.consumedPoints <= 0 || res.consumedPoints > options.threshold) return;
      await attempts.reward(account);
    },
    async succeed(account) {
      const past = await history.get(account);
      await Promise.all([attempts.delete(account), history.delete(account)]);
      return (past?.consumedPoints ?? 0) > 0;
    },
  };
}
