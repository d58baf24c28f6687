/**
 * Kubernetes Events about an AuthService, the lines `kubectl describe` shows.
 * A repeat of the same reason and message within ten minutes bumps the count
 * of the existing Event instead of creating another, as kubelet's recorder does.
 * Best effort, like client-go's recorder: a failed Event (a quota, a hiccup) is
 * logged and never fails the reconcile that reported it.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { pathFor, resources } from '../kube/resources.js';

export interface EventRecorder {
  record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

interface Recorded {
  name: string;
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
        await client.mergePatch(`${path}/${seen.name}`, { count: seen.count, lastTimestamp: time.toISOString() });
        return;
      }
      const name = `${meta.name}.${time.getTime().toString(16)}${randomBytes(2).toString('hex')}`;
      await client.create(path, {
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
      } as KubeObject);
      recent.set(key, { name, count: 1, at: time.getTime() });
      if (recent.size > 5000) recent.delete(recent.keys().next().value!);
    },
  };
  return {
    record: (object, type, reason, message) => recorder.record(object, type, reason, message).catch(onError),
  };
}
