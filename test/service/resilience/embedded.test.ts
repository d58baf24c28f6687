import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freePort } from '../../../service/util/free-port.js';
import { newAccount } from '../../support/service.js';
import { spawnCli, waitUntilOk, type CliProcess } from './cli-process.js';

// Response bodies are whatever JSON the API returned; the tests assert on their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Stops a PostgreSQL left behind by a run that could not shut down, by the pid it wrote; never by name. */
async function stopLeftoverPostgres(clusterDir: string): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100 && existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
}

describe('keyward-service serve with no DATABASE_URL (npm start)', function () {
  // Each run may initialise or start a real PostgreSQL through tsx: tens of seconds on a busy machine.
  this.timeout(180_000);

  let dataDir: string;
  let cli: CliProcess | undefined;
  const account = newAccount();
  let first: { access_token: string; refresh_token: string; user: { id: string } };
  let firstKids: string[];

  const serve = async (): Promise<{ cli: CliProcess; base: string; port: number }> => {
    const port = await freePort();
    cli = spawnCli({ KEYWARD_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    const base = `http://127.0.0.1:${port}`;
    await waitUntilOk(cli, `${base}/health/ready`, 150_000);
    return { cli, base, port };
  };

  const stop = async (running: CliProcess): Promise<void> => {
    running.child.kill('SIGTERM');
    const exit = await running.exited;
    expect(exit, running.stderr()).to.deep.equal({ code: 0, signal: null });
    // The embedded server went down with the service, cleanly: no pid file left behind.
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 'postmaster.pid after shutdown').to.equal(false);
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyward-embedded-'));
  });
  after(async () => {
    await cli?.stop(20_000);
    if (dataDir) {
      await stopLeftoverPostgres(join(dataDir, 'postgres'));
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('starts a real PostgreSQL in KEYWARD_DATA_DIR, prints the URL and a curl to try, and serves', async () => {
    const { cli: running, base, port } = await serve();
    // The banner is for people and goes to stderr; stdout stays one JSON object per line.
    const printed = running.stderr();
    expect(printed).to.contain(`Keyward auth service on http://localhost:${port}`);
    expect(running.stdout.filter((line) => line.trim() !== '').every((line) => line.startsWith('{'))).to.equal(true);
    expect(printed).to.contain(`curl -s http://localhost:${port}/api/auth/register`);
    const messages = running.logs().map((line) => String(line['message']));
    expect(messages).to.include(`DATABASE_URL is not set: starting the embedded PostgreSQL in ${dataDir}`);
    expect(messages.some((m) => m.startsWith('DEVELOPMENT SIGNING KEY in use') && m.includes('just generated'))).to.equal(true);
    const ready = running.logs().find((line) => line['message'] === 'keyward-service ready')!;
    expect(String(ready['database'])).to.contain(`embedded PostgreSQL in ${join(dataDir, 'postgres')}`);
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).to.equal(true);

    const health = await json(`${base}/health`);
    expect(health.status).to.equal(200);
    expect(health.body.checks.database.status).to.equal('healthy');
    expect(health.body.checks.cache.status).to.equal('disabled');

    const registered = await json(`${base}/api/auth/register`, { method: 'POST', body: JSON.stringify(account) });
    expect(registered.status, JSON.stringify(registered.body)).to.equal(201);
    first = registered.body;
    firstKids = (await json(`${base}/.well-known/jwks.json`)).body.keys.map((k: { kid: string }) => k.kid);

    await stop(running);
    // The data directory holds the cluster, its password and the development key; the secrets are the owner's alone.
    expect(await readdir(dataDir)).to.include.members(['postgres', 'postgres-password', 'jwt-signing-key.pem']);
    for (const secret of ['postgres-password', 'jwt-signing-key.pem']) {
      expect((await stat(join(dataDir, secret))).mode & 0o077, secret).to.equal(0);
    }
  });

  it('keeps the account and the development signing key across a restart with the same data directory', async () => {
    expect(first, 'the first run registered an account').to.not.equal(undefined);
    const { cli: running, base } = await serve();
    const messages = running.logs().map((line) => String(line['message']));
    expect(messages.some((m) => m.startsWith('DEVELOPMENT SIGNING KEY in use'))).to.equal(true);
    expect(messages.some((m) => m.includes('just generated'))).to.equal(false);
    expect(messages.some((m) => m.startsWith('applying migration'))).to.equal(false);

    const login = await json(`${base}/api/auth/login`, { method: 'POST', body: JSON.stringify({ email: account.email, password: account.password }) });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    expect(login.body.user.id).to.equal(first.user.id);

    // Signed by the first run and its session still open: the same key verifies it.
    const me = await json(`${base}/api/auth/me`, { headers: { authorization: `Bearer ${first.access_token}` } });
    expect(me.status, JSON.stringify(me.body)).to.equal(200);
    expect(me.body.user.email).to.equal(account.email);
    expect((await json(`${base}/.well-known/jwks.json`)).body.keys.map((k: { kid: string }) => k.kid)).to.deep.equal(firstKids);
    const refreshed = await json(`${base}/api/auth/refresh`, { method: 'POST', body: JSON.stringify({ refresh_token: first.refresh_token }) });
    expect(refreshed.status).to.equal(200);

    await stop(running);
  });

  it('refuses to start with NODE_ENV=production and no JWT_SIGNING_KEY, before starting any database', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'keyward-embedded-prod-'));
    try {
      const refused = spawnCli({ NODE_ENV: 'production', KEYWARD_DATA_DIR: emptyDir, PORT: String(await freePort()) });
      const timer = setTimeout(() => void refused.stop(1_000), 60_000);
      const exit = await refused.exited;
      clearTimeout(timer);
      expect(exit.code).to.equal(78);
      expect(refused.stderr()).to.contain('JWT_SIGNING_KEY').and.to.contain('development keys are refused');
      expect(await readdir(emptyDir)).to.deep.equal([]);
    } finally {
      await rm(emptyDir, { recursive: true, force: true });
    }
  });
});
