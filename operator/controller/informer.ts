/**
 * List-then-watch of one kind, with a local cache the reconciler reads instead
 * of the API server. Unlike client-node's informer, which stops on non-410
 * errors and can hang on a silent connection, this one never gives up:
 *  - any error or end of stream → watch again from the last resourceVersion,
 *    after a backoff; 410 Gone → list again;
 *  - no event and no bookmark for `stallMs` → the watch is presumed dead and restarted.
 * Events only enqueue keys (STYLE.md §3); the handler must be cheap.
 */
import type { KubeClient, KubeObject, WatchEvent } from '../kube/client.js';
import { KubeError } from '../kube/client.js';
import { backoffDelay } from './queue.js';

export type InformerEvent = 'added' | 'modified' | 'deleted' | 'synced';

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  /** Collection path, e.g. /apis/apps/v1/deployments or a namespaced one. */
  path: string;
  labelSelector?: string;
  onEvent: (type: InformerEvent, object: T | undefined) => void;
  onRestart?: (reason: string) => void;
  log?: (message: string, meta?: Record<string, unknown>) => void;
  /** Restart a watch that has been silent this long (bookmarks arrive about every minute). */
  stallMs?: number;
  /** Server-side watch timeout; the server ends the stream and we re-watch. */
  watchTimeoutSeconds?: number;
  /** What the cache keeps of each object (e.g. a Secret's value hashes instead of its values). */
  transform?: (object: T) => T;
  /** Objects per list request (limit/continue). */
  pageSize?: number;
}

export interface Informer<T extends KubeObject> {
  start(): void;
  stop(): void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  isSynced(): boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  list(): T[];
}

/** The work-queue key and cache key of an object: `namespace/name` (`/name` when cluster-scoped). */
export const objectKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ''}/${name ?? ''}`;
const keyOf = (o: KubeObject): string => objectKey(o.metadata?.namespace, o.metadata?.name);

export function createInformer<T extends KubeObject>(options: InformerOptions<T>): Informer<T> {
  const { client, path } = options;
  const stallMs = options.stallMs ?? 150_000;
  const watchTimeoutSeconds = options.watchTimeoutSeconds ?? 290;
  const log = options.log ?? (() => undefined);
  // managedFields are often most of an object's size and nothing here reads them
  // (controller-runtime's TransformStripManagedFields does the same).
  const transform = (o: T): T => {
    let stripped = o;
    if (o.metadata && 'managedFields' in o.metadata) {
      const { managedFields: _dropped, ...metadata } = o.metadata as typeof o.metadata & { managedFields?: unknown };
      stripped = { ...o, metadata };
    }
    return options.transform ? options.transform(stripped) : stripped;
  };
  const cache = new Map<string, T>();
  let stopped = false;
  let abort: AbortController | undefined;
  let synced = false;
  let markSynced: () => void = () => undefined;
  const syncedPromise = new Promise<void>((resolve) => (markSynced = resolve));

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

  /**
   * Lists in pages, as client-go's pager does: a cluster's every Secret in one answer (Helm keeps
   * each release in one) is a body that can outlast the request's time limit and the pod's memory,
   * and each page is transformed (Secret values to digests) before the next arrives. The pages are
   * one consistent snapshot; a continue token that expired meanwhile (410) fails the list, which
   * starts again after the backoff (a 410 of a watch relists at once).
   */
  async function relist(): Promise<string> {
    const seen = new Set<string>();
    let token: string | undefined;
    let listed: { metadata: { resourceVersion?: string; continue?: string } };
    do {
      const page = await client.list<T>(path, { labelSelector: options.labelSelector, limit: options.pageSize ?? 500, continue: token });
      // Items of a List carry no apiVersion and kind (watch events do): restore them from the List's own.
      const listType = page as { apiVersion?: string; kind?: string };
      const kind = listType.kind?.replace(/List$/, '');
      for (const raw of page.items) {
        const item = transform({ apiVersion: listType.apiVersion, kind, ...raw });
        const key = keyOf(item);
        seen.add(key);
        const previous = cache.get(key);
        cache.set(key, item);
        if (!previous) options.onEvent('added', item);
        else if (previous.metadata?.resourceVersion !== item.metadata?.resourceVersion) options.onEvent('modified', item);
      }
      listed = page;
      token = page.metadata.continue || undefined;
    } while (token !== undefined && !stopped);
    // Cut short by stop(): what was not listed is not gone.
    if (stopped) return listed.metadata.resourceVersion ?? '';
    for (const [key, item] of cache) {
      if (!seen.has(key)) {
        cache.delete(key);
        options.onEvent('deleted', item);
      }
    }
    if (!synced) {
      synced = true;
      markSynced();
      options.onEvent('synced', undefined);
    }
    return listed.metadata.resourceVersion ?? '';
  }

  async function watchOnce(resourceVersion: string): Promise<string> {
    let rv = resourceVersion;
    abort = new AbortController();
    const controller = abort;
    let lastSeen = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastSeen > stallMs) {
        options.onRestart?.('stalled');
        log('watch silent too long; restarting', { path, silent_ms: Date.now() - lastSeen });
        controller.abort();
      }
    }, Math.min(stallMs, 5000));
    watchdog.unref();
    try {
      await client.watch<T>(
        path,
        { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: watchTimeoutSeconds, labelSelector: options.labelSelector },
        (event: WatchEvent<T>) => {
          lastSeen = Date.now();
          if (event.type === 'ERROR') {
            const status = event.object as unknown as { code?: number; message?: string };
            throw new KubeError(status.code ?? 500, 'WatchError', status.message ?? 'watch error');
          }
          const newRv = event.object.metadata?.resourceVersion;
          if (newRv) rv = newRv;
          if (event.type === 'BOOKMARK') return;
          const key = keyOf(event.object);
          if (event.type === 'DELETED') {
            cache.delete(key);
            options.onEvent('deleted', event.object);
          } else {
            const item = transform(event.object);
            cache.set(key, item);
            options.onEvent(event.type === 'ADDED' ? 'added' : 'modified', item);
          }
        },
        controller.signal,
      );
    } finally {
      clearInterval(watchdog);
    }
    return rv;
  }

  async function loop(): Promise<void> {
    let rv: string | undefined;
    let failures = 0;
    while (!stopped) {
      let listing = false;
      try {
        if (rv === undefined) {
          listing = true;
          rv = await relist();
          listing = false;
        }
        // A list cut short by stop() opens no watch.
        if (stopped) return;
        rv = await watchOnce(rv);
        failures = 0; // the server ended the stream normally (timeoutSeconds): watch again
      } catch (err) {
        if (stopped) return;
        failures += 1;
        const gone = err instanceof KubeError && err.status === 410;
        if (gone) rv = undefined;
        else if (failures > 3) rv = undefined; // a persistent failure may be a stale resourceVersion: start over
        options.onRestart?.(gone ? 'gone' : 'error');
        // A watch's 410 relists at once. A list's own 410 (its continue token expired before the last
        // page) backs off like any failure: listing again at once could expire again, in a loop.
        const delay = gone && !listing ? 0 : backoffDelay(failures, 500, 30_000, Math.random);
        log('watch failed; retrying', { path, error: err instanceof Error ? err.message : String(err), retry_ms: delay });
        await sleep(delay);
      }
    }
  }

  return {
    start() {
      stopped = false;
      void loop();
    },
    stop() {
      stopped = true;
      abort?.abort();
    },
    synced: syncedPromise,
    isSynced: () => synced,
    get: (namespace, name) => cache.get(objectKey(namespace, name)),
    list: () => [...cache.values()],
  };
}
