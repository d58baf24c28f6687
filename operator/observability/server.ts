/**
 * The operator's own HTTP endpoints, on node:http (three routes need no framework):
 *  - /metrics  the operator's registry, for Prometheus;
 *  - /healthz  liveness: 200 while the process loop answers (and `alive()`, if given, agrees);
 *  - /readyz   readiness: 200 when `ready()` says so (informers synced; a standby
 *              that is not the leader is ready too, so a rollout can proceed);
 * and 404 for anything else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorFields, type Logger } from './logger.js';

export interface ObservabilityServerOptions {
  /** 0 picks a free port; the bound one is returned. */
  port: number;
  /** Defaults to every interface, so Prometheus and the kubelet can reach it in a pod. */
  host?: string;
  metrics: { registry: Registry };
  ready: () => boolean | Promise<boolean>;
  /** Liveness beyond "the event loop answers", e.g. the control loop's last heartbeat. */
  alive?: () => boolean;
  logger: Logger;
}

export interface ObservabilityServer {
  readonly port: number;
  close(): Promise<void>;
}

const send = (res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void => {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
};

export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const { metrics, logger } = options;

  const probe = async (check: () => boolean | Promise<boolean>, what: string): Promise<[number, string]> => {
    try {
      return (await check()) ? [200, 'ok\n'] : [503, `not ${what}\n`];
    } catch (err) {
      logger.warn(`observability: the ${what} check failed`, errorFields(err));
      return [503, `not ${what}\n`];
    }
  };

  const routes: Record<string, (res: ServerResponse) => Promise<void>> = {
    '/metrics': async (res) => send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    '/healthz': async (res) => send(res, ...(await probe(options.alive ?? (() => true), 'alive'))),
    '/readyz': async (res) => send(res, ...(await probe(options.ready, 'ready'))),
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) return send(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    await route(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('observability: request failed', { path: req.url, ...errorFields(err) });
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw new Error(`the observability server could not listen on ${options.host ?? '*'}:${options.port}`, { cause: err });
  });
  const { port } = server.address() as AddressInfo;
  logger.info('observability: serving /metrics, /healthz, /readyz', { host: options.host ?? '*', port });

  return {
    port,
    close: () =>
      // Prometheus keeps connections alive between scrapes; since Node 19 close() also closes idle ones, so this does not wait for them.
      new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}
