import { once } from 'node:events';
import { connect } from 'node:net';
import { expect } from 'chai';
import pg from 'pg';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

/** Parses the Prometheus text format into samples (comments dropped). */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    out.push({ name: match[1]!, labels, value: match[3]! });
  }
  return out;
}

const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('operations endpoints', () => {
  let service: TestService;
  before(async () => {
    // The limits have their own tests; here many requests come from one address.
    service = await startTestService({ RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_REFRESH_PER_MINUTE: '0' });
  });
  after(async () => service.stop());

  describe('GET /health', () => {
    it("answers 200 with exactly the guide's JSON: status, timestamp, version, checks.database|cache|email", async () => {
      const res = await service.request('GET', '/health');
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.body).to.have.all.keys('status', 'timestamp', 'version', 'checks');
      expect(res.body.status).to.equal('healthy');
      expect(new Date(res.body.timestamp).toISOString()).to.equal(res.body.timestamp);
      expect(Math.abs(Date.parse(res.body.timestamp) - Date.now())).to.be.below(60_000);
      expect(res.body.version).to.equal('0.1.0');
      expect(res.body.checks).to.have.all.keys('database', 'cache', 'email');
      for (const check of Object.values(res.body.checks)) {
        expect(check).to.have.all.keys('status', 'latency_ms', 'details');
        expect((check as { latency_ms: unknown }).latency_ms).to.be.a('number').and.at.least(0);
      }
      expect(res.body.checks.database).to.deep.include({ status: 'healthy', details: null });
      // No REDIS_URL and no SMTP_URL: both optional dependencies are off, which is not a degradation.
      expect(res.body.checks.cache).to.deep.include({ status: 'disabled', details: 'REDIS_URL is not set; in-process cache only' });
      expect(res.body.checks.email).to.deep.include({ status: 'disabled', details: 'SMTP_URL is not set' });
    });
  });

  describe('probes', () => {
    it('GET /health/live, /health/ready and /health/startup answer 200 once the service is up', async () => {
      const live = await service.request('GET', '/health/live');
      const ready = await service.request('GET', '/health/ready');
      const startup = await service.request('GET', '/health/startup');
      expect([live.status, ready.status, startup.status]).to.deep.equal([200, 200, 200]);
      expect(live.body).to.deep.equal({ status: 'alive' });
      expect(ready.body).to.deep.equal({ status: 'ready' });
      expect(startup.body).to.deep.equal({ status: 'started' });
    });
  });

  describe('GET /.well-known/jwks.json', () => {
    it('publishes the public ES256 key that verifies access tokens, and nothing private', async () => {
      const res = await service.request('GET', '/.well-known/jwks.json');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.body.keys).to.have.length.at.least(1);
      for (const key of res.body.keys) {
        expect(key).to.have.all.keys('kty', 'crv', 'x', 'y', 'kid', 'alg', 'use');
        expect(key).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      }
      const registered = await service.request('POST', '/api/auth/register', { body: newAccount() });
      const header = JSON.parse(Buffer.from(registered.body.access_token.split('.')[0], 'base64url').toString('utf8'));
      expect(res.body.keys.map((k: { kid: string }) => k.kid)).to.include(header.kid);
    });
  });

  describe('GET /metrics', () => {
    let all: Sample[];
    let account: ReturnType<typeof newAccount>;
    before(async () => {
      account = newAccount();
      const registered = await service.request('POST', '/api/auth/register', { body: account });
      const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      await service.request('POST', '/api/auth/login', { body: { email: account.email, password: 'wrong password entirely' } });
      await service.request('GET', '/api/auth/me', { token: login.body.access_token });
      await service.request('POST', '/api/auth/refresh', { body: { refresh_token: registered.body.refresh_token } });
      await service.request('GET', `/api/auth/users/${registered.body.user.id}`);
      await service.request('GET', `/api/auth/${encodeURIComponent(account.email)}`);
      const res = await service.request('GET', '/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      all = samples(res.text);
    });

    it("carries the guide's metric names", () => {
      const names = new Set(all.map((s) => s.name));
      for (const name of [
        'auth_requests_total',
        'auth_request_duration_seconds_bucket',
        'auth_request_duration_seconds_sum',
        'auth_request_duration_seconds_count',
        'active_sessions_total',
        'database_connections_active',
        'database_query_duration_seconds_bucket',
        'cache_hits_total',
        'cache_misses_total',
        'http_requests_total',
        'http_request_duration_seconds_bucket',
      ]) {
        expect(names, name).to.include(name);
      }
    });

    it("times auth and database operations in the guide's buckets, 0.001 to 1.0 seconds", () => {
      for (const histogram of ['auth_request_duration_seconds', 'database_query_duration_seconds']) {
        const operation = all.find((s) => s.name === `${histogram}_bucket`)!.labels['operation'];
        const bounds = all.filter((s) => s.name === `${histogram}_bucket` && s.labels['operation'] === operation).map((s) => s.labels['le']);
        expect(bounds, histogram).to.deep.equal(['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '+Inf']);
      }
    });

    it('counts auth requests by operation and result', () => {
      const count = (operation: string, result: string): number =>
        Number(all.find((s) => s.name === 'auth_requests_total' && s.labels['operation'] === operation && s.labels['result'] === result)?.value ?? 0);
      expect(count('register', 'success')).to.be.at.least(1);
      expect(count('login', 'success')).to.be.at.least(1);
      expect(count('login', 'invalid_credentials')).to.be.at.least(1);
      expect(count('me', 'success')).to.be.at.least(1);
      expect(count('refresh', 'success')).to.be.at.least(1);
    });

    it('labels http_requests_total with method, route template and status', () => {
      const http = all.filter((s) => s.name === 'http_requests_total');
      for (const sample of http) expect(sample.labels).to.have.all.keys('method', 'route', 'status');
      const has = (method: string, route: string, status: string): boolean =>
        http.some((s) => s.labels['method'] === method && s.labels['route'] === route && s.labels['status'] === status);
      expect(has('POST', '/api/auth/register', '201')).to.equal(true);
      expect(has('POST', '/api/auth/login', '200')).to.equal(true);
      expect(has('POST', '/api/auth/login', '401')).to.equal(true);
      expect(has('GET', '/api/auth/me', '200')).to.equal(true);
      expect(has('POST', '/api/auth/refresh', '200')).to.equal(true);
      // Paths that match no route collapse into one label value instead of one series per path.
      expect(has('GET', 'unmatched', '404')).to.equal(true);
      expect(all.some((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels['route'] === '/api/auth/login')).to.equal(true);
    });

    it('exports process metrics', () => {
      const names = new Set(all.map((s) => s.name));
      expect(names).to.include('process_cpu_seconds_total');
      expect(names).to.include('process_resident_memory_bytes');
      expect(names).to.include('nodejs_heap_size_used_bytes');
    });

    it('never puts an email address, an id or a raw path into a label value', () => {
      for (const sample of all) {
        for (const [key, value] of Object.entries(sample.labels)) {
          const where = `${sample.name}{${key}="${value}"}`;
          expect(value, where).to.not.contain('@');
          expect(value, where).to.not.match(uuid);
          expect(value, where).to.not.contain('/users/');
        }
      }
    });

    it('counts requests refused for their body or their token in auth_requests_total, by error code', async () => {
      const count = async (operation: string, result: string): Promise<number> =>
        Number(samples((await service.request('GET', '/metrics')).text).find((m) => m.name === 'auth_requests_total' && m.labels['operation'] === operation && m.labels['result'] === result)?.value ?? 0);
      const before = [await count('login', 'invalid_email'), await count('me', 'missing_token'), await count('change_password', 'invalid_token')];
      expect((await service.request('POST', '/api/auth/login', { body: { email: 'not an address', password: 1 } })).status).to.equal(400);
      expect((await service.request('GET', '/api/auth/me')).status).to.equal(401);
      expect((await service.request('POST', '/api/auth/change-password', { headers: { authorization: 'Basic abc' }, body: {} })).status).to.equal(401);
      expect([await count('login', 'invalid_email'), await count('me', 'missing_token'), await count('change_password', 'invalid_token')]).to.deep.equal(before.map((n) => n + 1));
    });

    it('counts cache hits and misses', () => {
      const total = (name: string): number => all.filter((s) => s.name === name).reduce((sum, s) => sum + Number(s.value), 0);
      // The `me` after login reads the profile written through at login: a hit. (Without Redis the
      // session itself is read from PostgreSQL, so another replica's logout applies at once.)
      expect(total('cache_hits_total')).to.be.at.least(1);
      expect(all.some((s) => s.name === 'cache_misses_total')).to.equal(true);
    });
  });

  describe('request ids', () => {
    it('echoes a sane X-Request-Id and puts it in the error body', async () => {
      const res = await service.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'not the password' }, headers: { 'x-request-id': 'edge-7f3a.42:1' } });
      expect(res.status).to.equal(401);
      expect(res.headers.get('x-request-id')).to.equal('edge-7f3a.42:1');
      expect(res.body.error.request_id).to.equal('edge-7f3a.42:1');
    });

    it('generates an id when none is given, or when the given one is too long or not plain', async () => {
      for (const given of [undefined, 'x'.repeat(129), 'two words', '<script>']) {
        const res = await service.request('GET', '/no/such/route', given === undefined ? {} : { headers: { 'x-request-id': given } });
        const id = res.headers.get('x-request-id');
        expect(id, String(given)).to.match(new RegExp(`^${uuid.source}$`, 'i'));
        expect(res.body.error.request_id).to.equal(id);
      }
    });

    it("writes the request's id on every log line of that request", async () => {
      const account = newAccount();
      const requestId = `register-${Date.now()}`;
      const res = await service.request('POST', '/api/auth/register', { body: account, headers: { 'x-request-id': requestId } });
      expect(res.status).to.equal(201);
      const userId = res.body.user.id;
      // The access log line, the security event and the debug line all name the user or the route.
      const lines = service.logs.filter((line) => line['user_id'] === userId || line['request_id'] === requestId);
      expect(lines.map((line) => line['message'])).to.include.members(['request', 'security event', 'session started']);
      for (const line of lines) expect(line['request_id'], JSON.stringify(line)).to.equal(requestId);
    });
  });

  describe('logs', () => {
    it('log and count a request whose client hangs up before the answer, as 499', async () => {
      const from = service.logs.length;
      // Half a body, then the connection closes: the answer can never be written.
      const socket = connect(service.port, '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":');
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      const aborted = async (): Promise<Record<string, unknown> | undefined> => service.logs.slice(from).find((l) => l['message'] === 'request aborted by the client');
      for (let i = 0; i < 100 && !(await aborted()); i++) await new Promise((r) => setTimeout(r, 20));
      expect(await aborted()).to.deep.include({ method: 'POST', status: 499 });
      const metrics = samples((await service.request('GET', '/metrics')).text);
      expect(metrics.some((m) => m.name === 'http_requests_total' && m.labels['status'] === '499' && m.labels['method'] === 'POST')).to.equal(true);
    });

    it('never contain a password or a token used in a request', async () => {
      const account = newAccount({ password: `Unique-Pass-${Date.now()}` });
      const from = service.logs.length;
      const registered = await service.request('POST', '/api/auth/register', { body: account });
      const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      await service.request('POST', '/api/auth/login', { body: { email: account.email, password: `${account.password}-wrong` } });
      const refreshed = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: login.body.refresh_token } });
      await service.request('GET', '/api/auth/me', { token: refreshed.body.access_token });
      await service.request('GET', '/api/auth/me', { headers: { authorization: `Bearer ${registered.body.access_token}x` } });
      await service.request('POST', '/api/auth/logout', { token: registered.body.access_token });
      expect([registered.status, login.status, refreshed.status]).to.deep.equal([201, 200, 200]);

      const written = JSON.stringify(service.logs.slice(from));
      expect(service.logs.length).to.be.above(from);
      const secrets = [
        account.password,
        registered.body.access_token,
        registered.body.refresh_token,
        login.body.access_token,
        login.body.refresh_token,
        refreshed.body.access_token,
        refreshed.body.refresh_token,
      ];
      for (const secret of secrets) expect(written).to.not.contain(secret);
      // Nor any recognisable piece of one: a JWT's signature is the part that must never leak.
      for (const token of [registered.body.access_token, login.body.access_token]) expect(written).to.not.contain(token.split('.')[2]);
    });
  });

  describe('errors', () => {
    it('answers invalid JSON with 400 invalid_json', async () => {
      const res = await service.request('POST', '/api/auth/login', { raw: '{"email": "a@example.com", "password": ', headers: { 'content-type': 'application/json' } });
      expect(res.status).to.equal(400);
      expect(res.body.error).to.include({ code: 'invalid_json' });
    });

    it('answers a body over 16 KiB with 413 payload_too_large', async () => {
      const body = { ...newAccount(), first_name: 'a'.repeat(17 * 1024) };
      const res = await service.request('POST', '/api/auth/register', { body });
      expect(res.status).to.equal(413);
      expect(res.body.error).to.include({ code: 'payload_too_large' });
    });

    it('accepts a body just under 16 KiB as far as the parser goes', async () => {
      const res = await service.request('POST', '/api/auth/login', { body: { email: 'a@example.com', password: 'p'.repeat(4096), pad: 'x'.repeat(11 * 1024) } });
      // Past the parser, validation refuses the unknown field: a 400, not a 413.
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
    });

    it('answers a text/plain body with 415 unsupported_media_type', async () => {
      const account = newAccount();
      const res = await service.request('POST', '/api/auth/register', { raw: JSON.stringify(account), headers: { 'content-type': 'text/plain' } });
      expect(res.status).to.equal(415);
      expect(res.body.error).to.include({ code: 'unsupported_media_type' });
    });

    it('answers an unknown route with 404 JSON', async () => {
      const res = await service.request('GET', '/api/auth/nothing-here');
      expect(res.status).to.equal(404);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      expect(res.body.error).to.include({ code: 'not_found' });
      expect(res.body.error.request_id).to.be.a('string');
    });

    it('answers a known path asked with another method with 405 and the methods it takes', async () => {
      const cases: [string, string, string][] = [
        ['GET', '/api/auth/login', 'POST'],
        ['DELETE', '/api/auth/me', 'GET, HEAD'],
        ['PUT', '/api/auth/sessions/0b6f5a0e-8a4b-4c1e-9d2f-1a2b3c4d5e6f', 'DELETE'],
        ['POST', '/.well-known/jwks.json', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await service.request(method, path);
        expect(res.status, `${method} ${path}`).to.equal(405);
        expect(res.headers.get('allow'), `${method} ${path}`).to.equal(allow);
        expect(res.body.error).to.include({ code: 'method_not_allowed', message: `${method} is not allowed on ${path}; use ${allow}.` });
      }
      // A path that only looks like one: still 404.
      expect((await service.request('GET', '/api/auth/sessions/a/b')).status).to.equal(404);
      expect((await service.request('GET', '/.well-known/jwksXjson')).status).to.equal(404);
    });

    it('sends the security headers helmet sets, and no X-Powered-By', async () => {
      for (const path of ['/health', '/api/auth/nothing-here']) {
        const res = await service.request('GET', path);
        expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
        expect(res.headers.get('x-frame-options'), path).to.equal('DENY');
        expect(res.headers.get('strict-transport-security'), path).to.match(/max-age=\d+/);
        expect(res.headers.get('content-security-policy'), path).to.equal("default-src 'none';frame-ancestors 'none'");
        expect(res.headers.get('referrer-policy'), path).to.equal('no-referrer');
        expect(res.headers.has('x-powered-by'), path).to.equal(false);
      }
    });

    it('forbids caching every answer, tokens, profiles and errors alike, but the public keys and the API description', async () => {
      const registered = await service.request('POST', '/api/auth/register', { body: newAccount() });
      const token: string = registered.body.access_token;
      const answers = [
        ['a registration', registered],
        ['a login', await service.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password' } })],
        ['a refresh', await service.request('POST', '/api/auth/refresh', { body: { refresh_token: registered.body.refresh_token } })],
        ['me', await service.request('GET', '/api/auth/me', { token })],
        ['invalid JSON', await service.request('POST', '/api/auth/login', { raw: '{', headers: { 'content-type': 'application/json' } })],
        ['an unknown route', await service.request('GET', '/nothing-here')],
        ['the metrics', await service.request('GET', '/metrics')],
      ] as const;
      for (const [what, res] of answers) expect(res.headers.get('cache-control'), what).to.equal('no-store');
      for (const path of ['/.well-known/jwks.json', '/openapi.json']) {
        expect((await service.request('GET', path)).headers.get('cache-control'), path).to.equal('public, max-age=300');
      }
    });

    it('answers an internal failure with 500 and the catalogue message, never a stack trace or the cause', async () => {
      const account = newAccount();
      expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
      // A real failure inside PostgreSQL: the table the login reads is briefly missing.
      const client = new pg.Client({ connectionString: service.databaseUrl });
      await client.connect();
      let res;
      try {
        await client.query('ALTER TABLE users RENAME TO users_moved_away');
        res = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password }, headers: { 'x-request-id': 'broken-1' } });
      } finally {
        await client.query('ALTER TABLE users_moved_away RENAME TO users');
        await client.end();
      }
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal({ error: { code: 'internal_error', message: 'An internal error occurred.', request_id: 'broken-1' } });
      expect(res.text).to.not.match(/\bat \S+ \(|\.ts:\d+|users_moved_away|relation/);
      // The cause goes to the log instead, with the request id and without the password.
      const logged = service.logs.find((line) => line['message'] === 'request failed' && line['request_id'] === 'broken-1');
      expect(logged, 'the error log line').to.not.equal(undefined);
      expect(JSON.stringify(logged)).to.contain('relation').and.not.contain(account.password);
      // And the service carries on.
      expect((await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(200);
    });
  });
});
