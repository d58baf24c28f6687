/**
 * The cache counters from the service's /metrics, and the hit rates they give.
 * The two-level cache counts one lookup as: memory hit; or memory miss then
 * Redis hit; or memory miss then Redis miss (then PostgreSQL).
 */

export interface CacheCounters {
  memoryHits: number;
  memoryMisses: number;
  redisHits: number;
  redisMisses: number;
}

/** The value of `name{level="<level>"}` in Prometheus text, 0 when absent. */
function sample(text: string, name: string, level: string): number {
  const match = new RegExp(`^${name}\\{[^}]*level="${level}"[^}]*\\}\\s+(\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

export function cacheCounters(text: string): CacheCounters {
  return {
    memoryHits: sample(text, 'cache_hits_total', 'memory'),
    memoryMisses: sample(text, 'cache_misses_total', 'memory'),
    redisHits: sample(text, 'cache_hits_total', 'redis'),
    redisMisses: sample(text, 'cache_misses_total', 'redis'),
  };
}

export function difference(after: CacheCounters, before: CacheCounters): CacheCounters {
  return {
    memoryHits: after.memoryHits - before.memoryHits,
    memoryMisses: after.memoryMisses - before.memoryMisses,
    redisHits: after.redisHits - before.redisHits,
    redisMisses: after.redisMisses - before.redisMisses,
  };
}

export interface HitRates {
  /** Lookups = every cache.get (each one consults memory first). */
  lookups: number;
  /** Lookups answered from either level, without PostgreSQL: the target's figure. */
  anyLevel: number;
  /** Of all lookups, answered from memory. */
  memory: number;
  /** Of the lookups that reached Redis (memory misses), answered by Redis. */
  redis: number;
  /** Sum of hits over sum of hits and misses across both levels (counts one lookup twice on a memory miss). */
  naive: number;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);

export function hitRates(c: CacheCounters): HitRates {
  const lookups = c.memoryHits + c.memoryMisses;
  return {
    lookups,
    anyLevel: ratio(c.memoryHits + c.redisHits, lookups),
    memory: ratio(c.memoryHits, lookups),
    redis: ratio(c.redisHits, c.redisHits + c.redisMisses),
    naive: ratio(c.memoryHits + c.redisHits, c.memoryHits + c.memoryMisses + c.redisHits + c.redisMisses),
  };
}

/**
 * Cumulative bucket counts of histogram `metric` over the series that carry
 * `label` (e.g. `route="/api/auth/me"`), summed over their other labels.
 */
export function histogramBuckets(text: string, metric: string, label: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const pattern = new RegExp(`^${metric}_bucket\\{([^}]*)\\}\\s+(\\S+)`, 'gm');
  for (const [, labels, value] of text.matchAll(pattern)) {
    if (!labels!.includes(label)) continue;
    const le = /le="([^"]+)"/.exec(labels!)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(value));
  }
  return buckets;
}

/**
 * The service's own view of a run: the upper bound (seconds) of the histogram
 * bucket that holds the p99 of what was added between two scrapes. The HTTP
 * histogram starts timing when Express sees the request, so time queued in
 * the socket or behind a stalled event loop is not in it; the client's p99 is.
 */
export function p99Bound(after: Map<number, number>, before: Map<number, number>): { count: number; p99AtMostSeconds: number } {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const count = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (count <= 0) return { count: 0, p99AtMostSeconds: NaN };
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= 0.99 * count) return { count, p99AtMostSeconds: le };
  }
  return { count, p99AtMostSeconds: NaN };
}

/** An unlabelled gauge's value, NaN when absent. */
export function gauge(text: string, name: string): number {
  const match = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}
