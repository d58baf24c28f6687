import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { profileKey } from '../../../service/auth/profile.js';
import { withFastMe } from '../../../service/http/fast-me.js';
import { securityHeaders } from '../../../service/http/security-headers.js';
import { createMetrics } from '../../../service/metrics/registry.js';
import type { Counter, Histogram } from '../../../service/metrics/series.js';
import { capturingLogger } from '../../support/logs.js';
import { startRedis, type TestRedis } from '../../support/redis.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

/** A server of the test's own: withFastMe over the service's own deps, its fallback the service's Express app, counted. */
interface CountingServer {
  base: string;
  /** Requests handed to the app so far. */
  handedOver(): number;
  close(): void;
}

async function countingServer(service: TestService): Promise<CountingServer> {
  let handed = 0;
  const server = createServer(
    withFastMe((req, res) => {
      handed++;
      void service.app(req, res);
    }, service.auth),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handedOver: () => handed,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * The fast path of `me`, driven through a counting server (above) over real PostgreSQL and
 * Redis: a request was answered by the fast path exactly when the app was not called for it.
 */
describe('GET /api/auth/me answered from memory, before Express (http/fast-me.ts)', () => {
  let redis: TestRedis;
  let service: TestService;
  let server: CountingServer;
  let base: string;

  before(async () => {
    redis = await startRedis();
    service = await startTestService({ REDIS_URL: redis.url, RATE_LIMIT_REGISTER_PER_MINUTE: '0' });
    server = await countingServer(service);
    base = server.base;
  });
  after(async () => {
    server.close();
    await service.stop();
    await redis.stop();
  });

  const me = (token: string | undefined, init: { path?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Response> =>
    fetch(`${base}${init.path ?? '/api/auth/me'}`, {
      method: init.method ?? 'GET',
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
    });

  const viaApp = async (request: () => Promise<Response>): Promise<{ res: Response; app: boolean }> => {
    const before = server.handedOver();
    const res = await request();
    return { res, app: server.handedOver() > before };
  };

  const signUp = async (): Promise<{ access_token: string; user: { id: string } }> => {
    const res = await service.request('POST', '/api/auth/register', { body: newAccount() });
    expect(res.status).to.equal(201);
    return res.body;
  };

  /** A token this process has verified once (through the app), so memory can answer the next `me`. */
  const warmToken = async (): Promise<{ token: string; userId: string }> => {
    const { access_token, user } = await signUp();
    const first = await viaApp(() => me(access_token));
    expect(first.app, 'the first me verifies the signature, in the app').to.equal(true);
    expect(first.res.status).to.equal(200);
    return { token: access_token, userId: user.id };
  };

  it('answers a token verified before, whose session and profile are in memory, without the app', async () => {
    const { token, userId } = await warmToken();
    const { res, app } = await viaApp(() => me(token));
    expect(app).to.equal(false);
    expect(res.status).to.equal(200);
    const body = (await res.json()) as { user: { id: string; password_hash?: unknown } };
    expect(body.user.id).to.equal(userId);
    expect(body.user).to.not.have.property('password_hash');
  });

  it('gives the answer the Express route gives, header for header', async () => {
    const { token } = await warmToken();
    // A query string is never taken by the fast path: the same request, answered by Express.
    const express = await viaApp(() => me(token, { path: '/api/auth/me?via=express', headers: { 'x-request-id': 'same-id' } }));
    const fast = await viaApp(() => me(token, { headers: { 'x-request-id': 'same-id' } }));
    expect([express.app, fast.app]).to.deep.equal([true, false]);
    const headersOf = (res: Response): Record<string, string> => {
      const all = Object.fromEntries(res.headers.entries());
      delete all['date']; // the only header that may differ: the clock moved
      return all;
    };
    expect(headersOf(fast.res)).to.deep.equal(headersOf(express.res));
    expect(fast.res.headers.get('x-request-id')).to.equal('same-id');
    for (const [name, value] of securityHeaders) expect(fast.res.headers.get(name), name).to.equal(value);
    expect(await fast.res.text()).to.equal(await express.res.text());
  });

  it('counts and logs a fast answer as the app would: http and auth counts and durations, two memory hits, one access line', async () => {
    const { token } = await warmToken();
    const total = (counter: Counter<string>, labels: Record<string, string>): Promise<number> =>
      counter.get().then(({ values }) => values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0));
    const observed = (histogram: Histogram<string>, labels: Record<string, string>): Promise<number> =>
      histogram.get().then(({ values }) => values.find((v) => v.metricName?.endsWith('_count') && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0);
    const { httpRequests, httpRequestDuration, authRequests, authRequestDuration, cacheHits } = service.metrics;
    const read = async (): Promise<number[]> => [
      await total(httpRequests, { method: 'GET', route: '/api/auth/me', status: '200' }),
      await observed(httpRequestDuration, { method: 'GET', route: '/api/auth/me', status: '200' }),
      await total(authRequests, { operation: 'me', result: 'success' }),
      await observed(authRequestDuration, { operation: 'me' }),
      await total(cacheHits, { level: 'memory' }),
    ];
    const before = await read();
    const from = service.logs.length;
    const { app } = await viaApp(() => me(token, { headers: { 'x-request-id': 'fast-path-line' } }));
    expect(app).to.equal(false);
    const after = await read();
    expect(after.map((n, i) => n - before[i]!)).to.deep.equal([1, 1, 1, 1, 2]);
    const lines = service.logs.slice(from).filter((line) => line['request_id'] === 'fast-path-line');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'info', message: 'request', method: 'GET', route: '/api/auth/me', status: 200, service: 'keyward-service' });
    expect(lines[0]!['duration_ms']).to.be.a('number');
  });

  it('hands a revoked session to the app at once, which refuses it', async () => {
    const { token } = await warmToken();
    expect((await service.request('POST', '/api/auth/logout', { token })).status).to.equal(204);
    const { res, app } = await viaApp(() => me(token));
    expect(app).to.equal(true);
    expect(res.status).to.equal(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('session_revoked');
  });

  it('hands to the app a profile no longer in memory, and answers from memory again once the app has read it', async () => {
    const { token, userId } = await warmToken();
    await service.cache.delete(profileKey(userId));
    expect((await viaApp(() => me(token))).app).to.equal(true);
    expect((await viaApp(() => me(token))).app).to.equal(false);
  });

  it('answers a profile written since (as a verified address is) with the new profile, from memory', async () => {
    const { token, userId } = await warmToken();
    const before = (await (await me(token)).json()) as { user: Record<string, unknown> };
    // The write every profile change makes (verification.ts, password-reset.ts).
    await service.cache.set(profileKey(userId), { ...before.user, email_verified: true });
    const { res, app } = await viaApp(() => me(token));
    expect(app).to.equal(false);
    expect(await res.json()).to.deep.equal({ user: { ...before.user, email_verified: true } });
  });

  it('hands to the app whatever memory cannot answer: no token, one never verified here, a malformed header', async () => {
    const never = (await signUp()).access_token;
    const cases: [string, () => Promise<Response>, number][] = [
      ['no Authorization', () => me(undefined), 401],
      ['a token this process never verified', () => me(never), 200],
      ['a tampered token', () => me(`${never.slice(0, -4)}AAAA`), 401],
      ['Basic credentials', () => me(undefined, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401],
    ];
    for (const [what, request, status] of cases) {
      const { res, app } = await viaApp(request);
      expect(app, what).to.equal(true);
      expect(res.status, what).to.equal(status);
    }
  });

  it('hands a GET with a body to the app, which parses and refuses it as for any request', async () => {
    const { token } = await warmToken();
    // fetch() will not send a GET with a body; node:http will, as some clients do.
    const withBody = async (body: string): Promise<{ status: number; app: boolean }> => {
      const before = server.handedOver();
      const req = httpRequest(`${base}/api/auth/me`, { method: 'GET', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      req.end(body);
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.resume();
      await once(res, 'end');
      return { status: res.statusCode ?? 0, app: server.handedOver() > before };
    };
    const broken = await withBody('{');
    expect([broken.app, broken.status]).to.deep.equal([true, 400]);
    const large = await withBody(`{"a":"${'x'.repeat(20_000)}"}`);
    expect([large.app, large.status]).to.deep.equal([true, 413]);
  });

  it('takes GET /api/auth/me only: HEAD, POST and other paths go to the app', async () => {
    const { token } = await warmToken();
    for (const [method, path] of [['HEAD', '/api/auth/me'], ['POST', '/api/auth/me'], ['GET', '/api/auth/me/'], ['GET', '/api/auth/me?fields=id']] as const) {
      expect((await viaApp(() => me(token, { method, path }))).app, `${method} ${path}`).to.equal(true);
    }
  });

  it('never answers while the cache is not shared: without Redis a logout elsewhere would go unheard', async () => {
    const alone = await startTestService({ RATE_LIMIT_REGISTER_PER_MINUTE: '0' });
    const solo = await countingServer(alone);
    try {
      const { access_token } = (await alone.request('POST', '/api/auth/register', { body: newAccount() })).body as { access_token: string };
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${solo.base}/api/auth/me`, { headers: { authorization: `Bearer ${access_token}` } });
        expect(res.status).to.equal(200);
      }
      expect(solo.handedOver()).to.equal(3);
    } finally {
      solo.close();
      await alone.stop();
    }
  });
});

describe('withFastMe when its own work throws', () => {
  it('hands the request to the app and logs why, instead of ending the process', async () => {
    const { logger, lines } = capturingLogger('info');
    const metrics = createMetrics();
    // The one test double here: a token store that fails, which real parts cannot be made to do.
    const deps = {
      accessTokens: { remembered: () => { throw new Error('broken verifier cache'); } },
      sessions: { knownActive: () => true },
      cache: { peek: () => undefined },
      metrics,
      logger,
    };
    // The app echoes the id it was handed, as the service's requestId middleware does.
    const server = createServer(withFastMe((req, res) => void res.writeHead(200, { 'content-type': 'text/plain', 'x-request-id': String(req.headers['x-request-id']) }).end('from the app'), deps));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/me`, { headers: { authorization: 'Bearer x' } });
      expect([res.status, await res.text()]).to.deep.equal([200, 'from the app']);
      await new Promise((resolve) => setImmediate(resolve));
      const failure = lines.find((line) => line['message'] === 'the fast path of me failed');
      expect(failure?.['level']).to.equal('error');
      expect(JSON.stringify(failure)).to.contain('broken verifier cache');
      // One id for the failure line and the app's answer, though the client sent none.
      expect(failure?.['request_id']).to.match(/^[0-9a-f-]{36}$/).and.equal(res.headers.get('x-request-id'));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('keeps the answer it wrote when the bookkeeping after it fails, and logs the failure under that answer\'s id', async () => {
    const { logger, lines } = capturingLogger('info');
    const metrics = createMetrics();
    // Test doubles again: a token, session and profile known in memory, and a metric that fails.
    const deps = {
      accessTokens: { remembered: () => ({ sub: 'u1', sid: 's1', iss: 'keyward', aud: 'keyward', iat: 0, exp: 2 ** 31, jti: 'j1' }) },
      sessions: { knownActive: () => true },
      cache: { peek: <T>() => ({ id: 'u1', email: 'ada@example.com' }) as T },
      metrics: { ...metrics, cacheHits: { bind: () => ({ inc: () => { throw new Error('broken counter'); } }) } } as unknown as typeof metrics,
      logger,
    };
    const server = createServer(withFastMe((_req, res) => void res.writeHead(500).end('the app must not answer'), deps));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/auth/me`, { headers: { authorization: 'Bearer x' } });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ user: { id: 'u1', email: 'ada@example.com' } });
      await new Promise((resolve) => setImmediate(resolve));
      const failure = lines.find((line) => line['message'] === 'the fast path of me failed');
      expect(JSON.stringify(failure)).to.contain('broken counter');
      expect(failure?.['request_id']).to.match(/^[0-9a-f-]{36}$/).and.equal(res.headers.get('x-request-id'));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
