#!/usr/bin/env node
/** keyward-operator: run the controller, render manifests without a cluster, install the CRD. */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { AuthService, AuthServiceInput } from './api/types.js';
import { createController } from './controller/controller.js';
import { loadClusterAccess, type ClusterAccess } from './kube/access.js';
import { createKubeClient, type KubeClient, type KubeObject } from './kube/client.js';
import { createLeaderElector } from './leader/lease.js';
import { createOperatorMetrics, reconcileResultOf } from './observability/metrics.js';
import { startObservabilityServer } from './observability/server.js';
import { renderAll, toYaml } from './render.js';
import { rolloutStatus, sendCommand, type Target } from './rollout-commands.js';
import { mappedUrls } from './controller/analysis-runner.js';
import { createLogger } from '../service/logging/logger.js';
import { packageVersion } from '../service/version.js';
import { packageFile } from './package-file.js';

// From the package root, so it is found from dist/operator/ in the image too.
const crdFile = packageFile('crds/authservice.yaml');

/** --kubeconfig, else KUBECONFIG, ~/.kube/config or the in-cluster service account. */
const clusterAccess = (path: string | undefined): Promise<ClusterAccess> => loadClusterAccess(path);

const port = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
};

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

/** A Lease name: a DNS subdomain. An empty one made every Lease request go to the collection, and the operator never led. */
const leaseName = (value: string): string => {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value) || value.length > 253) {
    throw new InvalidArgumentError(`expected a DNS subdomain (lower-case letters, digits, - and .), not ${JSON.stringify(value)}`);
  }
  return value;
};

async function installCrds(client: KubeClient, log: (line: string) => void): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(crdFile, 'utf8'))) {
    const crd = doc.toJSON() as KubeObject;
    await client.apply(crd);
    log(`applied CustomResourceDefinition ${crd.metadata?.name}`);
  }
}

interface RunOptions {
  kubeconfig?: string;
  namespace?: string;
  metricsPort: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  workers: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  resyncSeconds: number;
  serviceUrlMap?: string;
}

async function run(options: RunOptions): Promise<void> {
  const logger = createLogger({ level: options.logLevel, service: 'keyward-operator' });
  let isLeader = !options.leaderElect;
  let queueDepth = (): number => 0;
  let authServices = (): AuthService[] => [];
  const metrics = createOperatorMetrics({ isLeader: () => isLeader, queueDepth: () => queueDepth(), authServices: () => authServices() });
  const client = await createKubeClient(await clusterAccess(options.kubeconfig), { onWrite: metrics.countWrite });
  const controller = createController({
    client,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    workers: options.workers,
    resyncMs: options.resyncSeconds * 1000,
    ...(options.serviceUrlMap ? { serviceUrl: mappedUrls(JSON.parse(readFileSync(options.serviceUrlMap, 'utf8')) as Record<string, string>) } : {}),
    logger,
    hooks: {
      onReconcile: (result, seconds, requeuedAfter) => metrics.recordReconcile(reconcileResultOf(result, requeuedAfter), seconds),
      onWatchRestart: (kind) => metrics.watchRestarts.inc({ kind }),
    },
  });
  queueDepth = () => controller.queue.depth;
  authServices = () => controller.authServices();
  const server = await startObservabilityServer({
    port: options.metricsPort,
    metrics,
    // A standby is ready: it serves probes and metrics and takes over when the leader goes.
    ready: () => !isLeader || controller.isSynced(),
    logger,
  });
  logger.info('keyward-operator starting', { version: packageVersion(), namespace: options.namespace ?? '(all)', metrics_port: server.port, server: client.server });

  const shutdown = async (code: number): Promise<never> => {
    await controller.stop();
    await server.close();
    process.exit(code);
  };

  if (!options.leaderElect) {
    await controller.start();
  } else {
    const elector = createLeaderElector({
      // Its own client: lease renewals (a PUT every 2 s) must not count as reconcile writes.
      client: await createKubeClient(await clusterAccess(options.kubeconfig)),
      namespace: options.leaseNamespace,
      name: options.leaseName,
      timings: { leaseDurationSeconds: options.leaseDurationSeconds, renewDeadlineSeconds: options.renewDeadlineSeconds, retryPeriodSeconds: options.retryPeriodSeconds },
      logger,
      onStartedLeading: async () => {
        isLeader = true;
        logger.info('became leader; starting the controller');
        await controller.start();
      },
      onStoppedLeading: async (reason) => {
        isLeader = false;
        if (reason === 'lost') {
          // Another process may already lead: exit at once rather than finish queued work
          // (client-go's advice), and restart as a clean candidate.
          logger.error('lost the leader lease; exiting');
          process.exit(1);
        }
        logger.warn('stopped leading; stopping the controller', { reason });
        await controller.stop();
      },
    });
    const onSignal = (): void => void elector.release().then(() => shutdown(0));
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    await elector.run();
    return;
  }
  process.once('SIGTERM', () => void shutdown(0));
  process.once('SIGINT', () => void shutdown(0));
}

