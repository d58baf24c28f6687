// A real local Kubernetes control plane — etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok's simulated nodes — started
// from the binaries hack/cluster/build.sh makes. Used by the test suites (one
// per mocha run) and by `npm run cluster -- up`.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Binaries, type ComponentName, locateBinaries } from './binaries.js';
import { type HealthCheck, type Layout, type Ports, argsFor, healthCheckFor, portOf } from './flags.js';
import { httpFetch, isHealthy } from './http.js';
import { renderKubeconfig } from './kubeconfig.js';
import { desiredNode } from './nodes.js';
import { generatePki, mintClientCert, type Pki } from './pki.js';
import { freePorts } from './ports.js';
import { commandLine, forgetOnExit, isAlive, killOnExit, logTail, spawnComponent, stopPid } from './process.js';

export type { ComponentName } from './binaries.js';

export interface ControlPlaneOptions {
  /** Working directory: PKI, etcd data, kubeconfigs and one log per component. */
  dir: string;
  /** Fake kwok nodes to create (default 3, at most 64). */
  nodes?: number;
  /** Progress lines ("kube-apiserver ready in 4.1s"). */
  log?: (line: string) => void;
  /** Executables; default: the build.sh cache (and KUBEBUILDER_ASSETS). */
  binaries?: Binaries;
  /**
   * Leave the processes running when this Node process exits (the CLI's `up`).
   * Otherwise they are killed on exit, so a crashed test run leaks nothing.
   */
  detached?: boolean;
  /** Finds `count` free loopback ports (injectable to test the retry when one is taken). */
  freePorts?: (count: number) => Promise<number[]>;
  /** How long each component may take to become healthy (default 90 s: shared 2-core machines are slow). */
  startTimeoutMs?: number;
}

/** One running component, as recorded for `status` and `down`. */
export interface ComponentProcess {
  name: ComponentName;
  pid: number;
  port: number;
  command: string;
  logFile: string;
  health: HealthCheck;
}

export interface ControlPlane {
  readonly dir: string;
  /** Admin kubeconfig (static token in group system:masters). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly caFile: string;
  /** The admin bearer token that kubeconfigPath carries. */
  readonly adminToken: string;
  /** The live components, in start order. */
  components(): ComponentProcess[];
  /**
   * A kubeconfig for `user` in `groups` (no RBAC of its own: bind roles to
   * it). Authenticates with a client certificate signed by the cluster CA, so
   * any name and groups work without restarting the API server. Idempotent:
   * the same user and groups give the same file.
   */
  userKubeconfig(user: string, groups?: string[]): string;
  /** Stops kube-apiserver and starts it again on the same port; resolves once it is ready. */
  restartApiServer(): Promise<void>;
  /** Stops every component (SIGTERM, then SIGKILL after 5 s) and waits for each to exit. */
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const kwokStagesFile = join(here, 'kwok-stages.yaml');

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)}s`;

/** Poll `check` until it passes; fail early with the log tail if the process dies. */
async function waitHealthy(p: ComponentProcess, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (!isAlive(p.pid)) {
      throw new Error(`${p.name} exited during start-up; last lines of ${p.logFile}:\n${logTail(p.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${p.name} not healthy (${p.health.url}) after ${timeoutMs / 1000}s; last lines of ${p.logFile}:\n${logTail(p.logFile)}`);
    }
    await sleep(100);
  }
}

/** Asks a component's health endpoint; used at start-up and by the CLI's `status`. */
export function probe(p: Pick<ComponentProcess, 'health'>, auth: { caPem: string; token: string }): Promise<boolean> {
  const { url, verify, admin } = p.health;
  return isHealthy(url, {
    ...(verify === 'cluster-ca' ? { ca: auth.caPem } : {}),
    ...(verify === 'none' ? { insecure: true } : {}),
    ...(admin ? { token: auth.token } : {}),
  });
}

// Stop order: the clients first, then the API server, then its storage.
const stopOrder: ComponentName[][] = [['kwok', 'kube-scheduler', 'kube-controller-manager'], ['kube-apiserver'], ['etcd']];

/**
 * Stops recorded components by PID, skipping any PID that no longer runs the
 * recorded command (the process is gone and the PID may have been reused).
 */
export async function stopComponents(processes: readonly ComponentProcess[], graceMs = 5000): Promise<void> {
  for (const group of stopOrder) {
    await Promise.all(
      processes
        .filter((p) => group.includes(p.name))
        .map(async (p) => {
          forgetOnExit(p.pid);
          if (commandLine(p.pid)?.[0] !== p.command) return;
          await stopPid(p.pid, graceMs);
        }),
    );
  }
}

async function createNodes(server: string, auth: { caPem: string; token: string }, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await httpFetch(`${server}/api/v1/nodes`, { method: 'POST', ca: auth.caPem, token: auth.token, body: desiredNode(i) });
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating node ${i}: HTTP ${res.status} ${res.body}`);
    }),
  );
}

async function waitNodesReady(server: string, auth: { caPem: string; token: string }, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let ready = 0;
  while (Date.now() < deadline) {
    const res = await httpFetch(`${server}/api/v1/nodes`, { ca: auth.caPem, token: auth.token });
    if (res.status === 200) {
      const list = JSON.parse(res.body) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
      ready = list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      if (ready >= count) return;
    }
    await sleep(100);
  }
  throw new Error(`only ${ready} of ${count} kwok nodes became Ready within ${timeoutMs / 1000}s (see kwok.log)`);
}

