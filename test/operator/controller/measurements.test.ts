import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import type { AuthService } from '../../../operator/api/types.js';
import { createMeasurements } from '../../../operator/controller/measurements.js';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { readRolloutStatus } from '../../../operator/rollout/index.js';
import { adminClient, createNamespace } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, runOperator, sampleAuthService, sampleSecrets, type RunningOperator } from '../../support/operator.js';

/** A promise with its resolve, for measurements that end when the test says. */
function pending<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('analysis measurements', () => {
  describe('createMeasurements', () => {
    it('runs one measurement per AuthService at a time, keeps its result under the engine\'s key, and queues the AuthService', async () => {
      const queued: string[] = [];
      const measurements = createMeasurements((key) => queued.push(key));
      const first = pending<{ ok: boolean; message: string }>();
      expect(measurements.start('ns/a', 'pre-1', () => first.promise)).to.equal(true);
      expect(measurements.start('ns/a', 'pre-1', () => Promise.resolve({ ok: false, message: 'second' })), 'asked again while it runs').to.equal(false);
      expect(measurements.start('ns/b', 'pre-1', () => Promise.resolve({ ok: true, message: 'b' })), 'another AuthService').to.equal(true);
      first.resolve({ ok: true, message: 'GET /health → 200' });
      await eventually('both kept', async () => (queued.length === 2 ? true : undefined), 1000, 5);
      expect(measurements.latest('ns/a')).to.deep.equal({ key: 'pre-1', ok: true, message: 'GET /health → 200' });
      expect(queued.sort()).to.deep.equal(['ns/a', 'ns/b']);
      expect(measurements.start('ns/a', 'pre-2', () => Promise.resolve({ ok: true, message: 'next' })), 'the next, once the first ended').to.equal(true);
    });

    it('counts a measurement that throws as failed, with the reason', async () => {
      const measurements = createMeasurements(() => undefined);
      measurements.start('ns/a', 'post-2', () => Promise.reject(new Error('boom')));
      const result = await eventually('kept', async () => measurements.latest('ns/a'), 1000, 5);
      expect(result).to.deep.equal({ key: 'post-2', ok: false, message: 'the measurement failed: boom' });
    });

    it('drops what a measurement of an AuthService forgotten meanwhile finds, and queues nothing', async () => {
      const queued: string[] = [];
      const measurements = createMeasurements((key) => queued.push(key));
      const slow = pending<{ ok: boolean; message: string }>();
      measurements.start('ns/gone', 'pre-1', () => slow.promise);
      measurements.forget('ns/gone');
      slow.resolve({ ok: true, message: 'late' });
      await new Promise((r) => setTimeout(r, 20));
      expect(measurements.latest('ns/gone')).to.equal(undefined);
      expect(queued).to.deep.equal([]);
    });
  });

  describe('beside the reconcile passes, against a real control plane', function () {
    this.timeout(180_000);
    let admin: KubeClient;
    let ns: string;
    let operator: RunningOperator;
    // A colour Service that accepts connections and never answers: a measurement that takes its
    // whole timeoutSeconds, as one through a NetworkPolicy that drops the checks does.
    let silent: Server;
    const held: Socket[] = [];

    before(async () => {
      admin = await adminClient();
      await installCrd(admin, 'crds/authservice.yaml');
      ns = await createNamespace(admin, 'measure');
      for (const secret of sampleSecrets(ns)) await admin.apply(secret);
      silent = createServer((socket) => void held.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as { port: number }).port;
      // One worker: before, the slow measurement held it, and nothing else in the namespace moved.
      operator = await runOperator(ns, { workers: 1, serviceUrl: () => `http://127.0.0.1:${port}` });
    });
    after(async () => {
      await operator?.stop();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent?.close(resolve));
    });

    const getAuth = async (name: string): Promise<AuthService> =>
      (await admin.get<KubeObject>(`/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/${name}`)) as unknown as AuthService;
    const healthy = (name: string, timeoutMs: number): Promise<AuthService> =>
      eventually(`${name} Healthy`, async () => {
        const a = await getAuth(name);
        return a.status?.phase === 'Healthy' ? a : undefined;
      }, timeoutMs);

    it('brings up another AuthService while one waits on a measurement that takes its whole timeout', async () => {
      const analysis = { prePromotionAnalysis: { httpGet: { path: '/health' }, count: 1, intervalSeconds: 1, timeoutSeconds: 240 } };
      await admin.apply(sampleAuthService(ns, 'slow', { rollout: { progressDeadlineSeconds: 600, ...analysis } }));
      await healthy('slow', 90_000);
      await admin.mergePatch(`/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/slow`, { spec: { image: 'registry.example/keyward-service:1.5.0' } }, 'test');
      await eventually('the measurement under way (connected to the silent Service)', async () => (held.length > 0 ? true : undefined), 90_000);

      const started = Date.now();
      await admin.apply(sampleAuthService(ns, 'other'));
      await healthy('other', 60_000);
      expect(Date.now() - started, 'ms until the other AuthService was Healthy').to.be.below(60_000);
      expect(readRolloutStatus((await getAuth('slow')).status?.rollout).state?.step, 'the slow one, still measuring').to.equal('PrePromotionAnalysis');
    });
  });
});
