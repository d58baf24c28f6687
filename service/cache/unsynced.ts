/**
 * The keys whose last write (or its announcement) never reached Redis: Redis,
 * and other replicas' memory, may still hold the value before it. Until they are
 * repaired nobody may trust the cache for them (a logout during a Redis blip
 * would otherwise come back as "not revoked"). Pure bookkeeping, no I/O.
 *
 * Bounded: past `limit` keys a whole namespace (the text up to the first ':',
 * `session:` or `user:`) is tracked instead, and the repair then covers every
 * key in it. Memory stays bounded during a long outage; what is lost is only
 * precision (more keys read from PostgreSQL for a while), never a revocation.
 */

/** What was unsynced when a repair began, with the generation of each entry. */
export interface UnsyncedSnapshot {
  keys: ReadonlyMap<string, number>;
  namespaces: ReadonlyMap<string, number>;
}

export interface Unsynced {
  /** Records that `key`'s latest write may be missing from Redis or from other replicas' memory. */
  mark(key: string): void;
  /** True when `key`, or its whole namespace, awaits repair. */
  has(key: string): boolean;
  empty(): boolean;
  snapshot(): UnsyncedSnapshot;
  /**
   * Forgets what a finished repair covered, except entries marked again since the
   * snapshot: a write that failed while the repair ran needs a repair of its own.
   */
  settle(done: UnsyncedSnapshot): void;
}

/** `session:` for `session:<id>`; a key without ':' is its own namespace. */
export const namespaceOf = (key: string): string => {
  const colon = key.indexOf(':');
  return colon === -1 ? key : key.slice(0, colon + 1);
};

export function createUnsynced(limit: number): Unsynced {
  const keys = new Map<string, number>();
  const namespaces = new Map<string, number>();
  // Every mark gets a new generation, so settle() can tell "repaired" from "marked again meanwhile".
  let generation = 0;

  return {
    mark(key) {
      generation += 1;
      const namespace = namespaceOf(key);
      if (namespaces.has(namespace)) {
        namespaces.set(namespace, generation);
      } else if (keys.size >= limit && !keys.has(key)) {
        namespaces.set(namespace, generation);
        // The namespace repair covers these keys too; dropping them keeps the bound.
        for (const tracked of keys.keys()) if (namespaceOf(tracked) === namespace) keys.delete(tracked);
      } else {
        keys.set(key, generation);
      }
    },

    has: (key) => keys.has(key) || namespaces.has(namespaceOf(key)),

    empty: () => keys.size === 0 && namespaces.size === 0,

    snapshot: () => ({ keys: new Map(keys), namespaces: new Map(namespaces) }),

    settle(done) {
      for (const [key, at] of done.keys) if (keys.get(key) === at) keys.delete(key);
      for (const [namespace, at] of done.namespaces) if (namespaces.get(namespace) === at) namespaces.delete(namespace);
    },
  };
}
