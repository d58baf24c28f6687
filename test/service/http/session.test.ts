import { expect } from 'chai';
import { query } from '../../support/db.js';
import pg from 'pg';
import { newAccount, startTestService, type TestResponse, type TestService } from '../../support/service.js';
import { holdLock } from './row-lock.js';

describe('sessions: /api/auth/refresh, /me, /logout, /logout-all', () => {
  let service: TestService;
  let noGrace: TestService;
  before(async () => {
    service = await startTestService({ RATE_LIMIT_REFRESH_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0' });
    noGrace = await startTestService({ RATE_LIMIT_REFRESH_PER_MINUTE: '0', RATE_LIMIT_REGISTER_PER_MINUTE: '0', REFRESH_REUSE_GRACE_SECONDS: '0' });
  });
  after(async () => {
    await service.stop();
    await noGrace.stop();
  });

  const signUp = async (on: TestService = service): Promise<{ access_token: string; refresh_token: string; user: { id: string } }> => {
    const res = await on.request('POST', '/api/auth/register', { body: newAccount() });
    expect(res.status).to.equal(201);
    return res.body;
  };

  describe('GET /api/auth/me', () => {
    it('answers 401 missing_token without a token and invalid_token for a malformed header', async () => {
      const none = await service.request('GET', '/api/auth/me');
      expect(none.status).to.equal(401);
      expect(none.body.error.code).to.equal('missing_token');
      // RFC 6750 §3: no error attribute when the request carried no token.
      expect(none.headers.get('www-authenticate')).to.equal('Bearer realm="keyward"');
      const basic = await service.request('GET', '/api/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(basic.body.error.code).to.equal('invalid_token');
      expect(basic.headers.get('www-authenticate')).to.equal('Bearer realm="keyward", error="invalid_token", error_description="The Authorization header must be Bearer <token>."');
    });

    it('challenges every 401 (RFC 7235), naming invalid_token only when a token was refused', async () => {
      const { access_token } = await signUp();
      await service.request('POST', '/api/auth/logout', { token: access_token });
      const revoked = await service.request('GET', '/api/auth/me', { token: access_token });
      expect(revoked.body.error.code).to.equal('session_revoked');
      expect(revoked.headers.get('www-authenticate')).to.match(/^Bearer realm="keyward", error="invalid_token", error_description="The session has been revoked; log in again\."$/);
      const wrongPassword = await service.request('POST', '/api/auth/login', { body: { email: 'nobody@example.com', password: 'whatever 123' } });
      expect(wrongPassword.status).to.equal(401);
      expect(wrongPassword.headers.get('www-authenticate')).to.equal('Bearer realm="keyward"');
    });

    it('answers 401 invalid_token for a token whose payload was tampered with', async () => {
      const { access_token } = await signUp();
      const [header, payload, signature] = access_token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: '00000000-0000-0000-0000-000000000000' })).toString('base64url');
      const res = await service.request('GET', '/api/auth/me', { token: `${header}.${forged}.${signature}` });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_token');
    });

    it('answers 401 invalid_token for an unsigned token (alg none)', async () => {
      const { access_token } = await signUp();
      const payload = access_token.split('.')[1];
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const res = await service.request('GET', '/api/auth/me', { token: `${header}.${payload}.` });
      expect(res.body.error.code).to.equal('invalid_token');
    });
  });

  describe('POST /api/auth/refresh', () => {
    it('rotates: answers a new pair, and the new refresh token works in turn', async () => {
      const first = await signUp();
      const second = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      expect(second.status).to.equal(200);
      expect(second.body.refresh_token).to.not.equal(first.refresh_token);
      expect(second.body.token_type).to.equal('Bearer');
      expect((await service.request('GET', '/api/auth/me', { token: second.body.access_token })).status).to.equal(200);
      const third = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: second.body.refresh_token } });
      expect(third.status).to.equal(200);
    });

    it('ends the session REFRESH_TOKEN_TTL_SECONDS after sign-in, however recently its refresh token was issued', async () => {
      const first = await signUp();
      const second = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      expect(second.status).to.equal(200);
      // The session reaches its end (30 days after sign-in); the refresh token just issued would live on.
      await query(service.databaseUrl, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [first.user.id]);
      const [token] = await query(service.databaseUrl, `SELECT rt.expires_at > now() AS live FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1 AND rt.rotated_at IS NULL`, [first.user.id]);
      expect(token?.['live'], 'the latest refresh token, by its own expiry').to.equal(true);
      const third = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: second.body.refresh_token } });
      expect(`${third.status} ${third.body.error?.code}`).to.equal('401 invalid_refresh_token');
    });

    it('returns the same successor when a rotated token is presented again within the grace window', async () => {
      const first = await signUp();
      const a = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      const b = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      expect(b.status).to.equal(200);
      expect(b.body.refresh_token).to.equal(a.body.refresh_token);
    });

    it('never produces two successors from parallel refreshes of one token', async () => {
      const first = await signUp();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } })),
      );
      expect(results.map((r) => r.status)).to.deep.equal(Array(8).fill(200));
      expect(new Set(results.map((r) => r.body.refresh_token)).size).to.equal(1);
      const client = new pg.Client({ connectionString: service.databaseUrl });
      await client.connect();
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE s.user_id = $1`,
        [first.user.id],
      );
      await client.end();
      expect(rows[0].n).to.equal(2);
    });

    it('answers both of two racing refreshes of one token with the same successor, for many sessions at once', async () => {
      const sessions = await Promise.all(Array.from({ length: 20 }, () => signUp()));
      const pairs = await Promise.all(
        sessions.map((s) =>
          Promise.all([0, 1].map(() => service.request('POST', '/api/auth/refresh', { body: { refresh_token: s.refresh_token } }))),
        ),
      );
      for (const [a, b] of pairs) {
        expect([a!.status, b!.status]).to.deep.equal([200, 200]);
        expect(a!.body.refresh_token).to.equal(b!.body.refresh_token);
      }
      const client = new pg.Client({ connectionString: service.databaseUrl });
      await client.connect();
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM sessions WHERE revoked_at IS NOT NULL AND user_id = ANY($1)`, [sessions.map((s) => s.user.id)]);
      await client.end();
      expect(rows[0].n).to.equal(0);
    });

    it('revokes the whole session when a rotated token is reused after the grace window', async () => {
      const first = await signUp(noGrace);
      const second = await noGrace.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      expect(second.status).to.equal(200);
      const reuse = await noGrace.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } });
      expect(reuse.status).to.equal(401);
      expect(reuse.body.error.code).to.equal('invalid_refresh_token');
      // The legitimate holder's newer tokens die with the session.
      expect((await noGrace.request('POST', '/api/auth/refresh', { body: { refresh_token: second.body.refresh_token } })).status).to.equal(401);
      const me = await noGrace.request('GET', '/api/auth/me', { token: second.body.access_token });
      expect(me.status).to.equal(401);
      expect(me.body.error.code).to.equal('session_revoked');
      const client = new pg.Client({ connectionString: noGrace.databaseUrl });
      await client.connect();
      const { rows } = await client.query(`SELECT type FROM security_events WHERE user_id = $1 AND type = 'refresh_token_reused'`, [first.user.id]);
      await client.end();
      expect(rows).to.have.length(1);
    });

    describe('when the session is revoked while the refresh runs', () => {
      /** A logout on another replica, under way when the refresh reads the session; committed once the refresh waits for it. */
      const refreshDuringLogout = async (userId: string, refreshToken: string): Promise<TestResponse> => {
        const logout = await holdLock(service.databaseUrl, `UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout' WHERE user_id = $1`, [userId]);
        try {
          const refreshing = service.request('POST', '/api/auth/refresh', { body: { refresh_token: refreshToken } });
          await logout.waitUntilBlocking();
          await logout.commit();
          return await refreshing;
        } finally {
          await logout.close();
        }
      };

      it('answers 401 invalid_refresh_token, not a pair that is dead on arrival', async () => {
        const first = await signUp();
        const res = await refreshDuringLogout(first.user.id, first.refresh_token);
        expect(res.status).to.equal(401);
        expect(res.body.error.code).to.equal('invalid_refresh_token');
      });

      it('answers a retry within the grace window the same way', async () => {
        const first = await signUp();
        expect((await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } })).status).to.equal(200);
        const res = await refreshDuringLogout(first.user.id, first.refresh_token);
        expect(res.status).to.equal(401);
        expect(res.body.error.code).to.equal('invalid_refresh_token');
      });
    });

    it('answers 401 invalid_refresh_token for an unknown token and 400 for a wrong type', async () => {
      const unknown = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: 'x'.repeat(43) } });
      expect(unknown.status).to.equal(401);
      expect(unknown.body.error.code).to.equal('invalid_refresh_token');
      const wrong = await service.request('POST', '/api/auth/refresh', { body: { refresh_token: 12 } });
      expect(wrong.status).to.equal(400);
      expect(wrong.body.error.message).to.equal('refresh_token: must be a string.');
    });
  });

  describe('POST /api/auth/logout', () => {
    it('revokes the current session at once: its access token and refresh token stop working', async () => {
      const session = await signUp();
      expect((await service.request('GET', '/api/auth/me', { token: session.access_token })).status).to.equal(200);
      const out = await service.request('POST', '/api/auth/logout', { token: session.access_token });
      expect(out.status).to.equal(204);
      const me = await service.request('GET', '/api/auth/me', { token: session.access_token });
      expect(me.status).to.equal(401);
      expect(me.body.error.code).to.equal('session_revoked');
      expect((await service.request('POST', '/api/auth/refresh', { body: { refresh_token: session.refresh_token } })).status).to.equal(401);
    });

    it('leaves the account\'s other sessions alone', async () => {
      const account = newAccount();
      const first = (await service.request('POST', '/api/auth/register', { body: account })).body;
      const second = (await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).body;
      await service.request('POST', '/api/auth/logout', { token: first.access_token });
      expect((await service.request('GET', '/api/auth/me', { token: second.access_token })).status).to.equal(200);
    });

    it('commits the logout with its security event, or neither: a 5xx never hides a logout that happened', async () => {
      const session = await signUp();
      const db = new pg.Client({ connectionString: service.databaseUrl });
      await db.connect();
      try {
        // Every new security event refused, as a full tablespace or a broken trigger would.
        await db.query('ALTER TABLE security_events ADD CONSTRAINT test_refuse_events CHECK (false) NOT VALID');
        try {
          const refused = await service.request('POST', '/api/auth/logout', { token: session.access_token });
          expect(refused.status).to.equal(500);
          expect((await service.request('GET', '/api/auth/me', { token: session.access_token })).status, 'still signed in, as the 500 says').to.equal(200);
        } finally {
          await db.query('ALTER TABLE security_events DROP CONSTRAINT test_refuse_events');
        }
        expect((await service.request('POST', '/api/auth/logout', { token: session.access_token })).status).to.equal(204);
        expect((await service.request('GET', '/api/auth/me', { token: session.access_token })).status).to.equal(401);
        const { rows } = await db.query(`SELECT 1 FROM security_events WHERE user_id = $1 AND type = 'session_revoked'`, [session.user.id]);
        expect(rows).to.have.length(1);
      } finally {
        await db.end();
      }
    });
  });

  describe('POST /api/auth/logout-all', () => {
    it('revokes every session of the account', async () => {
      const account = newAccount();
      const first = (await service.request('POST', '/api/auth/register', { body: account })).body;
      const second = (await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).body;
      expect((await service.request('POST', '/api/auth/logout-all', { token: second.access_token })).status).to.equal(204);
      for (const token of [first.access_token, second.access_token]) {
        expect((await service.request('GET', '/api/auth/me', { token })).status).to.equal(401);
      }
      expect((await service.request('POST', '/api/auth/refresh', { body: { refresh_token: first.refresh_token } })).status).to.equal(401);
    });
  });
});
