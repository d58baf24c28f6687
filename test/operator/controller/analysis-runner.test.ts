import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Analysis } from '../../../operator/api/types.js';
import { conditionHolds, inClusterUrl, mappedUrls, measure } from '../../../operator/controller/analysis-runner.js';

describe('operator/controller/analysis-runner', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '{"status":"healthy"}' };

  before(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/query')) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: 'success', data: { result: [{ value: [0, '0.004'] }] } }));
        return;
      }
      setTimeout(() => {
        res.statusCode = answer.status;
        res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  const check = (overrides: Partial<Analysis['httpGet']> = {}, extra: Partial<Analysis> = {}): Analysis => ({
    httpGet: { path: '/health', port: 80, expectedStatus: 200, ...overrides },
    count: 3, intervalSeconds: 5, failureLimit: 1, timeoutSeconds: 1, ...extra,
  });
  const resolve = (namespace: string, service: string, port: number): string => mappedUrls({ 'ns/login-green': base })(namespace, service, port);
  const target = { namespace: 'ns', service: 'login-green' };

  it('resolves a colour Service to its cluster DNS name unless a URL is mapped for it', () => {
    expect(inClusterUrl('auth', 'login-green', 80)).to.equal('http://login-green.auth.svc:80');
    expect(resolve('ns', 'login-green', 80)).to.equal(base);
    expect(resolve('ns', 'login-blue', 80)).to.equal('http://login-blue.ns.svc:80');
  });

  it('passes on the expected status and JSON field, and says what it saw otherwise', async () => {
    answer = { status: 200, body: '{"status":"healthy"}' };
    expect(await measure(check({ jsonField: { path: 'status', equals: 'healthy' } }), target, resolve)).to.include({ ok: true });
    answer = { status: 200, body: '{"status":"degraded"}' };
    const field = await measure(check({ jsonField: { path: 'status', equals: 'healthy' } }), target, resolve);
    expect(field).to.deep.equal({ ok: false, message: 'GET /health on login-green → 200, status = "degraded", expected "healthy"' });
    answer = { status: 503, body: '{"status":"unhealthy"}' };
    expect(await measure(check(), target, resolve)).to.deep.equal({ ok: false, message: 'GET /health on login-green → 503, expected 200' });
  });

  it('counts a timeout or a refused connection as a failed measurement', async () => {
    answer = { status: 200, body: '{}', delayMs: 1500 };
    expect((await measure(check(), target, resolve)).message).to.contain('no answer within 1 s');
    const refused = await measure(check(), target, mappedUrls({ 'ns/login-green': 'http://127.0.0.1:1' }));
    expect(refused.ok).to.equal(false);
  });

  it('also requires the Prometheus condition when one is configured', async () => {
    answer = { status: 200, body: '{}' };
    const ok = await measure(check({}, { prometheus: { address: base, query: 'error_ratio', successCondition: 'result < 0.01' } }), target, resolve);
    expect(ok).to.deep.equal({ ok: true, message: 'GET /health on login-green → 200; error_ratio = 0.004 (meets result < 0.01)' });
    const failing = await measure(check({}, { prometheus: { address: base, query: 'error_ratio', successCondition: 'result < 0.001' } }), target, resolve);
    expect(failing.ok).to.equal(false);
  });

  it('evaluates success conditions of the form "result <op> <number>"', () => {
    expect(conditionHolds('result < 0.01', 0.005)).to.equal(true);
    expect(conditionHolds('result >= 100', 99)).to.equal(false);
    expect(conditionHolds('result == 1', 1)).to.equal(true);
    expect(() => conditionHolds('rate > 1', 2)).to.throw(/unsupported success condition/);
  });
});
