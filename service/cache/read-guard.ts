/**
 * Tells a Redis read whose value may be kept in memory from one that a change overtook. A read
 * misses memory and asks Redis; before the answer comes, a logout on this replica writes the
 * revoked state to memory, or another replica's invalidation arrives on the other connection.
 * The answer, older than that change, must not then be put in memory over it: a revoked session
 * would pass from memory until its entry expired. Only keys with a read in flight are tracked.
 */
export interface ReadGuard {
  /** Call before the read's await; call what it returns after it: true when the value may be kept. */
  begin(key: string): () => boolean;
  /** `key` changed: a local write or delete, or another replica's invalidation. */
  changed(key: string): void;
  /** Every key that starts with `prefix` changed ('' for every key). */
  changedUnder(prefix: string): void;
}

interface Reads {
  inFlight: number;
  overtaken: boolean;
}

export function createReadGuard(): ReadGuard {
  const reads = new Map<string, Reads>();
  const overtake = (key: string, entry: Reads): void => {
    entry.overtaken = true;
    // Reads that begin after the change start a new entry: they may keep what they read.
    reads.delete(key);
  };
  return {
    begin(key) {
      let entry = reads.get(key);
      if (!entry) reads.set(key, (entry = { inFlight: 0, overtaken: false }));
      entry.inFlight += 1;
      const mine = entry;
      let ended = false;
      return () => {
        if (ended) return false;
        ended = true;
        mine.inFlight -= 1;
        if (mine.inFlight === 0 && reads.get(key) === mine) reads.delete(key);
        return !mine.overtaken;
      };
    },
    changed(key) {
      const entry = reads.get(key);
      if (entry) overtake(key, entry);
    },
    changedUnder(prefix) {
      for (const [key, entry] of [...reads]) if (key.startsWith(prefix)) overtake(key, entry);
    },
  };
}
