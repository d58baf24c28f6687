import { expect } from 'chai';
import pg from 'pg';
import { eventually } from '../../support/eventually.js';
import { query } from '../../support/db.js';
import { newAccount, serviceWithSmtp, type TestResponse } from '../../support/service.js';
import { holdLock } from './row-lock.js';
import { enrollTotp, proveAddress } from './mfa-enrollment.js';

describe('password checks of signed-in users share the per-IP login budget', () => {
  const limited = serviceWithSmtp({ LOCKOUT_THRESHOLD: '100', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '4' });

  it('answers 429 rate_limited before any check once the budget is spent, on change-password, TOTP confirm and disable, and recovery codes alike', async () => {
    const account = newAccount();
    const session = (await limited.service.request('POST', '/api/auth/register', { body: account })).body;
    await proveAddress(limited.service, session.access_token);
    const wrong = { current_password: 'not-the-password-1', new_password: 'my new long passphrase' };
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) answers.push((await limited.service.request('POST', '/api/auth/change-password', { token: session.access_token, body: wrong })).status);
    expect(answers, 'four wrong current passwords within the budget of four').to.deep.equal([403, 403, 403, 403]);

    // Each judged password leaves a login_failed event; a request refused before judging leaves none.
    const judged = async (): Promise<number> =>
      (await query(limited.service.databaseUrl, `SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND type = 'login_failed'`, [session.user.id]))[0]!['n'] as number;
    expect(await judged()).to.equal(4);
    const refused = [
      await limited.service.request('POST', '/api/auth/change-password', { token: session.access_token, body: wrong }),
      await limited.service.request('POST', '/api/auth/mfa/totp/confirm', { token: session.access_token, body: { code: '000000', password: account.password } }),
      await limited.service.request('POST', '/api/auth/mfa/totp/disable', { token: session.access_token, body: { password: account.password } }),
      // A code check, not a bcrypt, but a guess all the same.
      await limited.service.request('POST', '/api/auth/mfa/recovery-codes', { token: session.access_token, body: { code: '000000' } }),
    ];
    expect(refused.map((r) => `${r.status} ${r.body.error?.code}`)).to.deep.equal(['429 rate_limited', '429 rate_limited', '429 rate_limited', '429 rate_limited']);
    expect(refused.every((r) => Number(r.headers.get('retry-after')) > 0), 'Retry-After on each').to.equal(true);
    expect(await judged(), 'passwords judged in all').to.equal(4);
  });
});