const program = new Command('keyward-operator')
  .description('Reconciles AuthService resources (auth.keyward.dev/v1alpha1) into everything a production ' +
    'authentication service needs: blue and green Deployments, Services, HPA, VPA, NetworkPolicy, ' +
    'ServiceMonitor, PrometheusRule, backup CronJob, PodDisruptionBudget and ServiceAccount.')
  .version(packageVersion());

program.command('run')
  .description('run the controller until SIGTERM (uses KUBECONFIG, ~/.kube/config or the in-cluster service account)')
  .option('--kubeconfig <path>', 'kubeconfig file to use')
  .option('-n, --namespace <name>', 'watch one namespace (default: all namespaces)')
  .option('--metrics-port <port>', 'port of /metrics, /healthz and /readyz', port, 8080)
  .option('--leader-elect', 'campaign for a coordination.k8s.io Lease; only the leader reconciles', false)
  .option('--lease-namespace <name>', 'namespace of the leader-election Lease', process.env['POD_NAMESPACE'] ?? 'keyward-system')
  .option('--lease-name <name>', 'name of the leader-election Lease: one per operator deployment (two that share one lead in turn)', leaseName, 'keyward-operator')
  .option('--lease-duration-seconds <n>', 'how long a leader\'s Lease is honoured without renewal', positive, 15)
  .option('--renew-deadline-seconds <n>', 'a leader that cannot renew within this steps down', positive, 10)
  .option('--retry-period-seconds <n>', 'how often candidates try and leaders renew', positive, 2)
  .option('--workers <n>', 'parallel reconciles', positive, 4)
  .option('--resync-seconds <n>', 'reconcile every AuthService this often even without events', positive, 300)
  .option('--service-url-map <file>', 'JSON {"namespace/service": "http://host:port"} for analysis when the operator runs outside the cluster')
  .option('--log-level <level>', 'error | warn | info | debug', 'info')
  .action(run);

program.command('render')
  .description('print every manifest the operator would apply for an AuthService, without a cluster')
  .requiredOption('-f, --file <path>', 'AuthService manifest (YAML or JSON; - for stdin)')
  .option('--active <colour>', 'colour the stable Service points at: blue | green', 'blue')
  .action((options: { file: string; active: string }) => {
    if (options.active !== 'blue' && options.active !== 'green') throw new InvalidArgumentError('--active must be blue or green');
    const text = readFileSync(options.file === '-' ? 0 : options.file, 'utf8');
    const objects = parseAllDocuments(text)
      .map((d) => d.toJSON() as AuthServiceInput | null)
      .filter((o): o is AuthServiceInput => o !== null && o.kind === 'AuthService')
      .flatMap((auth) => renderAll(auth, { activeColour: options.active as 'blue' | 'green', secretsHash: '' }));
    if (objects.length === 0) throw new Error(`${options.file} holds no AuthService`);
    process.stdout.write(toYaml(objects));
  });

program.command('install-crds')
  .description('apply the AuthService CustomResourceDefinition to the cluster (server-side apply)')
  .option('--kubeconfig <path>', 'kubeconfig file to use')
  .action(async (options: { kubeconfig?: string }) => {
    const client = await createKubeClient(await clusterAccess(options.kubeconfig));
    await installCrds(client, (line) => process.stdout.write(`${line}\n`));
  });

/** The namespace given, else the kubeconfig context's, else "default" (as kubectl does). */
function target(name: string, options: { namespace?: string }, access: ClusterAccess): Target {
  return { name, namespace: options.namespace ?? access.namespace ?? 'default' };
}

for (const [command, description] of [
  ['promote', 'let a paused rollout (autoPromotion: false) move traffic to the new colour'],
  ['abort', 'stop the rollout in flight and keep (or put back) traffic on the old colour'],
  ['retry', 'roll a failed revision out again'],
] as const) {
  program.command(`${command} <name>`)
    .description(`${description} (a status patch the operator acts on; prints what happens next)`)
    .option('-n, --namespace <name>', 'namespace of the AuthService (default: the kubeconfig context\'s)')
    .option('--kubeconfig <path>', 'kubeconfig file to use')
    .action(async (name: string, options: { namespace?: string; kubeconfig?: string }) => {
      const access = await clusterAccess(options.kubeconfig);
      const outcome = await sendCommand(await createKubeClient(access), target(name, options, access), command);
      process.stdout.write(`${outcome.lines.join('\n')}\n`);
      if (!outcome.accepted) process.exitCode = 2;
    });
}

program.command('status <name>')
  .description("the rollout's steps with their times, recent history and what happens next")
  .option('-n, --namespace <name>', 'namespace of the AuthService (default: the kubeconfig context\'s)')
  .option('--kubeconfig <path>', 'kubeconfig file to use')
  .action(async (name: string, options: { namespace?: string; kubeconfig?: string }) => {
    const access = await clusterAccess(options.kubeconfig);
    process.stdout.write(`${await rolloutStatus(await createKubeClient(access), target(name, options, access))}\n`);
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`keyward-operator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
