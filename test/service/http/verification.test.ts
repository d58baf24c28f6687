import { expect } from 'chai';
import { query } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { linkToken, startSmtpServer, type TestSmtp } from '../../support/smtp.js';
import { hashOpaqueToken } from '../../../service/tokens/opaque.js';
import { holdLock } from './row-lock.js';

describe('email verification: /api/auth/verify-email, /api/auth/resend-verification', () => {
  let smtp: TestSmtp;
  let service: TestService;
  before(async () => {
    smtp = await startSmtpServer();
    service = await startTestService({ SMTP_URL: smtp.url, EMAIL_FROM: 'Keyward <no-reply@keyward.test>', APP_URL: 'https://app.example.com', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_RECOVERY_PER_MINUTE: '0' });
  });
  after(async () => {
    await service.stop();
    await smtp.stop();
  });

  it('mails a verification link at registration; the link verifies the address once', async () => {
    const account = newAccount();
    const registered = await service.request('POST', '/api/auth/register', { body: account });
    expect(registered.status).to.equal(201);
    const mail = await smtp.waitFor(account.email, /Verify your email address/);
    expect(mail.from).to.equal('no-reply@keyward.test');
    expect(mail.text).to.match(/https:\/\/app\.example\.com\/verify-email\?token=[\w-]{43}/);
    expect(mail.html).to.contain('https://app.example.com/verify-email?token=');
    const token = linkToken(mail);

    const verified = await service.request('POST', '/api/auth/verify-email', { body: { token } });
    expect(verified.status).to.equal(200);
    expect(verified.body.user).to.include({ email: account.email, email_verified: true });
    const me = await service.request('GET', '/api/auth/me', { token: registered.body.access_token });
    expect(me.body.user.email_verified).to.equal(true);

    const again = await service.request('POST', '/api/auth/verify-email', { body: { token } });
    expect(again.status).to.equal(400);
    expect(again.body.error.code).to.equal('invalid_verification_token');
    const rows = await query(service.databaseUrl, `SELECT token_hash FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = $1`, [account.email]);
    expect(rows.map((r) => r['token_hash'])).to.not.include(token);
    const events = await query(service.databaseUrl, `SELECT type, ip, request_id FROM security_events WHERE user_id = $1 AND type = 'email_verified'`, [registered.body.user.id]);
    expect(events).to.have.length(1);
    expect(events[0]).to.include({ ip: '127.0.0.1' });
    // The id of the request that verified, as its response echoed it.
    expect(events[0]!['request_id']).to.equal(verified.headers.get('x-request-id'));
  });

  it('shows the address verified on /me when the verification commits while a login is under way', async () => {
    const account = newAccount();
    expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
    const token = linkToken(await smtp.waitFor(account.email, /Verify/));
    // The login has read the account (not yet verified) and checked the password; its session
    // waits here, behind a lock on the sessions table, while the link is followed.
    const sessionsHeld = await holdLock(service.databaseUrl, 'LOCK TABLE sessions IN SHARE MODE');
    const login = service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    try {
      await sessionsHeld.waitUntilBlocking();
      let verifiedStatus: number | undefined;
      const verifying = service.request('POST', '/api/auth/verify-email', { body: { token } }).then((res) => {
        verifiedStatus = res.status;
      });
      // The verification may finish now, or wait for the login's session (when the login holds the user row).
      await eventually('the verification to finish or to wait for the login', async () => (verifiedStatus !== undefined || (await sessionsHeld.waiting()) >= 2 ? true : undefined), 10_000, 20);
      await sessionsHeld.commit();
      await verifying;
      expect(verifiedStatus).to.equal(200);
    } finally {
      await sessionsHeld.close();
    }
    const signedIn = await login;
    expect(signedIn.status).to.equal(200);
    const me = await service.request('GET', '/api/auth/me', { token: signedIn.body.access_token });
    expect(me.body.user.email_verified).to.equal(true);
  });

  it('refuses an expired link', async () => {
    const account = newAccount();
    await service.request('POST', '/api/auth/register', { body: account });
    const token = linkToken(await smtp.waitFor(account.email));
    await query(service.databaseUrl, `UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM users WHERE email = $1)`, [account.email]);
    const res = await service.request('POST', '/api/auth/verify-email', { body: { token } });
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal('invalid_verification_token');
  });

  it('resends a new link (voiding the old one) and answers an unknown address the same way', async () => {
    const account = newAccount();
    await service.request('POST', '/api/auth/register', { body: account });
    const first = linkToken(await smtp.waitFor(account.email));
    const known = await service.request('POST', '/api/auth/resend-verification', { body: { email: account.email } });
    const unknown = await service.request('POST', '/api/auth/resend-verification', { body: { email: `nobody.${Date.now()}@example.com` } });
    expect(known.status).to.equal(202);
    expect(unknown.status).to.equal(202);
    expect(known.body).to.deep.equal(unknown.body);
    const second = await eventually('the second verification message', async () => smtp.to(account.email)[1], 10_000, 25);
    const secondToken = linkToken(second);
    expect(secondToken).to.not.equal(first);
    expect((await service.request('POST', '/api/auth/verify-email', { body: { token: first } })).status).to.equal(400);
    expect((await service.request('POST', '/api/auth/verify-email', { body: { token: secondToken } })).status).to.equal(200);
  });

  it('leaves only the newest link working when several resend requests arrive at once', async () => {
    const account = newAccount();
    const registered = await service.request('POST', '/api/auth/register', { body: account });
    await smtp.waitFor(account.email, /Verify/);
    const requests = 4;
    // Each request waits on the account's row, held here, until all of them are under way.
    const held = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [registered.body.user.id]);
    try {
      const answers = await Promise.all(Array.from({ length: requests }, () => service.request('POST', '/api/auth/resend-verification', { body: { email: account.email } })));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(requests).fill(202));
      await held.waitUntilBlocking(requests);
      await held.commit();
    } finally {
      await held.close();
    }
    // The link mailed at registration, then one per request.
    const mails = await eventually('every verification message', async () => {
      const sent = smtp.to(account.email).filter((m) => /Verify your email address/.test(m.subject));
      return sent.length === 1 + requests ? sent : undefined;
    }, 10_000, 25);
    const [newest] = await query(service.databaseUrl, `SELECT token_hash FROM one_time_tokens WHERE user_id = $1 AND purpose = 'verify_email' ORDER BY id DESC LIMIT 1`, [registered.body.user.id]);
    const tokens = mails.map(linkToken);
    const older = tokens.filter((t) => hashOpaqueToken(t) !== newest!['token_hash']);
    expect(older).to.have.length(requests);
    for (const token of older) {
      const refused = await service.request('POST', '/api/auth/verify-email', { body: { token } });
      expect(`${refused.status} ${refused.body?.error?.code}`).to.equal('400 invalid_verification_token');
    }
    const latest = tokens.find((t) => !older.includes(t));
    expect((await service.request('POST', '/api/auth/verify-email', { body: { token: latest } })).status).to.equal(200);
  });

  it('mails no new link when the address is verified while a resend waits for the account', async () => {
    const account = newAccount();
    const registered = await service.request('POST', '/api/auth/register', { body: account });
    await smtp.waitFor(account.email, /Verify/);
    const links = async (): Promise<number> =>
      (await query(service.databaseUrl, `SELECT count(*)::int AS n FROM one_time_tokens WHERE user_id = $1 AND purpose = 'verify_email'`, [registered.body.user.id]))[0]!['n'] as number;
    // The test's transaction verifies the address and holds the account's row; the resend has read
    // it unverified and waits for the row.
    const held = await holdLock(service.databaseUrl, 'UPDATE users SET email_verified_at = now() WHERE id = $1', [registered.body.user.id]);
    try {
      expect((await service.request('POST', '/api/auth/resend-verification', { body: { email: account.email } })).status).to.equal(202);
      await held.waitUntilBlocking();
      await held.commit();
    } finally {
      await held.close();
    }
    await eventually('the resend done waiting', async () => ((await held.waiting()) === 0 ? true : undefined), 10_000, 20);
    // A new link would be written within milliseconds of the row coming free; give it ample time.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await links(), 'verification links: the one mailed at registration').to.equal(1);
    expect(smtp.to(account.email).filter((m) => /Verify your email address/.test(m.subject))).to.have.length(1);
  });

  it('refuses a link followed while a resend that came first voids it, and the new link works', async () => {
    const account = newAccount();
    const registered = await service.request('POST', '/api/auth/register', { body: account });
    const first = linkToken(await smtp.waitFor(account.email, /Verify/));
    // The resend takes the account's row first, then the link; following the link must take them in
    // the same order, or the two deadlock and one of them fails.
    const held = await holdLock(service.databaseUrl, 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [registered.body.user.id]);
    try {
      expect((await service.request('POST', '/api/auth/resend-verification', { body: { email: account.email } })).status).to.equal(202);
      await held.waitUntilBlocking(1);
      const followed = service.request('POST', '/api/auth/verify-email', { body: { token: first } });
      await held.waitUntilBlocking(2);
      await held.commit();
      const refused = await followed;
      expect(`${refused.status} ${refused.body?.error?.code}`).to.equal('400 invalid_verification_token');
    } finally {
      await held.close();
    }
    const second = linkToken(await eventually('the resent message', async () => smtp.to(account.email)[1], 10_000, 25));
    expect((await service.request('POST', '/api/auth/verify-email', { body: { token: second } })).status).to.equal(200);
  });

  it('answers 400 naming the field for a missing or wrong-typed token', async () => {
    const res = await service.request('POST', '/api/auth/verify-email', { body: { token: 7 } });
    expect(res.status).to.equal(400);
    expect(res.body.error.message).to.equal('token: must be a string.');
  });

  it('says a short-lived link expires in minutes, never "0 hours"', async () => {
    const brief = await startTestService({ SMTP_URL: smtp.url, EMAIL_VERIFICATION_TTL_SECONDS: '60', RATE_LIMIT_REGISTER_PER_MINUTE: '0' });
    try {
      const account = newAccount();
      expect((await brief.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
      const mail = await smtp.waitFor(account.email, /Verify your email address/);
      expect(mail.text).to.contain('expires in 1 minute.');
    } finally {
      await brief.stop();
    }
  });

  describe('with REQUIRE_EMAIL_VERIFICATION=true', () => {
    let strict: TestService;
    before(async () => {
      strict = await startTestService({ SMTP_URL: smtp.url, REQUIRE_EMAIL_VERIFICATION: 'true', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
    });
    after(async () => strict.stop());

    it('answers a new and a taken address identically, and mails the owner of the taken one', async () => {
      const existing = newAccount();
      const first = await strict.request('POST', '/api/auth/register', { body: existing });
      expect(first.status).to.equal(202);
      await smtp.waitFor(existing.email, /Verify/);

      const fresh = await strict.request('POST', '/api/auth/register', { body: newAccount() });
      const taken = await strict.request('POST', '/api/auth/register', { body: { ...existing, password: 'another long passphrase' } });
      expect(fresh.status).to.equal(taken.status);
      expect(Object.keys(fresh.body)).to.deep.equal(Object.keys(taken.body));
      expect(taken.body).to.deep.equal({ verification_required: true, email: existing.email });
      expect(fresh.body).to.not.have.property('access_token');
      const notice = await smtp.waitFor(existing.email, /Someone tried to register/);
      expect(notice.text).to.contain('No new account was created');
      const rows = await query(strict.databaseUrl, 'SELECT count(*)::int AS n FROM users WHERE email = $1', [existing.email]);
      expect(rows[0]!['n']).to.equal(1);
    });

    it('refuses login with email_not_verified only after the right password, and lets it in once verified', async () => {
      const account = newAccount();
      await strict.request('POST', '/api/auth/register', { body: account });
      const wrong = await strict.request('POST', '/api/auth/login', { body: { email: account.email, password: 'wrong password 1' } });
      expect(wrong.status).to.equal(401);
      expect(wrong.body.error.code).to.equal('invalid_credentials');
      const right = await strict.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      expect(right.status).to.equal(403);
      expect(right.body.error.code).to.equal('email_not_verified');
      const token = linkToken(await smtp.waitFor(account.email, /Verify/));
      expect((await strict.request('POST', '/api/auth/verify-email', { body: { token } })).status).to.equal(200);
      const after = await strict.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      expect(after.status).to.equal(200);
      expect(after.body.user.email_verified).to.equal(true);
    });
  });
});
