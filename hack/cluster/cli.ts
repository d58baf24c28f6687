// `npm run cluster -- up|down|status`: the local control plane for people.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { buildScript, locateKubectl } from './binaries.js';
import { probe, startControlPlane, stopComponents, type ControlPlane } from './control-plane.js';
import { applyDemo, demoUsage, startDemoService } from './demo.js';
import { isRecordedProcess, stopRecorded } from './process.js';
import { type ClusterState, readState, removeState, writeState } from './state.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const defaultDir = join(repoRoot, '.keyward', 'cluster');

const alive = isRecordedProcess;
const show = (path: string) => (path.startsWith(repoRoot) ? relative(process.cwd(), path) || '.' : path);

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64');
  return n;
}

/** What `up` hands to the steps that run once the control plane is ready. */
export interface UpContext {
  plane: ControlPlane;
  state: ClusterState;
  repoRoot: string;
  /** `--service-url-map` for the operator: where its promotion checks reach a colour from outside the cluster. */
  serviceUrlMap?: string;
}

/**
 * Steps run in order after the control plane is up, before the state is
 * written. Later additions (`--operator`: start the operator detached and push
 * it onto `state.extras`, which `down` stops first; `--demo`: apply a sample
 * AuthService) add an option to the `up` command and a step here.
 */
type UpStep = (ctx: UpContext, opts: UpOptions) => Promise<void> | void;

interface UpOptions {
  dir: string;
  nodes: number;
  build: boolean;
  crds: boolean;
  operator: boolean;
  demo: boolean;
}

const upSteps: UpStep[] = [applyCrds, startDemoServiceStep, startOperator, applyDemoStep];

const demoContext = (ctx: UpContext) => ({ state: ctx.state, repoRoot: ctx.repoRoot, kubeconfig: ctx.plane.kubeconfigPath, log: (line: string) => console.log(line) });

/** `--demo`: a keyward-service on loopback that the operator's promotion checks reach (hack/cluster/demo.ts). */
async function startDemoServiceStep(ctx: UpContext, opts: UpOptions): Promise<void> {
  if (opts.demo) ctx.serviceUrlMap = await startDemoService(demoContext(ctx));
}

/** `--demo`: examples/secrets.yaml and examples/authservice.yaml, applied once the operator runs. */
function applyDemoStep(ctx: UpContext, opts: UpOptions): void {
  if (opts.demo) applyDemo(demoContext(ctx));
}

/**
 * `--operator`: runs keyward-operator detached against the new cluster, with
 * its log in the cluster directory; `down` stops it first.
 */