/** Starts a control plane in `options.dir`; on failure everything started is stopped again. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      // Ports are found free, then released until the component binds them;
      // another process can take one in between. Start over with new ones.
      const message = err instanceof Error ? err.message : String(err);
      if (attempt >= 3 || !message.includes('address already in use')) throw err;
      options.log?.(`a port was taken before use (${message.split('\n')[0]}); retrying with new ports`);
      rmSync(join(resolve(options.dir), 'etcd'), { recursive: true, force: true });
    }
  }
}

async function startOnce(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binaries = options.binaries ?? locateBinaries();
  const nodeCount = options.nodes ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  const detached = options.detached ?? false;
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const t0 = performance.now();

  const [portList, pki] = await Promise.all([(options.freePorts ?? freePorts)(6), generatePki(join(dir, 'pki'))]);
  const [etcdClient, etcdPeer, apiServer, controllerManager, scheduler, kwok] = portList as [number, number, number, number, number, number];
  const ports: Ports = { etcdClient, etcdPeer, apiServer, controllerManager, scheduler, kwok };
  const server = `https://127.0.0.1:${ports.apiServer}`;
  const caPem = readFileSync(pki.caCert, 'utf8');
  const token = randomBytes(24).toString('hex');
  const auth = { caPem, token };

  const layout: Layout = {
    dir,
    ports,
    pki,
    tokenFile: join(dir, 'tokens.csv'),
    kubeconfig: join(dir, 'kubeconfig'),
    kwokStages: kwokStagesFile,
    etcdDataDir: join(dir, 'etcd'),
  };
  writeFileSync(layout.tokenFile, `${token},admin,keyward-admin,"system:masters"\n`, { mode: 0o600 });
  writeFileSync(layout.kubeconfig, renderKubeconfig({ server, caPem, user: 'admin', credentials: { token } }), { mode: 0o600 });

  const running = new Map<ComponentName, ComponentProcess>();
  const env = { ...process.env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };

  const launch = async (name: ComponentName): Promise<void> => {
    const started = performance.now();
    const logFile = join(dir, `${name}.log`);
    const child = await spawnComponent({ name, command: binaries[name], args: argsFor[name](layout), logFile, detached, env });
    // Until start-up succeeds even a detached plane dies with us (Ctrl-C during `up`).
    killOnExit(child.pid);
    const p: ComponentProcess = { name, pid: child.pid, port: portOf(name, ports), command: binaries[name], logFile, health: healthCheckFor(name, ports) };
    running.set(name, p);
    await waitHealthy(p, () => probe(p, auth), timeoutMs);
    log(`${name} ready in ${seconds(started)} (pid ${p.pid}, port ${p.port})`);
  };

  try {
    await launch('etcd');
    await launch('kube-apiserver');
    await createNodes(server, auth, nodeCount);
    // allSettled, not all: on a failure every launch must have finished before the clean-up below.
    const launched = await Promise.allSettled((['kube-controller-manager', 'kube-scheduler', 'kwok'] as const).map(launch));
    const failed = launched.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitNodesReady(server, auth, nodeCount, timeoutMs);
    log(`${nodeCount} kwok nodes Ready; control plane up in ${seconds(t0)}`);
    if (detached) for (const p of running.values()) forgetOnExit(p.pid);
  } catch (err) {
    await stopComponents([...running.values()]);
    throw err;
  }

  const userKubeconfigs = new Map<string, string>();
  let stopping: Promise<void> | undefined;

  return {
    dir,
    kubeconfigPath: layout.kubeconfig,
    server,
    caFile: pki.caCert,
    adminToken: token,
    components: () => [...running.values()],
    userKubeconfig: (user, groups = []) => userKubeconfig({ dir, pki, server, caPem, user, groups, cache: userKubeconfigs }),
    restartApiServer: async () => {
      if (stopping) throw new Error('restartApiServer(): the control plane was stopped');
      const old = running.get('kube-apiserver');
      if (old) await stopComponents([old], 10_000);
      await launch('kube-apiserver');
      if (detached) forgetOnExit(running.get('kube-apiserver')?.pid ?? 0);
    },
    stop: () => {
      stopping ??= stopComponents([...running.values()]).then(() => log('control plane stopped'));
      return stopping;
    },
  };
}

function userKubeconfig(a: { dir: string; pki: Pki; server: string; caPem: string; user: string; groups: readonly string[]; cache: Map<string, string> }): string {
  const key = JSON.stringify([a.user, a.groups]);
  const cached = a.cache.get(key);
  if (cached !== undefined && existsSync(cached)) return cached;
  const usersDir = join(a.dir, 'users');
  mkdirSync(usersDir, { recursive: true });
  const safe = a.user.replace(/[^A-Za-z0-9._-]/g, '_');
  const base = join(usersDir, `${safe}-${createHash('sha256').update(key).digest('hex').slice(0, 8)}`);
  const cert = mintClientCert(a.pki, { user: a.user, groups: a.groups, out: base });
  const path = `${base}.kubeconfig`;
  writeFileSync(
    path,
    renderKubeconfig({
      server: a.server,
      caPem: a.caPem,
      user: a.user,
      credentials: { clientCertificatePem: readFileSync(cert.cert, 'utf8'), clientKeyPem: readFileSync(cert.key, 'utf8') },
    }),
    { mode: 0o600 },
  );
  a.cache.set(key, path);
  return path;
}
