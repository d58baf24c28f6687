/**
 * How the operator reaches the API server: the server URL and the TLS options
 * and headers of each request. A small kubeconfig / in-cluster loader of our
 * own covers what an operator and its CLI need (tokens, token files, client
 * certificates, CA data or files, the service account); anything else (exec
 * credential plugins, auth providers) falls back to @kubernetes/client-node's
 * KubeConfig, imported only then: importing it costs ~75 MiB of memory, half
 * the operator's budget.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';

export interface ClusterAccess {
  /** https://host:port, without a trailing slash. */
  server: string;
  /** The context's namespace, for commands that default to it (like kubectl). */
  namespace: string | undefined;
  /** TLS material and headers for one request; tokens are read afresh (they expire). */
  requestOptions(): Promise<RequestOptions>;
}

/** client-node's KubeConfig as a ClusterAccess (tests, exec plugins). */
export function accessFromKubeConfig(kc: KubeConfig): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return {
    server: cluster.server.replace(/\/$/, ''),
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    async requestOptions() {
      const options: RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
  };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Array<Named<{ server?: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean }>>;
  users?: Array<Named<{ token?: string; tokenFile?: string; 'client-certificate'?: string; 'client-certificate-data'?: string; 'client-key'?: string; 'client-key-data'?: string; exec?: unknown; 'auth-provider'?: unknown }>>;
  contexts?: Array<Named<{ cluster?: string; user?: string; namespace?: string }>>;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

// Projected service-account tokens rotate (about hourly); reading the file each minute is what kubelet-era clients do.
function cachedFileReader(path: string, ttlMs = 60_000): () => string {
  let value = '';
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > ttlMs) {
      value = readFileSync(path, 'utf8').trim();
      readAt = Date.now();
    }
    return value;
  };
}

function inCluster(): ClusterAccess {
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host) throw new Error('no kubeconfig found (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster');
  const token = cachedFileReader(join(serviceAccountDir, 'token'));
  const ca = readFileSync(join(serviceAccountDir, 'ca.crt'));
  const namespaceFile = join(serviceAccountDir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined,
    requestOptions: async () => ({ ca, headers: { Authorization: `Bearer ${token()}` } }),
  };
}

/** One kubeconfig file, with the paths in it made absolute: they are relative to the file's directory. */
function readKubeconfig(path: string): KubeconfigFile {
  const file = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  const base = dirname(path);
  const absolute = (p: string | undefined): string | undefined => (p === undefined || isAbsolute(p) ? p : join(base, p));
  return {
    ...file,
    clusters: file.clusters?.map((c) => ({ ...c, cluster: c.cluster && { ...c.cluster, 'certificate-authority': absolute(c.cluster['certificate-authority']) } })),
    users: file.users?.map((u) => ({
      ...u,
      user: u.user && { ...u.user, tokenFile: absolute(u.user.tokenFile), 'client-certificate': absolute(u.user['client-certificate']), 'client-key': absolute(u.user['client-key']) },
    })),
  };
}

/** Several files as kubectl merges KUBECONFIG: the first file to set a value, or to name an entry, wins. */
function mergeKubeconfigs(files: KubeconfigFile[]): KubeconfigFile {
  const firstByName = <T extends { name: string }>(lists: Array<T[] | undefined>): T[] => {
    const byName = new Map<string, T>();
    for (const item of lists.flatMap((l) => l ?? [])) if (!byName.has(item.name)) byName.set(item.name, item);
    return [...byName.values()];
  };
  const current = files.find((f) => f['current-context'])?.['current-context'];
  return {
    ...(current !== undefined ? { 'current-context': current } : {}),
    clusters: firstByName(files.map((f) => f.clusters)),
    users: firstByName(files.map((f) => f.users)),
    contexts: firstByName(files.map((f) => f.contexts)),
  };
}

function fromConfig(file: KubeconfigFile, label: string): ClusterAccess | 'unsupported' {
  const contextName = file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`${label}: no current context`);
  const cluster = file.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = file.users?.find((u) => u.name === context.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${label}: the current context's cluster has no server`);
  if (user.exec !== undefined || user['auth-provider'] !== undefined) return 'unsupported';

  const material = (data: string | undefined, file?: string): Buffer | undefined =>
    data !== undefined ? Buffer.from(data, 'base64') : file !== undefined ? readFileSync(file) : undefined;
  const ca = material(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = material(user['client-certificate-data'], user['client-certificate']);
  const key = material(user['client-key-data'], user['client-key']);
  const tokenFile = user.tokenFile ? cachedFileReader(user.tokenFile) : undefined;
  const token = (): string | undefined => user.token ?? tokenFile?.();
  return {
    server: cluster.server.replace(/\/$/, ''),
    namespace: context.namespace,
    async requestOptions() {
      const t = token();
      return {
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(cluster['insecure-skip-tls-verify'] ? { rejectUnauthorized: false } : {}),
        ...(t ? { headers: { Authorization: `Bearer ${t}` } } : {}),
      };
    },
  };
}

/**
 * The kubeconfig files to read, as kubectl chooses them: `path`; else KUBECONFIG's files when it is
 * set (those that exist, merged), and never ~/.kube/config then; else ~/.kube/config. Undefined:
 * none, so the in-cluster service account. A KUBECONFIG whose files are all missing is an error,
 * not a reason to fall back: a typo in it would otherwise send promote, abort or retry to whatever
 * cluster ~/.kube/config names.
 */
export function kubeconfigFiles(path: string | undefined, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] | undefined {
  if (path) return [path];
  const listed = env['KUBECONFIG'];
  if (listed) {
    const files = listed.split(delimiter).filter(Boolean);
    const present = files.filter((f) => existsSync(f));
    if (present.length === 0) throw new Error(`KUBECONFIG names no file that exists (${files.join(delimiter)}); fix it or unset it`);
    return present;
  }
  const fallback = join(home, '.kube', 'config');
  return existsSync(fallback) ? [fallback] : undefined;
}

/** The cluster to talk to, from the files kubeconfigFiles() picks, else the in-cluster service account. */
export async function loadClusterAccess(path?: string): Promise<ClusterAccess> {
  const files = kubeconfigFiles(path);
  if (files === undefined) return inCluster();
  const config = files.length === 1 ? readKubeconfig(files[0]!) : mergeKubeconfigs(files.map(readKubeconfig));
  const access = fromConfig(config, files.join(delimiter));
  if (access !== 'unsupported') return access;
  // The same merged config, paths made absolute, so the exec plugin runs for the context chosen here.
  const { KubeConfig: FullKubeConfig } = await import('@kubernetes/client-node');
  const kc = new FullKubeConfig();
  kc.loadFromString(stringify({ apiVersion: 'v1', kind: 'Config', ...config }));
  return accessFromKubeConfig(kc);
}
