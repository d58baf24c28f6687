/**
 * A deduplicating work queue of `namespace/name` keys, with client-go's
 * semantics: a key waiting is queued once however often it is added; a key
 * being processed is never handed to a second worker, and if it is added
 * meanwhile it is processed again afterwards. Failures back off exponentially
 * per key, with jitter so many failing keys do not retry in lockstep.
 */

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Clock and randomness, so tests can drive time. */
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
  random?: () => number;
}

export interface WorkQueue {
  add(key: string): void;
  addAfter(key: string, ms: number): void;
  /** Re-adds after this key's next backoff delay. */
  addRateLimited(key: string): void;
  /** Clears the key's failure count after a success. */
  forget(key: string): void;
  /** Resolves with the next key, or undefined once the queue is shut down. */
  get(): Promise<string | undefined>;
  done(key: string): void;
  /** Keys waiting (not those being processed or delayed). */
  readonly depth: number;
  failures(key: string): number;
  shutDown(): void;
}

const defaultTimer = (fn: () => void, ms: number): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/** Exponential backoff: base·2^(n-1), capped, then ±20 % jitter. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number): number {
  const raw = Math.min(baseMs * 2 ** Math.max(0, failures - 1), maxMs);
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export function createWorkQueue(options: QueueOptions = {}): WorkQueue {
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const setTimer = options.setTimer ?? defaultTimer;
  const random = options.random ?? Math.random;

  const queue: string[] = [];
  const waiting = new Set<string>();
  const processing = new Set<string>();
  const dirty = new Set<string>();
  const delayed = new Map<string, { at: number; cancel(): void }>();
  const failureCounts = new Map<string, number>();
  const getters: Array<(key: string | undefined) => void> = [];
  let shutting = false;

  const add = (key: string): void => {
    if (shutting) return;
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (waiting.has(key)) return;
    waiting.add(key);
    const getter = getters.shift();
    if (getter) {
      waiting.delete(key);
      processing.add(key);
      getter(key);
    } else {
      queue.push(key);
    }
  };

  const addAfter = (key: string, ms: number): void => {
    if (shutting) return;
    if (ms <= 0) return add(key);
    const at = Date.now() + ms;
    const existing = delayed.get(key);
    // Keep the earlier of two requested times: looking again sooner is always safe.
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const timer = setTimer(() => {
      delayed.delete(key);
      add(key);
    }, ms);
    delayed.set(key, { at, cancel: timer.cancel });
  };

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const n = (failureCounts.get(key) ?? 0) + 1;
      failureCounts.set(key, n);
      addAfter(key, backoffDelay(n, baseDelayMs, maxDelayMs, random));
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures: (key) => failureCounts.get(key) ?? 0,
    get() {
      // After shutDown no key is handed out, even if some are waiting: a process that lost
      // its leadership must stop writing at once.
      if (shutting) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        waiting.delete(key);
        processing.add(key);
        return Promise.resolve(key);
      }
      return new Promise((resolve) => getters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      if (dirty.delete(key)) add(key);
    },
    get depth() {
      return queue.length;
    },
    shutDown() {
      shutting = true;
      for (const d of delayed.values()) d.cancel();
      delayed.clear();
      for (const getter of getters.splice(0)) getter(undefined);
    },
  };
}
