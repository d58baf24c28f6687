import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { freePort } from '../../../service/util/free-port.js';
import { createTestDatabase } from '../../support/postgres.js';
import { newAccount } from '../../support/service.js';
import { spawnCli, waitUntilOk, type CliProcess } from './cli-process.js';

/** Resolves with the socket error code of a fresh TCP connection, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

interface Posted {
  /** Resolves once the whole request has been handed to the kernel. */
  sent: Promise<void>;
  response: Promise<{ status: number; body: unknown; at: number }>;
}

/** POSTs JSON with node:http, which says when the request has been written out (fetch does not). */
function post(port: number, path: string, body: unknown, agent: Agent): Posted {
  const payload = JSON.stringify(body);
  const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
  const sent = new Promise<void>((resolve, reject) => {
    req.once('finish', resolve);
    req.once('error', reject);
  });
  const response = new Promise<{ status: number; body: unknown; at: number }>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown, at: Date.now() }));
      res.once('error', reject);
    });
  });
  req.end(payload);
  return { sent, response };
}

/** GET over a new connection (never a pooled one), resolving with the status code. */
function freshConnectionStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('keyward-service serve: SIGTERM', function () {
  // A child process with tsx, bcrypt at cost 12 and a drain: seconds, on a busy machine more.
  this.timeout(90_000);

  let cli: CliProcess | undefined;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyward-shutdown-'));
  });
  after(async () => {
    await cli?.stop(5_000);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes every in-flight request, refuses new connections, and exits 0 after closing in order', async () => {
    const databaseUrl = await createTestDatabase('shutdown');
    const port = await freePort();
    cli = spawnCli({
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      BCRYPT_COST: '12',
      LOG_LEVEL: 'info',
      KEYWARD_DATA_DIR: dataDir,
      RATE_LIMIT_REGISTER_PER_MINUTE: '0',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitUntilOk(cli, `${base}/health/ready`, 60_000);

    // Each registration hashes at cost 12 (about 250 ms of CPU); six of them keep the server busy for a while.
    const accounts = Array.from({ length: 6 }, () => newAccount());
    const agent = new Agent({ keepAlive: true });
    const inFlight = accounts.map((account) => post(port, '/api/auth/register', account, agent));
    // In flight means the server has them: every request is written out on an open connection, and
    // a connection opened after them has been answered, so the server accepted theirs (in order) first.
    // A connection still in the listen backlog at SIGTERM is refused like any new one.
    await Promise.all(inFlight.map((request) => request.sent));
    expect(await freshConnectionStatus(port, '/health/live')).to.equal(200);
    const signalledAt = Date.now();
    cli.child.kill('SIGTERM');

    await cli.waitForLine((line) => line.includes('shutting down'), 10_000);
    // The line is written just before the listener closes: on a busy machine a connection may slip in between.
    const refusedAt = Date.now() + 5_000;
    let outcome = await tryConnect(port);
    while (outcome !== 'ECONNREFUSED' && Date.now() < refusedAt) {
      await new Promise((r) => setTimeout(r, 20));
      outcome = await tryConnect(port);
    }
    expect(outcome, 'a new connection after SIGTERM').to.equal('ECONNREFUSED');
    expect(cli.child.exitCode, 'refused while still draining, not because the process had gone').to.equal(null);

    const results = await Promise.all(inFlight.map((request) => request.response));
    // The client keeps its keep-alive connections open (idle) until the process has exited: the
    // server must close them itself once their answers are out, or the drain waits for its deadline.
    const exit = await cli.exited;
    const exitedAt = Date.now();
    agent.destroy();
    for (const result of results) {
      expect(result.status, JSON.stringify(result.body)).to.equal(201);
      expect(result.at, 'the request was still in flight at SIGTERM').to.be.above(signalledAt);
    }
    expect(exit).to.deep.equal({ code: 0, signal: null });
    // Bounded by SHUTDOWN_TIMEOUT_SECONDS (25 s); with nothing stuck it is the drain alone, and the
    // clients' idle keep-alive connections must not hold it open until that deadline.
    expect(exitedAt - signalledAt).to.be.below(25_000);
    expect(exitedAt - Math.max(...results.map((r) => r.at))).to.be.below(10_000);

    const messages = cli.logs().map((line) => String(line['message']));
    const position = (prefix: string): number => messages.findIndex((m) => m.startsWith(prefix));
    const received = position('received SIGTERM');
    const shuttingDown = position('shutting down: readiness failing, no new connections, draining in-flight requests');
    const complete = position('shutdown complete');
    expect([received, shuttingDown, complete].every((i) => i >= 0), messages.join('\n')).to.equal(true);
    expect(received).to.be.below(shuttingDown);
    expect(shuttingDown).to.be.below(complete);
    // The drained requests were logged between the start and the end of the sequence.
    const requestLines = cli.logs().map((line, i) => ({ line, i })).filter(({ line }) => line['message'] === 'request' && line['route'] === '/api/auth/register');
    expect(requestLines).to.have.length(accounts.length);
    for (const { line, i } of requestLines) {
      expect(line['status']).to.equal(201);
      expect(i).to.be.above(shuttingDown).and.below(complete);
    }
    expect(cli.logs().filter((line) => line['level'] === 'error')).to.deep.equal([]);

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM users WHERE email = ANY($1)', [accounts.map((a) => a.email)]);
      expect(rows[0].n).to.equal(accounts.length);
    } finally {
      await client.end();
    }
  });

  it('drains in-flight requests and exits 0 under the tsx command too (npm start), whose signal relay must be kept', async () => {
    const databaseUrl = await createTestDatabase('shutdown-tsx');
    const port = await freePort();
    await cli?.stop(5_000);
    cli = spawnCli({ DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', BCRYPT_COST: '12', KEYWARD_DATA_DIR: dataDir, RATE_LIMIT_REGISTER_PER_MINUTE: '0' }, ['serve'], { underTsxCli: true });
    await waitUntilOk(cli, `http://127.0.0.1:${port}/health/ready`, 60_000);
    const agent = new Agent({ keepAlive: true });
    const inFlight = Array.from({ length: 3 }, () => post(port, '/api/auth/register', newAccount(), agent));
    await Promise.all(inFlight.map((request) => request.sent));
    // What Ctrl-C or a SIGTERM to npm start reaches: the tsx process, which relays it to the service.
    cli.child.kill('SIGTERM');
    const results = await Promise.all(inFlight.map((request) => request.response));
    const exit = await cli.exited;
    agent.destroy();
    expect(results.map((r) => r.status), 'the registrations in flight').to.deep.equal([201, 201, 201]);
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(cli.logs().map((line) => String(line['message']))).to.include('shutdown complete');
  });
});

describe('keyward-service serve: invalid configuration', function () {
  this.timeout(60_000);

  const refused = async (env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> => {
    const cli = spawnCli({ LOG_LEVEL: 'info', ...env });
    const timer = setTimeout(() => void cli.stop(1_000), 45_000);
    const exit = await cli.exited;
    clearTimeout(timer);
    return { code: exit.code, stderr: cli.stderr(), stdout: cli.stdout.join('\n') };
  };

  it('calls a mistyped command an unknown command (exit 2), not too many arguments for serve', async () => {
    const result = await (async () => {
      const cli = spawnCli({}, ['bogus']);
      const exit = await cli.exited;
      return { code: exit.code, stderr: cli.stderr() };
    })();
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain("error: unknown command 'bogus' (the commands: serve, migrate, purge");
  });

  it('exits non-zero naming PORT when it is not a number', async () => {
    const result = await refused({ PORT: 'abc', DATABASE_URL: 'postgres://127.0.0.1:1/none' });
    expect(result.code).to.equal(78);
    expect(result.stderr).to.contain('invalid configuration').and.to.contain('PORT');
  });

  it('exits non-zero naming JWT_SIGNING_KEY when NODE_ENV=production has no signing key', async () => {
    const result = await refused({ NODE_ENV: 'production', DATABASE_URL: 'postgres://127.0.0.1:1/none' });
    expect(result.code).to.equal(78);
    expect(result.stderr).to.contain('JWT_SIGNING_KEY').and.to.contain('NODE_ENV=production');
  });

  // DATABASE_URL points at a closed port: a refusal that came after the database would be
  // a connection error instead, so these also show the keys are checked before PostgreSQL.
  const keyCases: [string, Record<string, string>, string, string][] = [
    ['JWT_PREVIOUS_SECRETS', { JWT_ALGORITHM: 'HS256', JWT_SECRET: 's'.repeat(40), JWT_PREVIOUS_SECRETS: `${'p'.repeat(40)},short` }, 'JWT_PREVIOUS_SECRETS: entry 2: must be at least 32 bytes', 'short'],
    ['JWT_SIGNING_KEY', { JWT_SIGNING_KEY: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----' }, 'JWT_SIGNING_KEY: is not a PEM private key', 'bm90IGEga2V5IGF0IGFsbA=='],
    ['JWT_SECRET', { JWT_SECRET: 'z'.repeat(40) }, 'JWT_SECRET: is only used with HS256', 'z'.repeat(40)],
  ];
  for (const [variable, env, message, value] of keyCases) {
    it(`exits 78 naming ${variable} when its key is wrong, before any database, without echoing it`, async () => {
      const result = await refused({ ...env, DATABASE_URL: 'postgres://127.0.0.1:1/none' });
      expect(result.code).to.equal(78);
      expect(result.stderr).to.contain(`invalid configuration: ${message}`);
      expect(result.stderr + result.stdout).to.not.contain(value);
    });
  }

  it('names DATABASE_URL, where it points and why, when the database refuses the first connection, without the password', async () => {
    const result = await refused({ DATABASE_URL: 'postgres://keyward:Hunter2-secret@127.0.0.1:1/auth' });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('could not connect to the database in DATABASE_URL (127.0.0.1:1/auth): connect ECONNREFUSED 127.0.0.1:1');
    expect(result.stderr + result.stdout).to.not.contain('Hunter2-secret');
  });

  it('names DATABASE_URL without echoing the password it carries', async () => {
    const result = await refused({ DATABASE_URL: 'mysql://keyward:Hunter2-secret@db.internal/auth' });
    expect(result.code).to.equal(78);
    expect(result.stderr).to.contain('DATABASE_URL');
    expect(result.stderr + result.stdout).to.not.contain('Hunter2-secret');
  });
});
