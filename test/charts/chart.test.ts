// charts/keyward-operator: its copies of the CRD and the RBAC rules match their
// sources, `helm lint` and `helm template` accept it, the manifests say what
// values.yaml promises, and the local control plane (hack/cluster) takes them:
// a server-side dry run in a namespace enforcing the "restricted" Pod Security
// Standard, then a real `helm install` whose two replicas become available.
// helm comes from hack/tools/build.sh.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { locateKubectl } from '../../hack/cluster/binaries.js';
import type { KubeClient, KubeObject } from '../../operator/kube/client.js';
import { adminClient, sharedControlPlane } from '../support/cluster.js';
import { eventually } from '../support/eventually.js';
import { run, runTool, toolPath, type ToolResult } from '../support/tools.js';

const repo = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const CHART = repo('charts/keyward-operator');
const read = (path: string) => readFileSync(repo(path), 'utf8');

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

// Loose shapes of the rendered objects: the tests read a few fields of each.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = KubeObject & { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, any>;

/** The file hack/charts/sync.sh writes for `source`: a header naming it, then its bytes. */
const syncedCopy = (source: string) => `# Generated from ${source} by hack/charts/sync.sh: edit the source, then run the script.\n${read(source)}`;

const sourceRules = (parse(read('operator/rbac/clusterrole.yaml')) as { rules: Rule[] }).rules;

function expectSuccess(result: ToolResult, what: string): void {
  expect(result.code, `${what} failed:\n${result.stdout}\n${result.stderr}`).to.equal(0);
}

/** `helm template` of the chart as release `release` in `namespace`, CRDs included, parsed. */
async function render(options: { release?: string; namespace?: string; set?: Record<string, string>; args?: string[] } = {}): Promise<Manifest[]> {
  const result = await helmTemplate(options);
  expectSuccess(result, 'helm template');
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null);
}

function helmTemplate(options: { release?: string; namespace?: string; set?: Record<string, string>; args?: string[] } = {}): Promise<ToolResult> {
  const sets = Object.entries(options.set ?? {}).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  return runTool('helm', ['template', options.release ?? 'keyward-operator', CHART, '--namespace', options.namespace ?? 'keyward-system', '--include-crds', ...sets, ...(options.args ?? [])]);
}

const byKind = (objects: Manifest[], kind: string): Manifest[] => objects.filter((o) => o.kind === kind);
function one(objects: Manifest[], kind: string): Manifest {
  const found = byKind(objects, kind);
  expect(found, kind).to.have.length(1);
  return found[0] as Manifest;
}

