import bcrypt from 'bcrypt';
import { expect } from 'chai';
import pg from 'pg';
import { query } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { newAccount, startTestService, type TestResponse, type TestService } from '../../support/service.js';
import { enrollTotp } from './mfa-enrollment.js';
import { holdLock } from './row-lock.js';

describe('POST /api/auth/login', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({ LOCKOUT_THRESHOLD: '5', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
  });
  after(async () => service.stop());

  const register = async (): Promise<{ email: string; password: string }> => {
    const account = newAccount();
    expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
    return account;
  };

  it('answers 200 with a token pair and the user for the right password', async () => {
    const { email, password } = await register();
    const res = await service.request('POST', '/api/auth/login', { body: { email: email.toUpperCase(), password } });
    expect(res.status).to.equal(200);
    expect(res.body).to.include.keys('access_token', 'refresh_token', 'token_type', 'expires_in', 'user');
    expect(res.body.user.email).to.equal(email);
    const me = await service.request('GET', '/api/auth/me', { token: res.body.access_token });
    expect(me.status).to.equal(200);
    expect(me.body.user.email).to.equal(email);
  });

  it('answers an unknown email, a wrong password and a locked account identically', async () => {
    const { email, password } = await register();
    const unknown = await service.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password } });
    const wrong = await service.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } });
    for (let i = 0; i < 5; i++) await service.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } });
    const locked = await service.request('POST', '/api/auth/login', { body: { email, password } });
    const strip = (body: { error: Record<string, unknown> }): Record<string, unknown> => ({ ...body.error, request_id: undefined });
    for (const res of [unknown, wrong, locked]) {
      expect(res.status).to.equal(401);
      expect(strip(res.body)).to.deep.equal({ code: 'invalid_credentials', message: 'The email or password is incorrect.', request_id: undefined });
    }
  });

  it('runs a bcrypt comparison against a dummy hash when the user does not exist', async function () {
    this.timeout(60_000);
    // At cost 10 one comparison takes tens of milliseconds: an unknown user that skipped
    // it would answer several times faster than a wrong password.
    const slow = await startTestService({ BCRYPT_COST: '10', RATE_LIMIT_LOGIN_PER_MINUTE: '0', LOCKOUT_THRESHOLD: '1000' });
    try {
      const account = newAccount();
      await slow.request('POST', '/api/auth/register', { body: account });
      const time = async (email: string): Promise<number> => {
        const started = performance.now();
        await slow.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } });
        return performance.now() - started;
      };
      const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 7; i++) {
        unknown.push(await time(`ghost${i}@example.com`));
        wrong.push(await time(account.email));
      }
      const ratio = median(unknown) / median(wrong);
      expect(ratio, `unknown ${median(unknown)} ms vs wrong ${median(wrong)} ms`).to.be.within(0.6, 1.6);
    } finally {
      await slow.stop();
    }
  });

  it('locks the account after 5 failures, even for the right password, and says so in the audit trail', async () => {
    const { email, password } = await register();
    for (let i = 0; i < 5; i++) {
      expect((await service.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } })).status).to.equal(401);
    }
    expect((await service.request('POST', '/api/auth/login', { body: { email, password } })).status).to.equal(401);
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT type, details FROM security_events e JOIN users u ON u.id = e.user_id WHERE u.email = $1 AND type IN ('account_locked', 'login_failed') ORDER BY e.id`,
      [email],
    );
    await client.end();
    expect(rows.filter((r) => r.type === 'account_locked')).to.have.length(1);
    expect(rows.find((r) => r.type === 'account_locked')!.details).to.deep.equal({ seconds: 60 });
    expect(rows.at(-1)).to.deep.include({ type: 'login_failed', details: { reason: 'locked', email } });
  });

  it('writes the failure that locks an existing account in one statement, as it does an unknown address\'s failure', async () => {
    // Statements, not rows: the duration histogram counts one per db.query.
    const inserts = async (): Promise<number> =>
      (await service.metrics.databaseQueryDuration.get()).values.find((v) => v.metricName === 'database_query_duration_seconds_count' && v.labels['operation'] === 'security_events.insert')?.value ?? 0;
    const fail = (email: string) => service.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } });
    const { email } = await register();
    for (let i = 0; i < 4; i++) await fail(email);
    let before = await inserts();
    await fail(email); // the fifth: login_failed and account_locked
    expect(await inserts() - before, 'statements for the locking failure').to.equal(1);
    before = await inserts();
    await fail(`nobody-${Date.now()}@example.com`);
    expect(await inserts() - before, 'statements for an unknown address').to.equal(1);
    const events = await query(service.databaseUrl, `SELECT e.type FROM security_events e JOIN users u ON u.id = e.user_id WHERE u.email = $1 AND e.type = 'account_locked'`, [email]);
    expect(events).to.have.length(1);
  });

  it('evaluates at most 5 passwords when 12 wrong ones arrive in parallel', async () => {
    const { email } = await register();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => service.request('POST', '/api/auth/login', { body: { email, password: 'wrong password 1' } })),
    );
    expect(results.map((r) => r.status)).to.deep.equal(Array(12).fill(401));
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    const { rows } = await client.query(
      `SELECT details->>'reason' AS reason, count(*)::int AS n FROM security_events
        WHERE type = 'login_failed' AND details->>'email' = $1 GROUP BY 1`,
      [email],
    );
    await client.end();
    const counts = Object.fromEntries(rows.map((r) => [r.reason, r.n]));
    expect(counts).to.deep.equal({ wrong_password: 5, locked: 7 });
  });

  it('does not count attempts that failed for want of the database toward the lockout', async () => {
    const { email, password } = await register();
    await withDatabaseRefusingConnections(service.databaseUrl, async () => {
      // One more than the threshold: before, these alone locked the account.
      for (let i = 0; i < 6; i++) {
        const res = await service.request('POST', '/api/auth/login', { body: { email, password } });
        expect(res.status).to.be.at.least(500);
      }
    });
    const res = await service.request('POST', '/api/auth/login', { body: { email, password } });
    expect(res.status).to.equal(200);
  });

  describe('after BCRYPT_COST was raised', () => {
    const hashOf = async (userId: string): Promise<{ password_hash: string; password_version: number; updated_at: Date }> =>
      (await query<{ password_hash: string; password_version: number; updated_at: Date }>(
        service.databaseUrl, 'SELECT password_hash, password_version, updated_at FROM users WHERE id = $1', [userId]))[0]!;

    it('re-hashes the password at the new cost on the next login, as the same password: no session ends, the version stays', async () => {
      const account = newAccount();
      const registered = (await service.request('POST', '/api/auth/register', { body: account })).body;
      const before = await hashOf(registered.user.id);
      expect(before.password_hash).to.match(/^\$2b\$04\$/);

      const raised = await startTestService({ DATABASE_URL: service.databaseUrl, BCRYPT_COST: '5', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
      try {
        const login = await raised.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
        expect(login.status).to.equal(200);
        const rehashedLines = (): number => raised.logs.filter((l) => l['message'] === 'password re-hashed at the configured bcrypt cost').length;
        // The row may show the new hash a moment before the service has read its UPDATE's answer and logged it.
        const after = await eventually('the hash at cost 5, and the line saying so', async () => {
          const row = await hashOf(registered.user.id);
          return row.password_hash.startsWith('$2b$05$') && rehashedLines() === 1 ? row : undefined;
        }, 10_000);
        expect(after.password_version, 'the same password').to.equal(before.password_version);
        expect(after.updated_at.toISOString(), 'no change to the account').to.equal(before.updated_at.toISOString());
        expect((await raised.request('GET', '/api/auth/me', { token: registered.access_token })).status, 'the session from before').to.equal(200);

        // At the new cost, nothing is due: the next login neither re-hashes nor logs it.
        expect((await raised.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(200);
        expect(rehashedLines()).to.equal(1);
        expect((await hashOf(registered.user.id)).password_hash).to.equal(after.password_hash);
      } finally {
        await raised.stop();
      }
    });

    it('signs in a login that verified the hash another login has just re-hashed', async () => {
      const account = newAccount();
      const userId = (await service.request('POST', '/api/auth/register', { body: account })).body.user.id;
      // The row is held while the login checks the password against the cost-4 hash, then replaced by
      // the same password at cost 5, as upgradeHash writes it: the login must see the same password.
      const upgrade = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const login = service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      try {
        await upgrade.waitUntilBlocking();
        await upgrade.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, await bcrypt.hash(account.password, 5)]);
        await upgrade.commit();
      } finally {
        await upgrade.close();
      }
      const res = await login;
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
    });
  });

  describe('racing a password change', () => {
    /**
     * Logs in with `password` while a change, as change-password writes it, holds the account's
     * row: the login has read the old hash and checked the password against it by the time the
     * change commits.
     */
    const loginDuringChange = async (userId: string, email: string, password: string): Promise<TestResponse> => {
      const change = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      const login = service.request('POST', '/api/auth/login', { body: { email, password } });
      try {
        await change.waitUntilBlocking();
        await change.query('UPDATE users SET password_hash = $2, password_version = password_version + 1 WHERE id = $1', [userId, await bcrypt.hash('a brand new passphrase', 4)]);
        await change.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = 'password_changed' WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
        await change.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, [userId]);
        await change.commit();
      } finally {
        await change.close();
      }
      return login;
    };

    it('refuses the old password with invalid_credentials instead of opening a session that outlives the change', async () => {
      const account = newAccount();
      const userId = (await service.request('POST', '/api/auth/register', { body: account })).body.user.id;
      const res = await loginDuringChange(userId, account.email, account.password);
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_credentials');
      const live = await query(service.databaseUrl, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
      expect(live).to.deep.equal([]);
      const events = await query(service.databaseUrl, `SELECT details FROM security_events WHERE user_id = $1 AND type = 'login_failed'`, [userId]);
      expect(events).to.deep.equal([{ details: { reason: 'password_changed', email: account.email } }]);
    });

    it('issues no second-factor challenge for the old password either', async () => {
      const account = newAccount();
      const registered = (await service.request('POST', '/api/auth/register', { body: account })).body;
      await enrollTotp(service, registered.access_token, account.password);
      const res = await loginDuringChange(registered.user.id, account.email, account.password);
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_credentials');
      const pending = await query(service.databaseUrl, `SELECT id FROM one_time_tokens WHERE user_id = $1 AND purpose = 'mfa_login' AND used_at IS NULL`, [registered.user.id]);
      expect(pending).to.deep.equal([]);
    });
  });

  it('limits login attempts per client address with 429 and Retry-After', async () => {
    const limited = await startTestService({ RATE_LIMIT_LOGIN_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await limited.request('POST', '/api/auth/login', { body: { email: `n${i}@example.com`, password: 'whatever 123' } });
        statuses.push(last.status);
      }
      expect(statuses).to.deep.equal([401, 401, 401, 429]);
      expect(last!.body.error.code).to.equal('rate_limited');
      expect(Number(last!.headers.get('retry-after'))).to.be.within(1, 60);
    } finally {
      await limited.stop();
    }
  });

  it('counts an IPv6 client by its /64: a fresh address from the same block is no fresh budget', async () => {
    // Behind one ingress, whose X-Forwarded-For names the client.
    const limited = await startTestService({ RATE_LIMIT_LOGIN_PER_MINUTE: '2', TRUST_PROXY: '1' });
    try {
      const from = async (ip: string): Promise<number> =>
        (await limited.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever 123' }, headers: { 'x-forwarded-for': ip } })).status;
      const statuses = [await from('2001:db8:0:1::1'), await from('2001:db8:0:1::2'), await from('2001:db8:0:1:ffff:ffff:ffff:ffff')];
      expect(statuses, 'three addresses of one /64').to.deep.equal([401, 401, 429]);
      expect(await from('2001:db8:0:2::1'), 'another /64').to.equal(401);
    } finally {
      await limited.stop();
    }
  });
});

/**
 * Runs `during` while PostgreSQL turns away every connection to the service's database: its open
 * ones are ended, new ones refused. Switched from the server's maintenance database, since no
 * connection to this one is let in meanwhile.
 */
async function withDatabaseRefusingConnections(databaseUrl: string, during: () => Promise<void>): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    await during();
  } finally {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    await admin.end();
  }
}
