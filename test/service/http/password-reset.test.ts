import { expect } from 'chai';
import { query } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { newAccount, startTestService, type TestResponse, type TestService } from '../../support/service.js';
import { linkToken, startSmtpServer, type TestSmtp } from '../../support/smtp.js';
import { hashOpaqueToken } from '../../../service/tokens/opaque.js';
import { enrollTotp } from './mfa-enrollment.js';
import { holdLock } from './row-lock.js';

describe('password reset: /api/auth/forgot-password, /api/auth/reset-password', () => {
  let smtp: TestSmtp;
  let service: TestService;
  before(async () => {
    smtp = await startSmtpServer();
    service = await startTestService({
      SMTP_URL: smtp.url,
      APP_URL: 'https://app.example.com',
      RATE_LIMIT_REGISTER_PER_MINUTE: '0',
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      RATE_LIMIT_RECOVERY_PER_MINUTE: '0',
      RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR: '0',
    });
  });
  after(async () => {
    await service.stop();
    await smtp.stop();
  });

  const signUp = async (): Promise<{ account: ReturnType<typeof newAccount>; session: { access_token: string; refresh_token: string; user: { id: string } } }> => {
    const account = newAccount();
    const res = await service.request('POST', '/api/auth/register', { body: account });
    expect(res.status).to.equal(201);
    return { account, session: res.body };
  };

  const resetLink = async (email: string): Promise<string> => {
    expect((await service.request('POST', '/api/auth/forgot-password', { body: { email } })).status).to.equal(202);
    return linkToken(await smtp.waitFor(email, /Reset your password/));
  };

  it('answers 202 with the same body for a known and an unknown address, and mails only the known one', async () => {
    const { account } = await signUp();
    const unknownEmail = `ghost.${Date.now()}@example.com`;
    const known = await service.request('POST', '/api/auth/forgot-password', { body: { email: account.email } });
    const unknown = await service.request('POST', '/api/auth/forgot-password', { body: { email: unknownEmail } });
    expect([known.status, unknown.status]).to.deep.equal([202, 202]);
    expect(known.body).to.deep.equal(unknown.body);
    const mail = await smtp.waitFor(account.email, /Reset your password/);
    expect(mail.text).to.match(/https:\/\/app\.example\.com\/reset-password\?token=[\w-]{43}/);
    expect(mail.text).to.contain('expires in 30 minutes');
    expect(smtp.to(unknownEmail)).to.have.length(0);
    const events = await query(service.databaseUrl, `SELECT user_id, details FROM security_events WHERE type = 'password_reset_requested' AND (details->>'email' = $1 OR user_id = (SELECT id FROM users WHERE email = $2))`, [unknownEmail, account.email]);
    expect(events.map((e) => e['details'].known).sort()).to.deep.equal([false, true]);
  });

  it('takes the same time for a known and an unknown address (the lookup happens after the answer)', async function () {
    this.timeout(60_000);
    const { account } = await signUp();
    const time = async (email: string): Promise<number> => {
      const started = performance.now();
      expect((await service.request('POST', '/api/auth/forgot-password', { body: { email } })).status).to.equal(202);
      return performance.now() - started;
    };
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 15; i++) {
      known.push(await time(account.email));
      unknown.push(await time(`ghost${i}.${Date.now()}@example.com`));
    }
    const [k, u] = [median(known), median(unknown)];
    // Both are a few milliseconds on loopback; what must not appear is the database and mail work of the known path.
    expect(Math.abs(k - u), `known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`).to.be.below(Math.max(5, u));
  });

  it('sets the new password, signs out every session at once, and tells the owner', async () => {
    const { account, session } = await signUp();
    const other = (await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).body;
    const token = await resetLink(account.email);
    const res = await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'a brand new passphrase' } });
    expect(res.status).to.equal(204);

    for (const s of [session, other]) {
      const me = await service.request('GET', '/api/auth/me', { token: s.access_token });
      expect(me.status).to.equal(401);
      expect(me.body.error.code).to.equal('session_revoked');
      expect((await service.request('POST', '/api/auth/refresh', { body: { refresh_token: s.refresh_token } })).status).to.equal(401);
    }
    expect((await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(401);
    const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: 'a brand new passphrase' } });
    expect(login.status).to.equal(200);
    // Following the mailed link proved the address.
    expect(login.body.user.email_verified).to.equal(true);

    const notice = await smtp.waitFor(account.email, /Your password was changed/);
    expect(notice.text).to.contain('every session was signed out');
    expect(notice.text).to.not.contain('a brand new passphrase');
    const events = await query(service.databaseUrl, `SELECT details FROM security_events WHERE user_id = $1 AND type = 'password_reset'`, [session.user.id]);
    expect(events).to.deep.equal([{ details: { sessions_revoked: 2 } }]);
  });

  it('voids a login that passed the old password and waits for its second factor', async () => {
    const { account, session } = await signUp();
    const { recoveryCodes } = await enrollTotp(service, session.access_token, account.password);
    const half = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    expect(half.body.mfa_required).to.equal(true);
    const token = await resetLink(account.email);
    expect((await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'a fine new passphrase' } })).status).to.equal(204);
    const finish = await service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: half.body.mfa_token, code: recoveryCodes[0] } });
    expect(finish.status).to.equal(401);
    expect(finish.body.error.code).to.equal('invalid_mfa_token');
  });

  it('never writes the reset token or the new password to the log or the audit trail', async () => {
    const from = service.logs.length;
    const { account, session } = await signUp();
    const token = await resetLink(account.email);
    await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'secret new passphrase 42' } });
    await smtp.waitFor(account.email, /Your password was changed/);
    const events = await query(service.databaseUrl, 'SELECT details FROM security_events WHERE user_id = $1', [session.user.id]);
    for (const written of [JSON.stringify(service.logs.slice(from)), JSON.stringify(events)]) {
      expect(written).to.not.contain(token);
      expect(written).to.not.contain('secret new passphrase 42');
    }
  });

  it('works once: the same link again is refused', async () => {
    const { account } = await signUp();
    const token = await resetLink(account.email);
    expect((await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'first new passphrase' } })).status).to.equal(204);
    const again = await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'second new passphrase' } });
    expect(again.status).to.equal(400);
    expect(again.body.error.code).to.equal('invalid_reset_token');
  });

  it('refuses a link older than 30 minutes, and an older link once a newer one was sent', async () => {
    const { account } = await signUp();
    const first = await resetLink(account.email);
    expect((await service.request('POST', '/api/auth/forgot-password', { body: { email: account.email } })).status).to.equal(202);
    const second = linkToken(await eventually('a second reset message', async () => smtp.to(account.email).filter((m) => /Reset your password/.test(m.subject))[1], 10_000, 25));
    const superseded = await service.request('POST', '/api/auth/reset-password', { body: { token: first, password: 'some new passphrase' } });
    expect(superseded.body.error.code).to.equal('invalid_reset_token');
    const rows = await query(service.databaseUrl, `SELECT round(extract(epoch FROM expires_at - created_at))::int AS ttl FROM one_time_tokens WHERE purpose = 'reset_password' AND user_id = (SELECT id FROM users WHERE email = $1)`, [account.email]);
    expect(rows.map((r) => r['ttl'])).to.deep.equal([1800, 1800]);
    await query(service.databaseUrl, `UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset_password' AND user_id = (SELECT id FROM users WHERE email = $1)`, [account.email]);
    const expired = await service.request('POST', '/api/auth/reset-password', { body: { token: second, password: 'some new passphrase' } });
    expect(expired.body.error.code).to.equal('invalid_reset_token');
  });

  it('leaves only the newest link working when several requests for the account arrive at once', async () => {
    const { account, session } = await signUp();
    const requests = 4;
    // Each request waits on the account's row, held here, until all of them are under way.
    const held = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [session.user.id]);
    try {
      const answers = await Promise.all(Array.from({ length: requests }, () => service.request('POST', '/api/auth/forgot-password', { body: { email: account.email } })));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(requests).fill(202));
      await held.waitUntilBlocking(requests);
      await held.commit();
    } finally {
      await held.close();
    }
    const mails = await eventually('every reset message', async () => {
      const sent = smtp.to(account.email).filter((m) => /Reset your password/.test(m.subject));
      return sent.length === requests ? sent : undefined;
    }, 10_000, 25);
    const [newest] = await query(service.databaseUrl, `SELECT token_hash FROM one_time_tokens WHERE user_id = $1 AND purpose = 'reset_password' ORDER BY id DESC LIMIT 1`, [session.user.id]);
    const tokens = mails.map(linkToken);
    const older = tokens.filter((t) => hashOpaqueToken(t) !== newest!['token_hash']);
    expect(older).to.have.length(requests - 1);
    // Each older link is tried before the newest, whose use would void the rest anyway.
    for (const token of older) {
      const refused = await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'an older link tried this' } });
      expect(`${refused.status} ${refused.body?.error?.code}`).to.equal('400 invalid_reset_token');
    }
    const latest = tokens.find((t) => !older.includes(t));
    expect((await service.request('POST', '/api/auth/reset-password', { body: { token: latest, password: 'the newest link set this' } })).status).to.equal(204);
  });

  describe('when a password change of the same account meets the reset', () => {
    /**
     * Holds the account's row while `first`, then `second`, run into it, then lets both through in
     * that order; returns their answers. A reset and a change lock the row and the link in the same
     * order, or one of them deadlocks and answers 500.
     */
    const meeting = async (userId: string, first: () => Promise<TestResponse>, second: () => Promise<TestResponse>): Promise<[TestResponse, TestResponse]> => {
      const held = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
      try {
        const firstAnswer = first();
        await held.waitUntilBlocking(1);
        const secondAnswer = second();
        await held.waitUntilBlocking(2);
        await held.commit();
        return await Promise.all([firstAnswer, secondAnswer]);
      } finally {
        await held.close();
      }
    };

    const changeAndReset = async (): Promise<{ account: ReturnType<typeof newAccount>; userId: string; change: () => Promise<TestResponse>; reset: () => Promise<TestResponse> }> => {
      const { account, session } = await signUp();
      const token = await resetLink(account.email);
      return {
        account,
        userId: session.user.id,
        change: () => service.request('POST', '/api/auth/change-password', { token: session.access_token, body: { current_password: account.password, new_password: 'the change chose this' } }),
        reset: () => service.request('POST', '/api/auth/reset-password', { body: { token, password: 'the reset chose this' } }),
      };
    };

    const signsInWith = async (email: string, password: string): Promise<number> => (await service.request('POST', '/api/auth/login', { body: { email, password } })).status;

    it('lets the change that takes the account first through, and refuses the link it voided', async () => {
      const { account, userId, change, reset } = await changeAndReset();
      const [changed, refused] = await meeting(userId, change, reset);
      expect(changed.status).to.equal(200);
      expect(`${refused.status} ${refused.body?.error?.code}`).to.equal('400 invalid_reset_token');
      expect(await signsInWith(account.email, 'the change chose this')).to.equal(200);
    });

    it('lets the reset that takes the account first through, and refuses the change whose password it replaced', async () => {
      const { account, userId, change, reset } = await changeAndReset();
      const [wasReset, refused] = await meeting(userId, reset, change);
      expect(wasReset.status).to.equal(204);
      expect(`${refused.status} ${refused.body?.error?.code}`).to.equal('403 invalid_password');
      expect(await signsInWith(account.email, 'the reset chose this')).to.equal(200);
    });
  });

  it('checks the new password before using the link up, so a refused password does not burn it', async () => {
    const { account } = await signUp();
    const token = await resetLink(account.email);
    const weak = await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'password123' } });
    expect(weak.status).to.equal(400);
    expect(weak.body.error.code).to.equal('password_too_common');
    expect((await service.request('POST', '/api/auth/reset-password', { body: { token, password: 'a fine new passphrase' } })).status).to.equal(204);
  });

  it('limits requests per email address and per client address with 429', async () => {
    const limited = await startTestService({ SMTP_URL: smtp.url, RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR: '2', RATE_LIMIT_RECOVERY_PER_MINUTE: '4' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await limited.request('POST', '/api/auth/forgot-password', { body: { email: 'target@example.com' } })).status);
      expect(statuses).to.deep.equal([202, 202, 429]);
      // The per-IP budget of 4 was already spent on 3 requests; one more address gets one more, then 429.
      expect((await limited.request('POST', '/api/auth/forgot-password', { body: { email: 'other@example.com' } })).status).to.equal(202);
      const blocked = await limited.request('POST', '/api/auth/forgot-password', { body: { email: 'third@example.com' } });
      expect(blocked.status).to.equal(429);
      expect(blocked.body.error.code).to.equal('rate_limited');
      expect(Number(blocked.headers.get('retry-after'))).to.be.within(1, 60);
    } finally {
      await limited.stop();
    }
  });
});
