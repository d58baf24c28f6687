import { expect } from 'chai';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { createOperatorMetrics, type OperatorMetrics } from '../../../operator/observability/metrics.js';
import type { Logger } from '../../../operator/observability/logger.js';
import { startObservabilityServer, type ObservabilityServer } from '../../../operator/observability/server.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTP request to the server on loopback. */
function call(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function collectingLogger(): Logger & { lines: Array<{ level: string; message: string; meta?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; meta?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => lines.push({ level, message, meta });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('operator/observability/server', () => {
  let metrics: OperatorMetrics;
  let server: ObservabilityServer | undefined;
  let ready: boolean;
  let alive: boolean;
  const logger = collectingLogger();

  beforeEach(async () => {
    metrics = createOperatorMetrics();
    ready = false;
    alive = true;
    server = await startObservabilityServer({ port: 0, host: '127.0.0.1', metrics, ready: () => ready, alive: () => alive, logger });
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const port = (): number => server?.port ?? 0;

  describe('GET /metrics', () => {
    it('serves the operator registry in the Prometheus text format', async () => {
      metrics.recordReconcile('success', 0.05);
      const res = await call(port(), '/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal(metrics.registry.contentType);
      expect(res.body).to.include('keyward_operator_reconcile_total{result="success"} 1');
      expect(res.body).to.include('process_resident_memory_bytes');
    });
  });

  describe('GET /healthz', () => {
    it('answers 200 while the process is alive and 503 once the alive check fails', async () => {
      expect((await call(port(), '/healthz')).status).to.equal(200);
      alive = false;
      const res = await call(port(), '/healthz');
      expect(res.status).to.equal(503);
      expect(res.body).to.equal('not alive\n');
    });

    it('is 200 with no alive check: an answer means the event loop runs', async () => {
      const bare = await startObservabilityServer({ port: 0, host: '127.0.0.1', metrics, ready: () => false, logger });
      try {
        expect((await call(bare.port, '/healthz')).status).to.equal(200);
      } finally {
        await bare.close();
      }
    });
  });

  describe('GET /readyz', () => {
    it('follows the ready callback: 503 until it says ready, then 200', async () => {
      const before = await call(port(), '/readyz');
      expect(before.status).to.equal(503);
      expect(before.body).to.equal('not ready\n');
      ready = true;
      const after = await call(port(), '/readyz');
      expect(after.status).to.equal(200);
      expect(after.body).to.equal('ok\n');
    });

    it('waits for an asynchronous check and answers 503 (and logs) when it throws', async () => {
      const checks = [async () => true, async (): Promise<boolean> => Promise.reject(new Error('informers gone'))];
      for (const [i, check] of checks.entries()) {
        const s = await startObservabilityServer({ port: 0, host: '127.0.0.1', metrics, ready: check, logger });
        try {
          expect((await call(s.port, '/readyz')).status).to.equal(i === 0 ? 200 : 503);
        } finally {
          await s.close();
        }
      }
      expect(logger.lines.some((l) => l.level === 'warn' && l.meta?.['error'] === 'informers gone')).to.equal(true);
    });
  });

  describe('anything else', () => {
    it('answers 404 for unknown paths and 405 for other methods on known ones', async () => {
      expect((await call(port(), '/')).status).to.equal(404);
      expect((await call(port(), '/metrics/extra')).status).to.equal(404);
      expect((await call(port(), '/__proto__')).status).to.equal(404);
      const post = await call(port(), '/metrics', 'POST');
      expect(post.status).to.equal(405);
      expect(post.headers['allow']).to.equal('GET, HEAD');
    });

    it('answers HEAD with headers and no body, and ignores the query string', async () => {
      const head = await call(port(), '/healthz', 'HEAD');
      expect(head.status).to.equal(200);
      expect(head.body).to.equal('');
      expect((await call(port(), '/healthz?verbose=1')).status).to.equal(200);
    });
  });

  describe('start and stop', () => {
    it('closes promptly even with a kept-alive connection from a scraper', async () => {
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port: port(), path: '/metrics', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
      const started = Date.now();
      await server?.close();
      server = undefined;
      expect(Date.now() - started).to.be.below(1000);
      agent.destroy();
    });

    it('fails to start with a message naming the address when the port is taken', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = (blocker.address() as { port: number }).port;
      try {
        const err = await startObservabilityServer({ port: taken, host: '127.0.0.1', metrics, ready: () => true, logger }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(Error);
        expect((err as Error).message).to.include(`127.0.0.1:${taken}`);
        expect(((err as Error).cause as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
      } finally {
        blocker.close();
      }
    });
  });
});