function startOperator(ctx: UpContext, opts: UpOptions): void {
  if (!opts.operator) return;
  const logFile = join(ctx.state.dir, 'operator.log');
  const out = openSync(logFile, 'a');
  const args = ['run', '--kubeconfig', ctx.plane.kubeconfigPath, '--metrics-port', '0', ...(ctx.serviceUrlMap ? ['--service-url-map', ctx.serviceUrlMap] : [])];
  const script = join(ctx.repoRoot, 'operator', 'cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ctx.repoRoot,
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start keyward-operator');
  ctx.state.extras.push({ name: 'keyward-operator', pid: child.pid, command: process.execPath, script, logFile });
  console.log(`keyward-operator running (pid ${child.pid}); log: ${show(logFile)}`);
}

function applyCrds(ctx: UpContext, opts: UpOptions): void {
  const crdDir = join(ctx.repoRoot, 'crds');
  const files = existsSync(crdDir) ? readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)) : [];
  if (!opts.crds || files.length === 0) return;
  const kubectl = (args: string[]) =>
    execFileSync(locateKubectl(), ['--kubeconfig', ctx.plane.kubeconfigPath, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  console.log(`applying ${files.length} CRD file(s) from crds/`);
  try {
    kubectl(['apply', '--server-side', ...files.flatMap((f) => ['-f', join(crdDir, f)])]);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  } catch (err) {
    throw new Error('the control plane is up, but applying crds/ failed (see above); fix the CRD and `kubectl apply -f crds/`, or `npm run cluster -- down`', { cause: err });
  }
}

async function up(opts: UpOptions): Promise<void> {
  if (opts.demo) opts.operator = true;
  const dir = resolve(opts.dir);
  const previous = readState(dir);
  if (previous && previous.components.some(alive)) {
    console.log(`a control plane is already running (${previous.server}); \`npm run cluster -- status\` shows it.`);
    printUsage(previous.kubeconfig, opts.demo);
    return;
  }
  if (opts.build) {
    // build.sh prints per-component progress; an already built cache returns at once.
    const built = spawnSync('bash', [buildScript], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`build failed (bash ${show(buildScript)} exited ${built.status ?? built.signal})`);
  }
  // The control plane is gone but an operator or demo service of that run may still be up: stopped
  // now, before their logs and the demo's database directory go, or they would run on unrecorded
  // and no `down` could find them.
  if (previous) await stopRecorded(previous.extras, (line) => console.log(`left from the previous run: ${line}`));
  // Every up starts from empty etcd data; logs of the previous run go with it.
  rmSync(dir, { recursive: true, force: true });
  const plane = await startControlPlane({ dir, nodes: opts.nodes, detached: true, log: (line) => console.log(line) });
  const state: ClusterState = {
    version: 1,
    startedAt: new Date().toISOString(),
    dir,
    server: plane.server,
    kubeconfig: plane.kubeconfigPath,
    caFile: plane.caFile,
    adminToken: plane.adminToken,
    nodes: opts.nodes,
    components: plane.components(),
    extras: [],
  };
  // Record the PIDs first so `down` can stop them even if a later step fails.
  writeState(dir, state);
  try {
    // One context for all steps: a step may leave something for a later one (serviceUrlMap).
    const ctx: UpContext = { plane, state, repoRoot };
    for (const step of upSteps) await step(ctx, opts);
  } finally {
    writeState(dir, state);
    printUsage(plane.kubeconfigPath, opts.demo);
  }
}

function printUsage(kubeconfig: string, demo = false): void {
  console.log(`
  export KUBECONFIG=${kubeconfig}
  export PATH=${dirname(locateKubectl())}:$PATH   # a kubectl of the cluster's version

  kubectl get nodes
  kubectl create deployment hello --image=example/hello:1.0 --replicas=3
  kubectl rollout status deployment/hello          # pods are simulated by kwok: Ready in seconds
  kubectl create deployment bad --image=example/hello:1.0-broken
  kubectl get pods                                 # image tags ending in -broken run but never become Ready

  npm run cluster -- status      npm run cluster -- down
`);
  if (demo) console.log(demoUsage());
}

async function down(opts: { dir: string }): Promise<void> {
  const dir = resolve(opts.dir);
  const state = readState(dir);
  if (!state) {
    console.log(`no control plane recorded in ${show(dir)}; nothing to stop`);
    return;
  }
  await stopRecorded(state.extras, (line) => console.log(line));
  const running = state.components.filter(alive);
  console.log(running.length === 0 ? 'no component was running' : `stopping ${running.map((c) => `${c.name} (pid ${c.pid})`).join(', ')}`);
  await stopComponents(state.components);
  removeState(dir);
  console.log(`stopped; logs stay in ${show(dir)} until the next up`);
}

async function status(opts: { dir: string }): Promise<void> {
  const dir = resolve(opts.dir);
  const state = readState(dir);
  if (!state) {
    console.log('not running (npm run cluster -- up starts it)');
    process.exitCode = 1;
    return;
  }
  const auth = { caPem: readFileSync(state.caFile, 'utf8'), token: state.adminToken };
  const rows = await Promise.all(
    state.components.map(async (c) => {
      const running = alive(c);
      const healthy = running && (await probe(c, auth));
      return { c, running, healthy };
    }),
  );
  const extras = state.extras.map((e) => ({ e, running: alive(e) }));
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`${pad('COMPONENT', 25)}${pad('PID', 9)}${pad('PORT', 7)}STATE`);
  for (const { c, running, healthy } of rows) {
    console.log(`${pad(c.name, 25)}${pad(String(c.pid), 9)}${pad(String(c.port), 7)}${!running ? 'stopped' : healthy ? 'healthy' : 'UNHEALTHY'}`);
  }
  for (const { e, running } of extras) console.log(`${pad(e.name, 25)}${pad(String(e.pid), 9)}${pad('-', 7)}${running ? 'running' : 'stopped'}`);
  console.log(`\nserver ${state.server}   kubeconfig ${show(state.kubeconfig)}   logs ${show(dir)}/*.log   since ${state.startedAt}`);
  if (!rows.every((r) => r.healthy)) process.exitCode = 1;
}

const program = new Command('npm run cluster --')
  .description(
    'A real local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) ' +
      'with kwok-simulated nodes, built from Go modules by hack/cluster/build.sh. See hack/cluster/README.md.',
  )
  .showHelpAfterError();

const dirOption = ['--dir <path>', 'working directory: state, kubeconfig, PKI, etcd data, logs', show(defaultDir)] as const;

program
  .command('up')
  .description('build the binaries if needed, start the control plane in the background, apply crds/*.yaml')
  .option(...dirOption)
  .option('--nodes <n>', 'kwok nodes to simulate (1-64)', positiveInt, 3)
  .option('--no-build', 'fail instead of building missing binaries')
  .option('--no-crds', 'do not apply crds/*.yaml')
  .option('--operator', 'also run keyward-operator in the background (log in the cluster directory)', false)
  .option('--demo', 'the sample AuthService from examples/ with its Secrets, under the operator (implies --operator)', false)
  .addHelpText(
    'after',
    '\nThe processes keep running after this command exits; their PIDs are recorded in\n' +
      '<dir>/state.json and `down` stops them. Each `up` starts from an empty etcd.\n' +
      'First run: the build takes about 7 minutes (cached in ~/.cache/keyward afterwards).',
  )
  .action(up);

program.command('down').description('stop every process that up started (by recorded PID)').option(...dirOption).action(down);

program
  .command('status')
  .description("each component's PID, port and health; exits 1 unless all are healthy")
  .option(...dirOption)
  .action(status);

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
