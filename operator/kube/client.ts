/**
 * The one Kubernetes client of the operator: requests over node:https with the
 * credentials of a KubeConfig (kubeconfig file or in-cluster service account),
 * server-side apply under one field manager, status patches, list and watch.
 * Every mutating request is counted, so "no writes when nothing changed" is
 * measurable (metrics and tests read `writes`).
 */
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { accessFromKubeConfig, type ClusterAccess } from './access.js';
import { pathFor, resourceFor } from './resources.js';

export const fieldManager = 'keyward-operator';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string; continue?: string };
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** An error answer of the API server, with its Status reason. */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeError && err.status === 409;

type Verb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestSpec {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface WriteCounter {
  /** Called once per mutating request, after it is sent. */
  (verb: Verb, path: string): void;
}

export interface KubeClient {
  readonly server: string;
  /** Mutating requests sent so far, by this client. */
  readonly writes: number;
  request<T>(verb: Verb, path: string, spec?: RequestSpec): Promise<T>;
  get<T extends KubeObject>(path: string): Promise<T | undefined>;
  list<T extends KubeObject>(path: string, query?: RequestSpec['query']): Promise<ObjectList<T>>;
  /** Server-side apply of a complete object under the operator's field manager; conflicts are forced. */
  apply<T extends KubeObject>(object: T): Promise<T>;
  /** Server-side apply of the status subresource. */
  applyStatus<T extends KubeObject>(object: T): Promise<T>;
  /** JSON merge patch (the CLI's commands, a scale-only change), under `manager` (default: the operator's). */
  mergePatch<T extends KubeObject>(path: string, patch: unknown, manager?: string): Promise<T>;
  create<T extends KubeObject>(path: string, object: T): Promise<T>;
  delete(path: string): Promise<void>;
  /** Streams watch events until the server closes the stream, `signal` aborts, or an error occurs. */
  watch<T>(path: string, query: RequestSpec['query'], onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
}

export interface ClientOptions {
  onWrite?: WriteCounter;
  /** Per-request timeout for non-watch requests (default 30 s). */
  timeoutMs?: number;
}

function queryString(query: RequestSpec['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function objectPath(object: KubeObject): string {
  const { apiVersion, kind, metadata } = object;
  if (!apiVersion || !kind || !metadata?.name) throw new Error('apply needs apiVersion, kind and metadata.name');
  return pathFor(resourceFor(apiVersion, kind), metadata.namespace, metadata.name);
}

export async function createKubeClient(target: ClusterAccess | KubeConfig, options: ClientOptions = {}): Promise<KubeClient> {
  const access = 'requestOptions' in target ? target : accessFromKubeConfig(target);
  const server = access.server;
  const base = new URL(server);
  const timeoutMs = options.timeoutMs ?? 30_000;
  // Credentials are taken afresh for every request: projected service-account tokens and
  // exec-plugin tokens expire.
  const credentials = (): Promise<RequestOptions> => access.requestOptions();

  // One keep-alive pool for every request: a TLS handshake per request cost CPU and held memory
  // under load (hundreds of AuthServices). Requests still carry fresh headers (tokens) each time.
  const initial = await credentials(); // fails at start-up, not at the first request, on a broken kubeconfig
  const agent = base.protocol === 'https:'
    ? new HttpsAgent({ keepAlive: true, maxSockets: 32, ca: initial.ca, cert: initial.cert, key: initial.key, rejectUnauthorized: initial.rejectUnauthorized ?? true, servername: initial.servername })
    : new HttpAgent({ keepAlive: true, maxSockets: 32 });
  let writes = 0;

  const send = async (verb: Verb, path: string, spec: RequestSpec, onResponse: (res: import('node:http').IncomingMessage) => void): Promise<void> => {
    const tls = await credentials();
    return new Promise((resolve, reject) => {
      const body = spec.body === undefined ? undefined : typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body);
      const headers: Record<string, string> = { ...(tls.headers as Record<string, string> | undefined), Accept: 'application/json' };
      if (body !== undefined) {
        headers['Content-Type'] = spec.contentType ?? 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      const requestFn = base.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = requestFn({
        ...tls,
        agent,
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port,
        method: verb,
        path: `${base.pathname.replace(/\/$/, '')}${path}${queryString(spec.query)}`,
        headers,
        signal: spec.signal,
      });
      req.on('response', (res) => {
        onResponse(res);
        res.on('end', resolve);
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('the API server closed the response')));
      });
      req.on('error', reject);
      if (verb !== 'GET') {
        writes += 1;
        options.onWrite?.(verb, path);
      }
      req.end(body);
    });
  };

  async function request<T>(verb: Verb, path: string, spec: RequestSpec = {}): Promise<T> {
    let status = 0;
    const chunks: Buffer[] = [];
    const signal = spec.signal ?? AbortSignal.timeout(timeoutMs);
    await send(verb, path, { ...spec, signal }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c: Buffer) => chunks.push(c));
    });
    const text = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status >= 400) {
      const s = (parsed ?? {}) as { reason?: string; message?: string; details?: unknown };
      throw new KubeError(status, s.reason ?? 'Unknown', `${verb} ${path}: ${s.message ?? (text.slice(0, 300) || `HTTP ${status}`)}`, s.details);
    }
    return parsed as T;
  }

  const applyQuery = { fieldManager, force: true };
  return {
    server,
    get writes() {
      return writes;
    },
    request,
    async get<T extends KubeObject>(path: string) {
      try {
        return await request<T>('GET', path);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    list: <T extends KubeObject>(path: string, query?: RequestSpec['query']) => request<ObjectList<T>>('GET', path, { query }),
    apply: <T extends KubeObject>(object: T) =>
      request<T>('PATCH', objectPath(object), { body: object, contentType: 'application/apply-patch+yaml', query: applyQuery }),
    applyStatus: <T extends KubeObject>(object: T) =>
      request<T>('PATCH', `${objectPath(object)}/status`, { body: object, contentType: 'application/apply-patch+yaml', query: applyQuery }),
    mergePatch: <T extends KubeObject>(path: string, patch: unknown, manager = fieldManager) =>
      request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager: manager } }),
    create: <T extends KubeObject>(path: string, object: T) => request<T>('POST', path, { body: object }),
    async delete(path) {
      try {
        await request('DELETE', path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async watch<T>(path: string, query: RequestSpec['query'], onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal) {
      let status = 0;
      let buffered = '';
      let failure: Error | undefined;
      await send('GET', path, { query: { ...query, watch: true }, signal }, (res) => {
        status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            if (status >= 400) {
              failure = new KubeError(status, 'WatchFailed', `watch ${path}: ${line.slice(0, 300)}`);
              continue;
            }
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              failure = err instanceof Error ? err : new Error(String(err));
              res.destroy();
            }
          }
        });
      }).catch((err: unknown) => {
        // An abort is how callers end a watch: not an error. A failure seen in the stream
        // (an ERROR event such as 410 Gone) destroyed the response: report that, not the close.
        if (!signal.aborted && !failure) throw err;
      });
      if (failure) throw failure;
      if (status >= 400) throw new KubeError(status, 'WatchFailed', `watch ${path}: HTTP ${status}`);
    },
  };
}
