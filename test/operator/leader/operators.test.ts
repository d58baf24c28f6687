import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'chai';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { freePort } from '../../../service/util/free-port.js';
import { adminClient, createNamespace, sharedControlPlane } from '../../support/cluster.js';
import { eventually } from '../../support/eventually.js';
import { installCrd, operatorClient, sampleAuthService, sampleSecrets } from '../../support/operator.js';

interface OperatorProcess {
  child: ChildProcess;
  metricsPort: number;
  output: string[];
}

async function startOperator(kubeconfig: string, namespace: string): Promise<OperatorProcess> {
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'operator/cli.ts', 'run', '--kubeconfig', kubeconfig, '--namespace', namespace,
    '--leader-elect', '--lease-namespace', namespace, '--metrics-port', String(metricsPort),
    '--lease-duration-seconds', '4', '--renew-deadline-seconds', '3', '--retry-period-seconds', '1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  return { child, metricsPort, output };
}

async function isLeader(operator: OperatorProcess): Promise<boolean | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
    const match = /^keyward_operator_leader (\d)/m.exec(text);
    return match ? match[1] === '1' : undefined;
  } catch {
    return undefined;
  }
}

async function stop(operator: OperatorProcess, signal: NodeJS.Signals): Promise<void> {
  if (operator.child.exitCode !== null || operator.child.signalCode !== null) return;
  const exited = once(operator.child, 'exit');
  operator.child.kill(signal);
  await exited;
}

describe('two keyward-operator processes with --leader-elect', function () {
  this.timeout(120_000);
  let admin: KubeClient;
  let namespace: string;
  let operators: OperatorProcess[] = [];

  before(async () => {
    admin = await adminClient();
    await installCrd(admin, 'crds/authservice.yaml');
    namespace = await createNamespace(admin, 'leaders');
    for (const secret of sampleSecrets(namespace)) await admin.apply(secret);
    await operatorClient(); // binds the operator's ClusterRole to its user
    const kubeconfig = (await sharedControlPlane()).userKubeconfig('keyward-operator');
    operators = [await startOperator(kubeconfig, namespace), await startOperator(kubeconfig, namespace)];
  });
  after(async () => {
    for (const operator of operators) await stop(operator, 'SIGKILL');
  });

  it('elects exactly one leader, which reconciles', async () => {
    const states = await eventually('both operators answering, one leading', async () => {
      const s = await Promise.all(operators.map(isLeader));
      return s.every((x) => x !== undefined) && s.filter(Boolean).length === 1 ? s : undefined;
    }, 60_000);
    expect(states.filter(Boolean)).to.have.length(1);
    await admin.apply(sampleAuthService(namespace, 'first'));
    await eventually('children of the first AuthService', () => admin.get(`/api/v1/namespaces/${namespace}/services/first`), 60_000);
    // Only the leader reports rollout phases, so Prometheus sees each AuthService once.
    const leader = operators[states.findIndex(Boolean)]!;
    const standby = operators[states.findIndex((s) => !s)]!;
    const phaseSeries = async (operator: OperatorProcess): Promise<string[]> =>
      (await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text()).split('\n').filter((l) => l.startsWith('keyward_operator_rollout_phase{'));
    const reported = await eventually('the leader reporting the phase of first', async () => {
      const lines = await phaseSeries(leader);
      return lines.some((l) => l.includes(`namespace="${namespace}"`) && l.includes('name="first"') && l.endsWith(' 1')) ? lines : undefined;
    }, 60_000);
    expect(reported.filter((l) => l.includes('name="first"'))).to.have.length(5);
    expect(await phaseSeries(standby)).to.deep.equal([]);
  });

  it('fails over to the other process when the leader dies, within the lease time', async () => {
    const leaderIndex = (await Promise.all(operators.map(isLeader))).findIndex(Boolean);
    const [leader, standby] = [operators[leaderIndex]!, operators[1 - leaderIndex]!];
    await stop(leader, 'SIGKILL');
    const killedAt = Date.now();
    await eventually('the standby leading', async () => ((await isLeader(standby)) ? true : undefined), 30_000, 100);
    // Lease 4 s; a standby honours a Lease it saw renewed for one full duration, plus a 1 s retry period.
    expect(Date.now() - killedAt).to.be.below(12_000);
    await admin.apply(sampleAuthService(namespace, 'second'));
    await eventually('children of an AuthService created after the failover', () => admin.get(`/api/v1/namespaces/${namespace}/services/second`), 60_000);
  });

  it('hands over at once on SIGTERM (the Lease is released)', async () => {
    const survivor = operators.find((o) => o.child.exitCode === null && o.child.signalCode === null)!;
    const replacement = await startOperator((await sharedControlPlane()).userKubeconfig('keyward-operator'), namespace);
    operators.push(replacement);
    await eventually('the replacement answering as standby', async () => ((await isLeader(replacement)) === false ? true : undefined), 60_000);
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/keyward-operator`;
    const holder = async (): Promise<string | undefined> => (await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(leasePath))?.spec?.holderIdentity;
    const before = await holder();
    expect(before, 'the survivor holds the Lease').to.be.a('string').and.not.equal('');
    const started = Date.now();
    await stop(survivor, 'SIGTERM');
    expect(survivor.child.exitCode, survivor.output.join('')).to.equal(0);
    // Released on the way out: the Lease no longer names the survivor the moment it has exited (empty,
    // or the replacement's already). Unreleased, it would name it until the lease ran out.
    expect(await holder(), 'the Lease holder once the survivor has exited').to.not.equal(before);
    await eventually('the replacement leading', async () => ((await isLeader(replacement)) ? true : undefined), 30_000, 100);
    expect(Date.now() - started).to.be.below(8_000);
  });
});