describe('charts/keyward-operator', function () {
  this.timeout(60_000);

  before(function () {
    toolPath('helm'); // fails with "run bash hack/tools/build.sh" when it is missing
  });

  describe('copies of their one source', function () {
    it('carries crds/authservice.yaml unchanged in the chart’s crds/ (run bash hack/charts/sync.sh after editing it)', function () {
      expect(read('charts/keyward-operator/crds/authservice.yaml') === syncedCopy('crds/authservice.yaml'), 'the chart’s CRD differs from crds/authservice.yaml: run bash hack/charts/sync.sh').to.equal(true);
    });

    it('carries operator/rbac/clusterrole.yaml unchanged in files/ (run bash hack/charts/sync.sh after editing it)', function () {
      expect(read('charts/keyward-operator/files/clusterrole.yaml') === syncedCopy('operator/rbac/clusterrole.yaml'), 'the chart’s RBAC differs from operator/rbac/clusterrole.yaml: run bash hack/charts/sync.sh').to.equal(true);
    });
  });

  describe('helm lint and helm template', function () {
    it('passes helm lint --strict', async function () {
      expectSuccess(await runTool('helm', ['lint', '--strict', CHART]), 'helm lint');
    });

    it('renders the CRD, RBAC, ServiceAccount, Deployment, metrics Service and dashboard, and no ServiceMonitor on a cluster without prometheus-operator', async function () {
      const objects = await render();
      expect(objects.map((o) => o.kind).sort()).to.deep.equal(
        ['ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'CustomResourceDefinition', 'Deployment', 'Service', 'ServiceAccount'],
      );
      expect(one(objects, 'CustomResourceDefinition')).to.deep.equal(parse(read('crds/authservice.yaml')));
      for (const o of objects.filter((x) => x.kind !== 'CustomResourceDefinition')) {
        expect(o.metadata.labels, o.kind).to.include({ 'app.kubernetes.io/name': 'keyward-operator', 'app.kubernetes.io/instance': 'keyward-operator', 'app.kubernetes.io/managed-by': 'Helm' });
      }
      for (const o of objects.filter((x) => ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount'].includes(x.kind))) {
        expect(o.metadata.namespace, o.kind).to.equal('keyward-system');
      }
    });

    it('grants exactly operator/rbac/clusterrole.yaml’s rules, bound to the operator’s ServiceAccount', async function () {
      const objects = await render({ release: 'auth', namespace: 'platform' });
      const role = byKind(objects, 'ClusterRole').find((r) => r.metadata.name === 'auth-keyward-operator')!;
      expect(role.rules).to.deep.equal(sourceRules);
      // The other two extend the cluster's view, edit and admin roles to AuthServices; the operator's aggregates nowhere.
      expect(byKind(objects, 'ClusterRole').map((r) => r.metadata.name).sort()).to.deep.equal(['auth-keyward-operator', 'auth-keyward-operator-edit', 'auth-keyward-operator-view']);
      expect(Object.keys(role.metadata.labels ?? {}).filter((l) => l.startsWith('rbac.authorization.k8s.io/aggregate'))).to.deep.equal([]);
      const off = await render({ release: 'auth', namespace: 'platform', set: { 'rbac.aggregateToDefaultRoles': 'false' } });
      expect(byKind(off, 'ClusterRole').map((r) => r.metadata.name)).to.deep.equal(['auth-keyward-operator']);
      // rbac.create=false, for installers without cluster-scoped RBAC rights: no ClusterRole at all.
      expect(byKind(await render({ set: { 'rbac.create': 'false' } }), 'ClusterRole')).to.deep.equal([]);
      const binding = one(objects, 'ClusterRoleBinding');
      expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'auth-keyward-operator' });
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'auth-keyward-operator', namespace: 'platform' }]);
      expect(one(objects, 'ServiceAccount').metadata.name).to.equal('auth-keyward-operator');
      expect(one(objects, 'Deployment').spec.template.spec.serviceAccountName).to.equal('auth-keyward-operator');
    });

    it('runs two replicas of `keyward-operator run --leader-elect` with the Lease in the release namespace and metrics on 8080', async function () {
      const deployment = one(await render({ namespace: 'platform' }), 'Deployment');
      expect(deployment.spec.replicas).to.equal(2);
      const [container] = deployment.spec.template.spec.containers;
      expect(container.image).to.equal('registry.example/keyward-operator:0.1.0');
      expect(container.args.slice(0, 4)).to.deep.equal(['run', '--leader-elect', '--lease-namespace=platform', '--lease-name=keyward-operator']);
      // A second release in the same namespace takes a Lease of its own.
      const second = one(await render({ release: 'tenant-b', namespace: 'platform', set: { 'leaderElection.leaseName': 'tenant-b-operator' } }), 'Deployment');
      expect(second.spec.template.spec.containers[0].args).to.include('--lease-name=tenant-b-operator');
      // Values from before leaseName existed (helm upgrade --reuse-values): the default, never an empty name.
      const older = one(await render({ set: { 'leaderElection.leaseName': 'null' } }), 'Deployment');
      expect(older.spec.template.spec.containers[0].args).to.include('--lease-name=keyward-operator');
      expect(container.args).to.include('--metrics-port=8080');
      expect(container.args.some((a: string) => a.startsWith('--namespace'))).to.equal(false);
      expect(container.env).to.deep.include({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
      expect(container.ports).to.deep.equal([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
    });

    it('runs as uid 1000, non-root, with a read-only root filesystem, no capabilities, and probes on /healthz and /readyz of the metrics port', async function () {
      const pod = one(await render(), 'Deployment').spec.template.spec;
      const [container] = pod.containers;
      expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      expect(container.securityContext).to.deep.equal({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        runAsUser: 1000,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.volumeMounts).to.deep.equal([{ name: 'tmp', mountPath: '/tmp' }]);
      expect(container.livenessProbe.httpGet).to.deep.equal({ path: '/healthz', port: 'metrics' });
      expect(container.readinessProbe.httpGet).to.deep.equal({ path: '/readyz', port: 'metrics' });
      expect(container.resources.requests).to.have.keys('cpu', 'memory');
      expect(container.resources.limits).to.have.keys('cpu', 'memory');
    });

    it('passes the watched namespace, the log level and extra arguments through to the operator', async function () {
      const deployment = one(await render({ set: { watchNamespace: 'auth-service', logLevel: 'debug', 'extraArgs[0]': '--workers=8', 'image.tag': '1.2.3' } }), 'Deployment');
      const [container] = deployment.spec.template.spec.containers;
      expect(container.args).to.include.members(['--namespace=auth-service', '--log-level=debug', '--workers=8']);
      expect(container.image).to.equal('registry.example/keyward-operator:1.2.3');
    });

    it('pins the image by digest when one is given', async function () {
      const digest = `sha256:${'a'.repeat(64)}`;
      const [container] = one(await render({ set: { 'image.digest': digest } }), 'Deployment').spec.template.spec.containers;
      expect(container.image).to.equal(`registry.example/keyward-operator@${digest}`);
    });

    it('refuses several replicas without leader election, and an unknown serviceMonitor.enabled', async function () {
      const split = await helmTemplate({ set: { 'leaderElection.enabled': 'false' } });
      expect(split.code).not.to.equal(0);
      expect(split.stderr).to.include('replicas > 1 needs leaderElection.enabled');
      expect((await render({ set: { 'leaderElection.enabled': 'false', replicas: '1' } })).map((o) => o.kind)).to.include('Deployment');
      const bad = await helmTemplate({ set: { 'serviceMonitor.enabled': 'sometimes' } });
      expect(bad.code).not.to.equal(0);
      expect(bad.stderr).to.include('serviceMonitor.enabled must be auto, true or false');
    });

    it('adds a ServiceMonitor for the metrics Service when the cluster serves monitoring.coreos.com/v1, or when asked to; never when off', async function () {
      const objects = await render({ args: ['--api-versions', 'monitoring.coreos.com/v1'] });
      const monitor = one(objects, 'ServiceMonitor');
      const service = one(objects, 'Service');
      expect(service.metadata.name).to.equal('keyward-operator-metrics');
      expect(service.spec.ports).to.deep.equal([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
      // The ServiceMonitor selects the Service, whose selector picks the operator's pods.
      expect(service.metadata.labels).to.include(monitor.spec.selector.matchLabels);
      expect(one(objects, 'Deployment').spec.template.metadata.labels).to.include(service.spec.selector);
      expect(monitor.spec.namespaceSelector).to.deep.equal({ matchNames: ['keyward-system'] });
      expect(monitor.spec.endpoints).to.have.length(1);
      expect(monitor.spec.endpoints[0]).to.deep.include({ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' });
      // The rollout phase gauge's namespace label is the AuthService's, not the operator's.
      expect(monitor.spec.endpoints[0]).to.deep.include({ honorLabels: true });

      expect(byKind(await render({ set: { 'serviceMonitor.enabled': 'true' } }), 'ServiceMonitor')).to.have.length(1);
      expect(byKind(await render({ set: { 'serviceMonitor.enabled': 'false' }, args: ['--api-versions', 'monitoring.coreos.com/v1'] }), 'ServiceMonitor')).to.have.length(0);
      // auto with the metrics Service off: nothing to scrape through, so no ServiceMonitor, and no failure.
      const noService = await helmTemplate({ set: { 'metrics.service.enabled': 'false' }, args: ['--api-versions', 'monitoring.coreos.com/v1'] });
      expect(noService.code, noService.stderr).to.equal(0);
      expect(noService.stdout).to.not.include('kind: ServiceMonitor');
      const forced = await helmTemplate({ set: { 'metrics.service.enabled': 'false', 'serviceMonitor.enabled': 'true' } });
      expect(forced.stderr).to.include('serviceMonitor needs metrics.service.enabled');
    });

    it('ships charts/keyward-operator/dashboards/keyward.json as a ConfigMap Grafana’s sidecar discovers, unless turned off', async function () {
      const configMap = one(await render({ set: { 'dashboard.namespace': 'monitoring' } }), 'ConfigMap');
      expect(configMap.metadata.labels).to.include({ grafana_dashboard: '1' });
      expect(configMap.metadata.namespace).to.equal('monitoring');
      expect(Object.keys(configMap.data)).to.deep.equal(['keyward.json']);
      expect(JSON.parse(configMap.data['keyward.json'])).to.deep.equal(JSON.parse(read('charts/keyward-operator/dashboards/keyward.json')));
      expect(byKind(await render({ set: { 'dashboard.enabled': 'false' } }), 'ConfigMap')).to.have.length(0);
    });
  });

  describe('on the local control plane', function () {
    this.timeout(240_000);

    let client: KubeClient;
    let kubeconfig: string;
    let namespace: string;
    let helmHome: string;
    const release = `kw-${Math.random().toString(16).slice(2, 8)}`;
    const fullname = `${release}-keyward-operator`;
    const env = () => ({ ...process.env, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') });
    const kubectl = (args: string[], input?: string) => run(locateKubectl(), ['--kubeconfig', kubeconfig, ...args], { input });
    const helm = (args: string[]) => runTool('helm', [...args, '--kubeconfig', kubeconfig], { env: env() });

    before(async function () {
      kubeconfig = (await sharedControlPlane()).kubeconfigPath;
      client = await adminClient();
      helmHome = mkdtempSync(join(tmpdir(), 'keyward-helm-'));
      namespace = release;
      // Pods that break the "restricted" Pod Security Standard are refused here, and warned about on a dry run.
      await client.create('/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
      } as KubeObject);
    });

    after(async function () {
      if (!client) return;
      await helm(['uninstall', release, '--namespace', namespace, '--wait']).catch(() => undefined);
      await client.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
      if (helmHome) rmSync(helmHome, { recursive: true, force: true });
    });

    it('passes a server-side dry run of every rendered manifest, without a Pod Security warning', async function () {
      const manifests = await helmTemplate({ release, namespace });
      expectSuccess(manifests, 'helm template');
      const result = await kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=keyward-chart-test', '-f', '-'], manifests.stdout);
      expectSuccess(result, 'kubectl apply --dry-run=server');
      for (const kind of ['customresourcedefinition', 'clusterrole', 'clusterrolebinding', 'serviceaccount', 'deployment', 'service', 'configmap']) {
        expect(result.stdout, kind).to.match(new RegExp(`^${kind}[^ ]* .*serverside-applied \\(server dry run\\)`, 'm'));
      }
      expect(result.stderr).not.to.include('PodSecurity');
      // A dry run leaves nothing behind.
      expect(await client.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${fullname}`)).to.equal(undefined);
    });

    it('installs with helm install: both replicas become available, and the ServiceAccount may do what the operator does and no more', async function () {
      const installed = await helm(['install', release, CHART, '--namespace', namespace, '--wait', '--timeout', '180s']);
      expectSuccess(installed, 'helm install');
      expect(installed.stdout).to.include('STATUS: deployed');
      expect(installed.stdout).to.include(`kubectl -n ${namespace} get deployment ${fullname}`);

      const deployment = await eventually('two available operator replicas', async () => {
        const d = await client.get<Manifest>(`/apis/apps/v1/namespaces/${namespace}/deployments/${fullname}`);
        return d?.status?.availableReplicas === 2 ? d : undefined;
      });
      expect(deployment.spec.template.spec.containers[0].args).to.include(`--lease-namespace=${namespace}`);

      const role = await client.get<Manifest>(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${fullname}`);
      expect(role?.rules).to.deep.equal(sourceRules);
      const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', `--as=system:serviceaccount:${namespace}:${fullname}`, ...args])).stdout.trim();
      expect(await can('watch', 'authservices.auth.keyward.dev', '--all-namespaces')).to.equal('yes');
      expect(await can('patch', 'authservices.auth.keyward.dev', '--subresource=status', '-n', 'auth-service')).to.equal('yes');
      expect(await can('update', 'leases.coordination.k8s.io', '-n', namespace)).to.equal('yes');
      expect(await can('patch', 'authservices.auth.keyward.dev', '-n', 'auth-service')).to.equal('no');
      expect(await can('list', 'pods', '-n', namespace)).to.equal('no');
      expect(await can('create', 'secrets', '-n', namespace)).to.equal('no');

      // The cluster's own roles, extended by aggregation: a release engineer with edit runs the rollout
      // commands; a viewer reads AuthServices and changes nothing.
      await kubectl(['create', 'namespace', 'auth-service-rbac']);
      await kubectl(['create', 'rolebinding', 'release-engineer', '--clusterrole=edit', '--user=release-engineer', '-n', 'auth-service-rbac']);
      await kubectl(['create', 'rolebinding', 'viewer', '--clusterrole=view', '--user=viewer', '-n', 'auth-service-rbac']);
      const user = async (name: string, ...args: string[]) => (await kubectl(['auth', 'can-i', `--as=${name}`, '-n', 'auth-service-rbac', ...args])).stdout.trim();
      await eventually('edit aggregated', async () => ((await user('release-engineer', 'patch', 'authservices.auth.keyward.dev', '--subresource=status')) === 'yes' ? true : undefined), 30_000);
      expect(await user('release-engineer', 'get', 'authservices.auth.keyward.dev')).to.equal('yes');
      expect(await user('release-engineer', 'patch', 'authservices.auth.keyward.dev')).to.equal('yes');
      expect(await user('viewer', 'list', 'authservices.auth.keyward.dev')).to.equal('yes');
      expect(await user('viewer', 'patch', 'authservices.auth.keyward.dev', '--subresource=status')).to.equal('no');
      await kubectl(['delete', 'namespace', 'auth-service-rbac', '--wait=false']);

      expect(await client.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authservices.auth.keyward.dev`)).not.to.equal(undefined);
      expect(await client.get(`/api/v1/namespaces/${namespace}/configmaps/${fullname}-dashboard`)).not.to.equal(undefined);
    });

    it('uninstalls cleanly, leaving the CRD (and so every AuthService) in place', async function () {
      expectSuccess(await helm(['uninstall', release, '--namespace', namespace, '--wait']), 'helm uninstall');
      expect(await client.get(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${fullname}`)).to.equal(undefined);
      expect(await client.get(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${fullname}`)).to.equal(undefined);
      expect(await client.get(`/apis/apps/v1/namespaces/${namespace}/deployments/${fullname}`)).to.equal(undefined);
      expect(await client.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/authservices.auth.keyward.dev`)).not.to.equal(undefined);
    });
  });
});
