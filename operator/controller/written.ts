/**
 * What this operator wrote that its informers have not shown yet. A pass reads
 * the world from the caches, but the watch event for its own write can arrive
 * after the next pass has started: that pass then sees the object as it was
 * (a status without the rollout step just persisted, a child not created
 * yet) and writes the same thing again. The API server's answer to a write is
 * at least as fresh as the cache until the informer reports any event for that
 * object, so reads prefer it until then (the role of client-go's ReplicaSet
 * "expectations", kept to the objects themselves).
 */
import type { KubeObject } from '../kube/client.js';

export interface WriteLedger {
  /** The API server answered a write of this object with `answer` (undefined: it was deleted). */
  wrote(kind: string, namespace: string, name: string, answer: KubeObject | undefined): void;
  /** The informer reported an event for this object: its cache is now at least as fresh as our write. */
  observed(kind: string, object: KubeObject): void;
  /** `cached`, or the answer to a write of ours that the informer has not reported yet. */
  fresher<T>(kind: string, namespace: string, name: string, cached: T | undefined): T | undefined;
  /** Writes not yet reported (for tests and debugging). */
  readonly size: number;
}

interface Entry {
  answer: KubeObject | undefined;
}

const keyOf = (kind: string, namespace: string | undefined, name: string | undefined): string => `${kind}/${namespace ?? ''}/${name ?? ''}`;

/** The answer as an informer would cache it: managedFields are most of its size and nothing reads them. */
function stripped(answer: KubeObject | undefined): KubeObject | undefined {
  if (!answer?.metadata || !('managedFields' in answer.metadata)) return answer;
  const { managedFields: _dropped, ...metadata } = answer.metadata as typeof answer.metadata & { managedFields?: unknown };
  return { ...answer, metadata };
}

export function createWriteLedger(): WriteLedger {
  const pending = new Map<string, Entry>();
  return {
    wrote(kind, namespace, name, answer) {
      pending.set(keyOf(kind, namespace, name), { answer: stripped(answer) });
    },
    observed(kind, object) {
      pending.delete(keyOf(kind, object.metadata?.namespace, object.metadata?.name));
    },
    fresher<T>(kind: string, namespace: string, name: string, cached: T | undefined): T | undefined {
      const key = keyOf(kind, namespace, name);
      const entry = pending.get(key);
      if (!entry) return cached;
      // The informer's event for our write may have come before the answer did: then the cache has it.
      const cachedVersion = (cached as KubeObject | undefined)?.metadata?.resourceVersion;
      if (cachedVersion !== undefined && cachedVersion === entry.answer?.metadata?.resourceVersion) {
        pending.delete(key);
        return cached;
      }
      return entry.answer as T | undefined;
    },
    get size() {
      return pending.size;
    },
  };
}
