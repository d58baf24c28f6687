/**
 * The same-run baseline: the bench flips a Service selector itself, with the
 * operator's identity and the operator's kind of write (server-side apply,
 * forced), and times it two ways:
 *   - the API round trip of that PATCH (request sent → answer read);
 *   - request sent → the bench's own watch sees the new selector, i.e. one
 *     write plus one watch delivery, the least any controller-driven flip
 *     observed by a watch can cost.
 * The Service belongs to no AuthService, so the operator never touches it.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Colour } from '../../operator/api/types.js';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { LABEL_COLOUR } from '../../operator/reconcile/meta.js';
import type { ServiceSeen, Timeline } from './timeline.js';

export const BASELINE_SERVICE = 'baseline-selector';

export interface BaselineSample {
  round: number;
  /** PATCH sent → answer read, performance.now() resolution. */
  roundTripMs: number;
  /** PATCH sent → the bench's watch delivered the new selector (Date.now() stamps). */
  watchedMs: number;
}

function service(namespace: string, colour: Colour): KubeObject {
  const svc: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: BASELINE_SERVICE, namespace, labels: { 'app.kubernetes.io/name': 'bench-baseline' } },
    spec: {
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'bench-baseline', [LABEL_COLOUR]: colour },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
  return svc as KubeObject;
}

export interface Baseline {
  /** `count` selector flips, one after the other. */
  sample(round: number, count: number): Promise<BaselineSample[]>;
}

export async function createBaseline(options: { client: KubeClient; namespace: string; timeline: Timeline; timeoutMs: number }): Promise<Baseline> {
  const { client, namespace, timeline } = options;
  let colour: Colour = 'blue';
  await client.apply(service(namespace, colour));
  await timeline.waitFor(`Service ${BASELINE_SERVICE} seen`, () => timeline.latest<ServiceSeen>('Service', BASELINE_SERVICE)?.colour === colour || undefined, options.timeoutMs);
  return {
    async sample(round, count) {
      const samples: BaselineSample[] = [];
      for (let i = 0; i < count; i++) {
        colour = colour === 'blue' ? 'green' : 'blue';
        const target = colour;
        const sentAt = Date.now();
        const t0 = performance.now();
        await client.apply(service(namespace, target));
        const roundTripMs = performance.now() - t0;
        const seen = await timeline.waitFor(`Service ${BASELINE_SERVICE} on ${target}`,
          () => timeline.first<ServiceSeen>('Service', BASELINE_SERVICE, sentAt, (s) => s.colour === target), options.timeoutMs);
        samples.push({ round, roundTripMs, watchedMs: seen.at - sentAt });
      }
      return samples;
    },
  };
}