describe('POST /api/auth/change-password', () => {
  const mailing = serviceWithSmtp({ LOCKOUT_THRESHOLD: '3', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });

  const twoSessions = async (): Promise<{ account: ReturnType<typeof newAccount>; current: Record<string, string>; other: Record<string, string>; userId: string }> => {
    const account = newAccount();
    const other = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    const current = (await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).body;
    return { account, current, other, userId: other.user.id };
  };

  it('changes the password, signs out the other sessions at once, keeps the current one, and tells the owner', async () => {
    const { account, current, other, userId } = await twoSessions();
    const res = await mailing.service.request('POST', '/api/auth/change-password', {
      token: current.access_token,
      body: { current_password: account.password, new_password: 'my new long passphrase' },
    });
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ other_sessions_revoked: 1 });

    expect((await mailing.service.request('GET', '/api/auth/me', { token: current.access_token })).status).to.equal(200);
    expect((await mailing.service.request('POST', '/api/auth/refresh', { body: { refresh_token: current.refresh_token } })).status).to.equal(200);
    const me = await mailing.service.request('GET', '/api/auth/me', { token: other.access_token });
    expect(me.status).to.equal(401);
    expect(me.body.error.code).to.equal('session_revoked');
    expect((await mailing.service.request('POST', '/api/auth/refresh', { body: { refresh_token: other.refresh_token } })).status).to.equal(401);

    expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(401);
    expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: 'my new long passphrase' } })).status).to.equal(200);
    const notice = await mailing.smtp.waitFor(account.email, /Your password was changed/);
    expect(notice.text).to.contain('Your other sessions were signed out');
    const events = await query(mailing.service.databaseUrl, `SELECT session_id, details FROM security_events WHERE user_id = $1 AND type = 'password_changed'`, [userId]);
    expect(events).to.have.length(1);
    expect(events[0]!['details']).to.deep.equal({ other_sessions_revoked: 1 });
    expect(JSON.stringify(events)).to.not.contain('passphrase');
  });

  it('voids a login that passed the old password and waits for its second factor', async () => {
    const account = newAccount();
    const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    const { recoveryCodes } = await enrollTotp(mailing.service, registered.access_token, account.password);
    const half = await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    expect(half.body.mfa_required).to.equal(true);
    const changed = await mailing.service.request('POST', '/api/auth/change-password', {
      token: registered.access_token,
      body: { current_password: account.password, new_password: 'my new long passphrase' },
    });
    expect(changed.status).to.equal(200);
    const finish = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: half.body.mfa_token, code: recoveryCodes[0] } });
    expect(finish.status).to.equal(401);
    expect(finish.body.error.code).to.equal('invalid_mfa_token');
  });

  it('leaves no session opened with the old password alive: logins that passed it before the change are revoked by it', async () => {
    const { account, current, userId } = await twoSessions();
    // Two logins have checked the old password and wait to write their sessions (the test holds the
    // sessions table); the change then waits for the account's row, which those sign-ins hold.
    const sessionsHeld = await holdLock(mailing.service.databaseUrl, 'LOCK TABLE sessions IN SHARE MODE');
    let changed: Promise<TestResponse> | undefined;
    const logins = Array.from({ length: 2 }, () => mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } }));
    try {
      await sessionsHeld.waitUntilBlocking(2);
      changed = mailing.service.request('POST', '/api/auth/change-password', {
        token: current.access_token,
        body: { current_password: account.password, new_password: 'my new long passphrase' },
      });
      await sessionsHeld.waitUntilBlocking(3);
      await sessionsHeld.commit();
    } finally {
      await sessionsHeld.close();
    }
    expect((await Promise.all(logins)).map((r) => r.status), 'the logins, which came first').to.deep.equal([200, 200]);
    expect((await changed!).status).to.equal(200);
    const sid = JSON.parse(Buffer.from(current.access_token!.split('.')[1]!, 'base64url').toString()).sid;
    const live = await query(mailing.service.databaseUrl, 'SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
    expect(live.map((r) => r['id']), 'live sessions: the caller\'s only').to.deep.equal([sid]);
  });

  it('answers 403 invalid_password for a wrong current password, and counts it toward the lockout', async () => {
    const { account, current } = await twoSessions();
    for (let i = 0; i < 3; i++) {
      const wrong = await mailing.service.request('POST', '/api/auth/change-password', { token: current.access_token, body: { current_password: `wrong guess ${i}`, new_password: 'whatever new passphrase' } });
      expect(wrong.status).to.equal(403);
      expect(wrong.body.error.code).to.equal('invalid_password');
    }
    // Locked now: even the right current password is refused, and so is a login.
    const locked = await mailing.service.request('POST', '/api/auth/change-password', { token: current.access_token, body: { current_password: account.password, new_password: 'whatever new passphrase' } });
    expect(locked.status).to.equal(403);
    expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(401);
  });

  it('refuses a new password that breaks the policy or equals the current one, changing nothing', async () => {
    const { account, current } = await twoSessions();
    const common = await mailing.service.request('POST', '/api/auth/change-password', { token: current.access_token, body: { current_password: account.password, new_password: 'password123' } });
    expect(common.body.error.code).to.equal('password_too_common');
    // The request's own field name, as every validation error gives it.
    expect(common.body.error.details).to.deep.equal({ field: 'new_password' });
    const short = await mailing.service.request('POST', '/api/auth/change-password', { token: current.access_token, body: { current_password: account.password, new_password: 'short' } });
    expect(short.status).to.equal(400);
    expect(short.body.error).to.include({ code: 'password_too_short' }).and.to.have.deep.property('details', { field: 'new_password' });
    const same = await mailing.service.request('POST', '/api/auth/change-password', { token: current.access_token, body: { current_password: account.password, new_password: account.password } });
    expect(same.status).to.equal(400);
    expect(same.body.error.code).to.equal('password_unchanged');
    expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(200);
  });

  describe('when the owner acts while the change is being checked', () => {
    /**
     * Runs `write` in a transaction of its own and sends the change while it is open: the change
     * passes its password check (it reads the committed row), then waits on the row `write`
     * locked. Commits once it waits, and returns the change's answer.
     */
    const changeRacing = async (write: (db: pg.Client) => Promise<unknown>, token: string, password: string): Promise<{ status: number; body: { error: { code: string } } }> => {
      const db = new pg.Client({ connectionString: mailing.service.databaseUrl });
      await db.connect();
      try {
        await db.query('BEGIN');
        await write(db);
        const change = mailing.service.request('POST', '/api/auth/change-password', { token, body: { current_password: password, new_password: 'the attacker chose this' } });
        await eventually('the change waiting on the locked row', async () => {
          const rows = await query(mailing.service.databaseUrl, `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
          return rows.length > 0 ? true : undefined;
        });
        await db.query('COMMIT');
        return await change;
      } finally {
        await db.end();
      }
    };

    it('refuses it with 403 invalid_password when a reset lands first: the password it verified is gone', async () => {
      const { account, current, userId } = await twoSessions();
      const res = await changeRacing((db) => db.query(`UPDATE users SET password_hash = 'set by a reset', password_version = password_version + 1 WHERE id = $1`, [userId]), current.access_token!, account.password);
      expect(res.status).to.equal(403);
      expect(res.body.error.code).to.equal('invalid_password');
      const [row] = await query(mailing.service.databaseUrl, 'SELECT password_hash FROM users WHERE id = $1', [userId]);
      expect(row!['password_hash']).to.equal('set by a reset');
    });

    it('refuses it with 401 session_revoked when the caller is signed out first', async () => {
      const { account, current } = await twoSessions();
      const sid = JSON.parse(Buffer.from(current.access_token!.split('.')[1]!, 'base64url').toString()).sid as string;
      const res = await changeRacing((db) => db.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [sid]), current.access_token!, account.password);
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('session_revoked');
      expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status, 'the password is unchanged').to.equal(200);
    });
  });

  it('needs an access token', async () => {
    const res = await mailing.service.request('POST', '/api/auth/change-password', { body: { current_password: 'x', new_password: 'y' } });
    expect(res.status).to.equal(401);
    expect(res.body.error.code).to.equal('missing_token');
  });
});
