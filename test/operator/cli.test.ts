import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../operator/kube/client.js';
import { sharedControlPlane, adminClient } from '../support/cluster.js';

const cli = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'operator/cli.ts', ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
};

describe('keyward-operator CLI', function () {
  this.timeout(90_000);

  it('render prints every manifest for an AuthService, without a cluster', () => {
    const res = cli(['render', '-f', 'examples/authservice.yaml']);
    expect(res.status, res.stderr).to.equal(0);
    const objects = parseAllDocuments(res.stdout).map((d) => d.toJSON() as KubeObject);
    const names = objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();
    expect(names).to.deep.equal([
      'ConfigMap/login-backup-scripts', 'CronJob/login-backup', 'Deployment/login-blue', 'Deployment/login-green',
      'HorizontalPodAutoscaler/login', 'NetworkPolicy/login', 'PodDisruptionBudget/login', 'PrometheusRule/login',
      'Service/login', 'Service/login-blue', 'Service/login-green', 'ServiceAccount/login', 'ServiceMonitor/login',
    ]);
    expect(objects.every((o) => o.metadata?.namespace === 'auth-service')).to.equal(true);
  });

  it('render reads stdin and points the stable Service at --active', () => {
    const manifest = 'apiVersion: auth.keyward.dev/v1alpha1\nkind: AuthService\nmetadata: {name: a, namespace: n}\nspec: {image: "x/y:1.0", database: {urlSecretRef: {name: db}}, jwt: {keysSecretRef: {name: jwt}}}\n';
    const res = cli(['render', '-f', '-', '--active', 'green'], manifest);
    expect(res.status, res.stderr).to.equal(0);
    const service = parseAllDocuments(res.stdout).map((d) => d.toJSON()).find((o) => o.kind === 'Service' && o.metadata.name === 'a');
    expect(service.spec.selector['auth.keyward.dev/color']).to.equal('green');
  });

  it('render fails clearly on a file without an AuthService and on a bad --active', () => {
    const none = cli(['render', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect(none.status).to.equal(1);
    expect(none.stderr).to.contain('holds no AuthService');
    const bad = cli(['render', '-f', 'examples/authservice.yaml', '--active', 'red']);
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.contain('--active must be blue or green');
  });

  it('run refuses an empty or malformed --lease-name before touching a cluster', () => {
    for (const name of ['', 'Keyward_Operator']) {
      const res = cli(['run', '--leader-elect', `--lease-name=${name}`]);
      expect(res.status, name).to.equal(1);
      expect(res.stderr).to.contain(`option '--lease-name <name>' argument '${name}' is invalid. expected a DNS subdomain`);
    }
  });

  it('install-crds applies the AuthService CRD to the cluster', async () => {
    const plane = await sharedControlPlane();
    const res = cli(['install-crds', '--kubeconfig', plane.kubeconfigPath]);
    expect(res.status, res.stderr).to.equal(0);
    expect(res.stdout).to.contain('applied CustomResourceDefinition authservices.auth.keyward.dev');
    const crd = await (await adminClient()).get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authservices.auth.keyward.dev');
    expect(crd).to.not.equal(undefined);
  });
});
