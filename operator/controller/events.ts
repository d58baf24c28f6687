/**
 * Kubernetes Events about an AuthService, the lines `kubectl describe` shows.
 * A repeat of the same reason and message within ten minutes bumps the count
 * of the existing Event instead of creating another, as kubelet's recorder does.
 * Best effort, like client-go's recorder: a failed Event (a quota, a hiccup) is
 * logged and never fails the reconcile that reported it.
 */
import { randomBytes } from 'node:crypto';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.js';
import { pathFor, resources } from '../kube/resources.js';

export interface EventRecorder {
  record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

interface Recorded {
  /** The Event's name, once its create has answered. */
  name: Promise<string>;
  count: number;
  at: number;
}

const dedupeWindowMs = 10 * 60_000;

export function createEventRecorder(client: KubeClient, component: string, onError: (err: unknown) => void, now: () => Date = () => new Date()): EventRecorder {
  const recent = new Map<string, Recorded>();
  const recorder: EventRecorder = {
    async record(object, type, reason, message) {
      const meta = object.metadata ?? {};
      const namespace = meta.namespace ?? 'default';
      const key = `${meta.uid}|${type}|${reason}|${message}`;
      const time = now();
      const seen = recent.get(key);
      const path = pathFor(resources.Event, namespace);
      if (seen && time.getTime() - seen.at < dedupeWindowMs) {
        seen.count += 1;
        seen.at = time.getTime();
        const count = seen.count;
        const existing = await seen.name.catch(() => undefined);
        if (existing !== undefined) {
          try {
            await client.mergePatch(`${path}/${existing}`, { count, lastTimestamp: time.toISOString() });
            return;
          } catch (err) {
            if (!isNotFound(err)) throw err;
          }
        }
        // Its create failed, or it is gone (deleted by hand): record it afresh.
        if (recent.get(key) === seen) recent.delete(key);
      }
      const name = `${meta.name}.${time.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
      // Remembered before the create answers: Events are sent without waiting, and a repeat
      // recorded meanwhile must bump this Event's count, not create a second one.
      const created = client.create(path, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name: meta.name, namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component },
        reportingComponent: component,
        firstTimestamp: time.toISOString(),
        lastTimestamp: time.toISOString(),
        count: 1,
      } as KubeObject).then(() => name);
      const entry: Recorded = { name: created, count: 1, at: time.getTime() };
      recent.set(key, entry);
      if (recent.size > 5000) recent.delete(recent.keys().next().value!);
      try {
        await created;
      } catch (err) {
        if (recent.get(key) === entry) recent.delete(key);
        throw err;
      }
    },
  };
  return {
    record: (object, type, reason, message) => recorder.record(object, type, reason, message).catch(onError),
  };
}
