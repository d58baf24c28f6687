// Blue/green rollouts end to end: the operator (in-process, under its own RBAC)
// against the local control plane, with kwok pods and, where analysis is
// involved, real auth service processes standing in for a colour's Service.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { AuthService, Condition } from '../../../operator/api/types.js';
import type { ServiceUrlResolver } from '../../../operator/controller/analysis-runner.js';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { createOperatorMetrics } from '../../../operator/observability/metrics.js';
import { sendCommand } from '../../../operator/rollout-commands.js';
import { readRolloutStatus } from '../../../operator/rollout/index.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../../service/db/embedded.js';
import { adminClient, createNamespace, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, runOperator, sampleAuthService, sampleSecrets, type RunningOperator } from '../../support/operator.js';
import { startTestService, type TestService } from '../../support/service.js';

type Live = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

describe('blue/green rollouts against a real control plane', function () {
  this.timeout(180_000);
  let admin: KubeClient;
  let ns: string;
  let operator: RunningOperator;
  let healthy: TestService;
  let unhealthy: TestService;
  let unhealthyDb: EmbeddedDatabase;
  let unhealthyDir: string;
  // Colour Services resolve to real service processes: `<name>-green` of AuthServices named sick-* to one whose database is gone.
  const serviceUrl: ServiceUrlResolver = (_namespace, service) => (service.startsWith('sick-') && service.endsWith('-green') ? unhealthy.url : healthy.url);

  const authPath = (name: string): string => `/apis/auth.keyward.dev/v1alpha1/namespaces/${ns}/authservices/${name}`;
  const getAuth = async (name: string): Promise<AuthService> => (await admin.get<KubeObject>(authPath(name))) as unknown as AuthService;
  const deployment = async (name: string): Promise<Live | undefined> => admin.get<Live>(`/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  const selector = async (name: string): Promise<string | undefined> =>
    ((await admin.get<Live>(`/api/v1/namespaces/${ns}/services/${name}`))?.spec as { selector?: Record<string, string> } | undefined)?.selector?.['auth.keyward.dev/color'];
  const condition = (auth: AuthService, type: string): Condition | undefined => auth.status?.conditions?.find((c) => c.type === type);
  const history = (auth: AuthService): string[] => readRolloutStatus(auth.status?.rollout).state?.history.map((h) => h.reason) ?? [];
  /** The history of the latest rollout: from its RolloutStarted on (the first deploy has one too). */
  const lastRollout = (auth: AuthService): string[] => {
    const all = history(auth);
    return all.slice(all.lastIndexOf('RolloutStarted'));
  };
  /** True when `steps` occur in `reasons` in this order, others allowed in between. */
  const inOrder = (reasons: string[], steps: string[]): boolean => {
    let i = 0;
    for (const r of reasons) if (r === steps[i]) i += 1;
    return i === steps.length;
  };
  const setImage = (name: string, image: string): Promise<KubeObject> => admin.mergePatch(authPath(name), { spec: { image } }, 'test');

  /** Creates an AuthService and waits until its first revision serves on blue. */
  async function deployed(name: string, spec: Record<string, unknown> = {}): Promise<AuthService> {
    const { rollout, ...rest } = spec;
    await admin.apply(sampleAuthService(ns, name, { ...rest, rollout: { scaleDownDelaySeconds: 1, progressDeadlineSeconds: 20, ...(rollout as object | undefined) } }));
    return eventually(`${name} Healthy on blue`, async () => {
      const a = await getAuth(name);
      return a.status?.phase === 'Healthy' && a.status.activeColor === 'blue' ? a : undefined;
    }, 90_000);
  }

  before(async () => {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    ns = await createNamespace(admin, 'rollouts');
    for (const secret of sampleSecrets(ns)) await admin.apply(secret);
    healthy = await startTestService();
    unhealthyDir = await mkdtemp(join(tmpdir(), 'keyward-sick-'));
    unhealthyDb = await startEmbeddedPostgres({ dataDir: unhealthyDir, persistent: false });
    unhealthy = await startTestService({ DATABASE_URL: unhealthyDb.url });
    await unhealthyDb.stop(); // the process keeps answering: /health now says 503
    operator = await runOperator(ns, { serviceUrl });
  });
  after(async () => {
    await operator?.stop();
    await healthy?.stop();
    await unhealthy?.stop().catch(() => undefined);
    if (unhealthyDir) await rm(unhealthyDir, { recursive: true, force: true });
  });

  it('rolls a new image out to green, flips the Service once green is whole, and scales blue down', async () => {
    const before = await deployed('plain');
    await setImage('plain', 'registry.example/keyward-service:1.5.0');
    const after = await eventually('traffic on green', async () => {
      const a = await getAuth('plain');
      return a.status?.activeColor === 'green' && a.status.phase === 'Healthy' ? a : undefined;
    });
    expect(after.status?.activeImage).to.equal('registry.example/keyward-service:1.5.0');
    expect(after.status?.activeRevision).to.not.equal(before.status?.activeRevision);
    expect(await selector('plain')).to.equal('green');
    expect((await deployment('plain-blue'))?.spec?.['replicas']).to.equal(0);
    const state = readRolloutStatus(after.status?.rollout).state!;
    const flipMs = Date.parse(state.milestones.promoted!) - Date.parse(state.milestones.previewAvailable!);
    // No analysis configured: the flip follows availability in the same pass or the next.
    expect(flipMs, `flip ${flipMs} ms after green became available`).to.be.below(2000);
    expect(inOrder(lastRollout(after), ['RolloutStarted', 'PreviewAvailable', 'Promoted', 'ScaledDown']), lastRollout(after).join(', ')).to.equal(true);
  });

  it('shows the rollout through `kubectl keyward status` and refuses a promote with nothing to promote', async () => {
    const kubeconfig = (await sharedControlPlane()).userKubeconfig('keyward-admin', ['system:masters']);
    const run = (...args: string[]) => spawnSync('hack/kubectl-keyward', [...args, 'plain', '-n', ns, '--kubeconfig', kubeconfig], { encoding: 'utf8', timeout: 60_000 });
    const status = run('status');
    expect(status.status, status.stderr).to.equal(0);
    expect(status.stdout).to.contain(`AuthService ${ns}/plain: phase Healthy`);
    expect(status.stdout).to.match(/Next: /);
    const promote = run('promote');
    expect(promote.status).to.equal(2);
    expect(promote.stdout).to.match(/^promote: not sent\. No rollout is in flight/);
  });

  it('never moves traffic to an image whose pods never become ready: ProgressDeadlineExceeded', async () => {
    await deployed('broken', { rollout: { progressDeadlineSeconds: 8 } });
    await setImage('broken', 'registry.example/keyward-service:1.5.0-broken');
    const failed = await eventually('Degraded', async () => {
      const a = await getAuth('broken');
      return a.status?.phase === 'Degraded' ? a : undefined;
    }, 90_000);
    expect(condition(failed, 'Degraded')).to.include({ status: 'True', reason: 'ProgressDeadlineExceeded' });
    expect(failed.status?.activeColor).to.equal('blue');
    expect(await selector('broken')).to.equal('blue');
    await eventually('green scaled to 0', async () => ((await deployment('broken-green'))?.spec?.['replicas'] === 0 ? true : undefined));
    expect((await deployment('broken-blue'))?.spec?.['replicas']).to.equal(3);
  });

  it('keeps traffic on blue when the new colour fails its pre-promotion checks (a real service whose database is down)', async () => {
    await deployed('sick-pre', { rollout: { prePromotionAnalysis: { httpGet: { path: '/health' }, count: 2, intervalSeconds: 1, timeoutSeconds: 3 } } });
    await setImage('sick-pre', 'registry.example/keyward-service:1.5.0');
    const failed = await eventually('Degraded', async () => {
      const a = await getAuth('sick-pre');
      return a.status?.phase === 'Degraded' ? a : undefined;
    }, 90_000);
    expect(condition(failed, 'Degraded')).to.include({ status: 'True', reason: 'PrePromotionAnalysisFailed' });
    expect(condition(failed, 'Degraded')?.message).to.contain('503');
    expect(await selector('sick-pre')).to.equal('blue');
    expect(lastRollout(failed)).to.include('AnalysisFailed').and.not.include('Promoted', 'no flip for the failed revision');
  });

  it('puts traffic back on blue when the post-promotion checks fail', async () => {
    // Pre-promotion asks only for liveness; post-promotion wants a healthy cache, which this service does not have.
    await deployed('post', {
      rollout: {
        prePromotionAnalysis: { httpGet: { path: '/health/live' }, count: 1, intervalSeconds: 1 },
        postPromotionAnalysis: { httpGet: { path: '/health', jsonField: { path: 'checks.cache.status', equals: 'healthy' } }, count: 2, intervalSeconds: 1 },
      },
    });
    await setImage('post', 'registry.example/keyward-service:1.5.0');
    const rolledBack = await eventually('Degraded after the rollback', async () => {
      const a = await getAuth('post');
      return a.status?.phase === 'Degraded' ? a : undefined;
    }, 90_000);
    expect(condition(rolledBack, 'Degraded')).to.include({ reason: 'PostPromotionAnalysisFailed' });
    expect(inOrder(lastRollout(rolledBack), ['Promoted', 'AnalysisFailed', 'RolledBack']), lastRollout(rolledBack).join(', ')).to.equal(true);
    expect(await selector('post')).to.equal('blue');
    expect(rolledBack.status?.activeColor).to.equal('blue');
    await eventually('green scaled to 0', async () => ((await deployment('post-green'))?.spec?.['replicas'] === 0 ? true : undefined));
  });

  it('brings the new colour up at the HPA\'s current count (7), not at minReplicas, before the flip', async () => {
    await deployed('scaled', { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20 }, rollout: { autoPromotion: false } });
    // What the HPA controller does: scale the serving Deployment through its scale subresource.
    await admin.mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/scaled-blue/scale`, { spec: { replicas: 7 } }, 'test-hpa');
    await eventually('blue at 7', async () => ((await deployment('scaled-blue'))?.status?.['readyReplicas'] === 7 ? true : undefined));
    await setImage('scaled', 'registry.example/keyward-service:1.5.0');
    const paused = await eventually('Paused with green up', async () => {
      const a = await getAuth('scaled');
      return a.status?.phase === 'Paused' ? a : undefined;
    }, 90_000);
    expect((await deployment('scaled-green'))?.spec?.['replicas']).to.equal(7);
    expect((await deployment('scaled-blue'))?.spec?.['replicas']).to.equal(7, 'the live colour is never resized by a rollout');
    expect(await selector('scaled')).to.equal('blue');
    expect(condition(paused, 'Paused')).to.include({ status: 'True' });

    const outcome = await sendCommand(operator.client, { namespace: ns, name: 'scaled' }, 'promote');
    expect(outcome.accepted, outcome.lines.join(' ')).to.equal(true);
    await eventually('traffic on green after promote', async () => ((await selector('scaled')) === 'green' ? true : undefined));
    // The pass that flips the selector retargets the HPA a few writes later (autoscalers are applied last).
    const hpaTarget = async (): Promise<string | undefined> =>
      ((await admin.get<Live>(`/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers/scaled`))?.spec as { scaleTargetRef?: { name: string } } | undefined)?.scaleTargetRef?.name;
    await eventually('the HPA on green', async () => ((await hpaTarget()) === 'scaled-green' ? true : undefined), 10_000);
  });

  it('abort stops a paused rollout and keeps traffic on blue; retry rolls the same revision out again', async () => {
    await deployed('manual', { rollout: { autoPromotion: false } });
    await setImage('manual', 'registry.example/keyward-service:1.5.0');
    await eventually('Paused', async () => ((await getAuth('manual')).status?.phase === 'Paused' ? true : undefined), 90_000);

    expect((await sendCommand(operator.client, { namespace: ns, name: 'manual' }, 'abort')).accepted).to.equal(true);
    const aborted = await eventually('Degraded after abort', async () => {
      const a = await getAuth('manual');
      return a.status?.phase === 'Degraded' ? a : undefined;
    });
    expect(await selector('manual')).to.equal('blue');
    expect(history(aborted)).to.include('Aborted');

    const refused = await sendCommand(operator.client, { namespace: ns, name: 'manual' }, 'promote');
    expect(refused.accepted).to.equal(false);
    expect(refused.lines[0]).to.match(/not sent/);

    expect((await sendCommand(operator.client, { namespace: ns, name: 'manual' }, 'retry')).accepted).to.equal(true);
    await eventually('Paused again after retry', async () => ((await getAuth('manual')).status?.phase === 'Paused' ? true : undefined), 90_000);
    expect(history(await getAuth('manual'))).to.include('Retried');
  });

  it('moves keyward_operator_rollout_phase with the rollout, and drops the series of a deleted AuthService', async () => {
    // Read on scrape from this operator's cache, as `keyward-operator run` wires it.
    const metrics = createOperatorMetrics({ authServices: () => operator.controller.authServices() });
    /** The gauge's value per phase for one AuthService of this namespace; {} when it has no series. */
    const gauge = async (name: string): Promise<Record<string, number>> => {
      const values: Record<string, number> = {};
      for (const [, labels, value] of (await metrics.registry.metrics()).matchAll(/^keyward_operator_rollout_phase\{([^}]*)\} (\S+)$/gm)) {
        const l = Object.fromEntries([...(labels ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
        if (l['namespace'] === ns && l['name'] === name && l['phase']) values[l['phase']] = Number(value);
      }
      return values;
    };
    const only = (phase: string) => Object.fromEntries(['Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded'].map((p) => [p, p === phase ? 1 : 0]));
    const reaches = (name: string, phase: string) =>
      eventually(`the gauge of ${name} at ${phase}`, async () => (JSON.stringify(await gauge(name)) === JSON.stringify(only(phase)) ? true : undefined), 90_000);

    await deployed('gauge', { rollout: { autoPromotion: false } });
    await reaches('gauge', 'Healthy');
    await setImage('gauge', 'registry.example/keyward-service:1.5.0');
    await reaches('gauge', 'Paused');
    expect(await selector('gauge')).to.equal('blue');
    expect((await sendCommand(operator.client, { namespace: ns, name: 'gauge' }, 'promote')).accepted).to.equal(true);
    await reaches('gauge', 'Healthy');
    expect(await selector('gauge')).to.equal('green');

    await admin.delete(authPath('gauge'));
    await eventually('no gauge series for the deleted AuthService', async () => (Object.keys(await gauge('gauge')).length === 0 ? true : undefined), 60_000);
    // The others are still reported.
    expect(await gauge('plain')).to.deep.equal(only('Healthy'));
  });

  it('continues exactly where it stopped when the operator is restarted mid-rollout, running no step twice', async () => {
    await deployed('restart', { rollout: { prePromotionAnalysis: { httpGet: { path: '/health' }, count: 4, intervalSeconds: 1 } } });
    await setImage('restart', 'registry.example/keyward-service:1.5.0');
    await eventually('pre-promotion analysis under way', async () => {
      const state = readRolloutStatus((await getAuth('restart')).status?.rollout).state;
      return state?.step === 'PrePromotionAnalysis' ? true : undefined;
    }, 90_000);
    await operator.stop();
    operator = await runOperator(ns, { serviceUrl });
    const done = await eventually('traffic on green', async () => {
      const a = await getAuth('restart');
      return a.status?.activeColor === 'green' && a.status.phase === 'Healthy' ? a : undefined;
    }, 90_000);
    const reasons = lastRollout(done);
    for (const reason of ['RolloutStarted', 'PreviewAvailable', 'AnalysisPassed', 'ScaledDown']) {
      expect(reasons.filter((r) => r === reason), `${reason} in ${reasons.join(', ')}`).to.have.length(1);
    }
  });
});
