import { expect } from 'chai';
import { totp } from '../../../service/mfa/totp.js';
import { query } from '../../support/db.js';
import { newAccount, serviceWithSmtp } from '../../support/service.js';

describe('TOTP second factor: /api/auth/mfa/*', () => {
  const mailing = serviceWithSmtp({ LOCKOUT_THRESHOLD: '3', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0', RATE_LIMIT_RECOVERY_PER_MINUTE: '0' });

  interface Enrolled {
    account: ReturnType<typeof newAccount>;
    userId: string;
    accessToken: string;
    secret: string;
    recoveryCodes: string[];
  }

  /** Registers, enrolls and confirms with the code of the current step; the next login uses the next step's code. */
  /** Follows the verification link mailed at registration. */
  const followVerificationLink = async (email: string): Promise<void> => {
    const mail = await mailing.smtp.waitFor(email, /verify-email\?token=/);
    const token = /verify-email\?token=([\w-]+)/.exec(mail.text)![1];
    expect((await mailing.service.request('POST', '/api/auth/verify-email', { body: { token } })).status).to.equal(200);
  };

  const enrolled = async (): Promise<Enrolled> => {
    const account = newAccount();
    const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    await followVerificationLink(account.email);
    const enroll = await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token });
    expect(enroll.status).to.equal(200);
    const confirm = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: totp(enroll.body.secret, Date.now()), password: account.password } });
    expect(confirm.status).to.equal(200);
    return { account, userId: registered.user.id, accessToken: registered.access_token, secret: enroll.body.secret, recoveryCodes: confirm.body.recovery_codes };
  };

  const passwordStep = async (account: ReturnType<typeof newAccount>): Promise<string> => {
    const res = await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    expect(res.status).to.equal(200);
    expect(res.body).to.have.all.keys('mfa_required', 'mfa_token', 'expires_in');
    expect(res.body).to.include({ mfa_required: true, expires_in: 300 });
    return res.body.mfa_token;
  };

  it('puts a factor only on a proven address: 403 email_not_verified before the mailed link is followed, enrollment after', async () => {
    // Anyone can register a stranger's address; a factor of theirs on it would outlive the owner's
    // password reset and ask the owner for a code only the squatter has.
    const account = newAccount();
    const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    const early = await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token });
    expect(early.status).to.equal(403);
    expect(early.body.error.code).to.equal('email_not_verified');
    const confirm = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: '000000', password: account.password } });
    expect(`${confirm.status} ${confirm.body.error.code}`).to.equal('403 email_not_verified');

    await followVerificationLink(account.email);
    expect((await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token })).status).to.equal(200);
  });

  it('enrolls: a base32 secret and the otpauth:// URI for it; the factor is off until confirmed', async () => {
    const account = newAccount();
    const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    await followVerificationLink(account.email);
    const res = await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token });
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.body.secret).to.match(/^[A-Z2-7]{32}$/);
    const uri = new URL(res.body.otpauth_uri);
    expect(uri.protocol + uri.host).to.equal('otpauth:totp');
    expect(uri.searchParams.get('secret')).to.equal(res.body.secret);
    expect(decodeURIComponent(uri.pathname)).to.equal(`/keyward:${account.email}`);
    // Not confirmed: a login is still password-only.
    const login = await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    expect(login.body).to.have.property('access_token');
  });

  it('confirms with a code and the password: ten recovery codes, stored only hashed; a wrong code or password is refused', async () => {
    const account = newAccount();
    const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
    await followVerificationLink(account.email);
    const { secret } = (await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token })).body;
    const wrongCode = String((Number(totp(secret, Date.now())) + 1) % 1_000_000).padStart(6, '0');
    const wrong = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: wrongCode, password: account.password } });
    expect(wrong.status).to.equal(401);
    expect(wrong.body.error.code).to.equal('invalid_mfa_code');

    // An access token alone (a stolen one) cannot put a factor of its own on the account.
    const noPassword = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: totp(secret, Date.now()) } });
    expect(noPassword.status).to.equal(400);
    const wrongPassword = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: totp(secret, Date.now()), password: 'not the password' } });
    expect(wrongPassword.status).to.equal(403);
    expect(wrongPassword.body.error.code).to.equal('invalid_password');
    expect(await query(mailing.service.databaseUrl, 'SELECT 1 FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL', [registered.user.id])).to.deep.equal([]);

    const res = await mailing.service.request('POST', '/api/auth/mfa/totp/confirm', { token: registered.access_token, body: { code: totp(secret, Date.now()), password: account.password } });
    expect(res.status).to.equal(200);
    expect(res.body.recovery_codes).to.have.length(10);
    const stored = await query(mailing.service.databaseUrl, 'SELECT code_hash FROM recovery_codes WHERE user_id = $1', [registered.user.id]);
    expect(stored).to.have.length(10);
    for (const code of res.body.recovery_codes) expect(JSON.stringify(stored)).to.not.contain(code.replace(/-/g, ''));
    const notice = await mailing.smtp.waitFor(account.email, /Your second factor changed/);
    expect(notice.text).to.contain('turned on');

    const again = await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal('mfa_already_enabled');
  });

  it('turns a password login into {mfa_required, mfa_token}; the code completes it, once per period', async () => {
    const { account, secret } = await enrolled();
    const mfaToken = await passwordStep(account);
    // The confirmation used this step's code; the next step's is within the allowed drift.
    const code = totp(secret, Date.now() + 30_000);
    const res = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code } });
    expect(res.status).to.equal(200);
    expect(res.body).to.include.keys('access_token', 'refresh_token', 'user');
    expect((await mailing.service.request('GET', '/api/auth/me', { token: res.body.access_token })).status).to.equal(200);

    // The mfa_token is used up, and the same code in a new login is a replay.
    const reused = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code } });
    expect(reused.status).to.equal(401);
    expect(reused.body.error.code).to.equal('invalid_mfa_token');
    const replay = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: await passwordStep(account), code } });
    expect(replay.status).to.equal(401);
    expect(replay.body.error.code).to.equal('invalid_mfa_code');
  });

  it('accepts each recovery code once, and tells the owner how many remain', async () => {
    const { account, recoveryCodes } = await enrolled();
    const code = recoveryCodes[0]!.toUpperCase();
    const first = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: await passwordStep(account), code } });
    expect(first.status).to.equal(200);
    const second = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: await passwordStep(account), code } });
    expect(second.status).to.equal(401);
    expect(second.body.error.code).to.equal('invalid_mfa_code');
    const notice = await mailing.smtp.waitFor(account.email, /recovery code was used/);
    expect(notice.text).to.contain('9 remain');
  });

  it('counts wrong codes toward the lockout: after it even the right code is refused', async () => {
    const { account, secret, userId } = await enrolled();
    // Threshold 3: three wrong codes (the right password before them is no attempt).
    const mfaToken = await passwordStep(account);
    for (const code of ['000000', '111111', '222222']) {
      const res = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code } });
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('invalid_mfa_code');
    }
    const right = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code: totp(secret, Date.now() + 30_000) } });
    expect(right.status).to.equal(401);
    expect(right.body.error.code).to.equal('invalid_mfa_code');
    const events = await query(mailing.service.databaseUrl, `SELECT type, details->>'reason' AS reason FROM security_events WHERE user_id = $1 AND type IN ('mfa_failed', 'account_locked') ORDER BY id`, [userId]);
    expect(events.map((e) => `${e['type']}:${e['reason'] ?? ''}`)).to.deep.equal(['mfa_failed:wrong_code', 'mfa_failed:wrong_code', 'mfa_failed:wrong_code', 'account_locked:', 'mfa_failed:locked']);
  });

  it('counts the right password as no attempt: wrong passwords from anyone cannot keep the owner out of the code step', async () => {
    const { account, secret } = await enrolled();
    // Threshold 3: two wrong passwords (anyone can send them), then the owner's right one, which
    // took the last attempt and, kept, left every code refused for the 15-minute window.
    for (let i = 0; i < 2; i++) {
      const wrong = await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: 'not-the-password-1' } });
      expect(wrong.status).to.equal(401);
    }
    const res = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: await passwordStep(account), code: totp(secret, Date.now() + 30_000) } });
    expect(res.status).to.equal(200);
    expect(res.body).to.include.keys('access_token', 'refresh_token');
  });

  it('lets challenges be abandoned: a login left at the code step is no failure', async () => {
    const { account, secret } = await enrolled();
    for (let i = 0; i < 4; i++) await passwordStep(account);
    const res = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: await passwordStep(account), code: totp(secret, Date.now() + 30_000) } });
    expect(res.status).to.equal(200);
  });

  it('refuses an unknown or expired mfa_token', async () => {
    const garbage = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: 'x'.repeat(43), code: '123456' } });
    expect(garbage.status).to.equal(401);
    expect(garbage.body.error.code).to.equal('invalid_mfa_token');
    const { account, secret, userId } = await enrolled();
    const mfaToken = await passwordStep(account);
    await query(mailing.service.databaseUrl, `UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'mfa_login'`, [userId]);
    const expired = await mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code: totp(secret, Date.now() + 30_000) } });
    expect(expired.body.error.code).to.equal('invalid_mfa_token');
  });

  it('disables only with the password; logins are then password-only again and the owner is told', async () => {
    const { account, accessToken, userId } = await enrolled();
    const wrong = await mailing.service.request('POST', '/api/auth/mfa/totp/disable', { token: accessToken, body: { password: 'not my password' } });
    expect(wrong.status).to.equal(403);
    expect(wrong.body.error.code).to.equal('invalid_password');
    const res = await mailing.service.request('POST', '/api/auth/mfa/totp/disable', { token: accessToken, body: { password: account.password } });
    expect(res.status).to.equal(204);
    const login = await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
    expect(login.body).to.have.property('access_token');
    const notice = await mailing.smtp.waitFor(account.email, /Two-step verification was turned off/);
    expect(notice.subject).to.equal('Your second factor changed');
    const rows = await query(mailing.service.databaseUrl, 'SELECT (SELECT count(*)::int FROM totp_factors WHERE user_id = $1) AS factors, (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1) AS codes', [userId]);
    expect(rows[0]).to.deep.equal({ factors: 0, codes: 0 });
    const again = await mailing.service.request('POST', '/api/auth/mfa/totp/disable', { token: accessToken, body: { password: account.password } });
    expect(again.body.error.code).to.equal('mfa_not_enabled');
  });

  describe('POST /api/auth/mfa/recovery-codes', () => {
    const regenerate = (accessToken: string | undefined, code: string) =>
      mailing.service.request('POST', '/api/auth/mfa/recovery-codes', { token: accessToken, body: { code } });
    const storedHashes = async (userId: string): Promise<string[]> =>
      (await query<{ code_hash: string }>(mailing.service.databaseUrl, 'SELECT code_hash FROM recovery_codes WHERE user_id = $1 ORDER BY code_hash', [userId])).map((r) => r.code_hash);

    it('replaces every recovery code with ten new ones for a current TOTP code, audits it and tells the owner', async () => {
      const { account, userId, accessToken, secret, recoveryCodes } = await enrolled();
      const before = await storedHashes(userId);
      // The confirmation used this step's code; the next step's is within the allowed drift.
      const code = totp(secret, Date.now() + 30_000);
      const res = await regenerate(accessToken, code);
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(res.body).to.have.all.keys('recovery_codes');
      expect(res.body.recovery_codes).to.have.length(10);
      for (const fresh of res.body.recovery_codes) expect(fresh).to.match(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
      expect(res.body.recovery_codes).to.not.include.members(recoveryCodes);

      const after = await storedHashes(userId);
      expect(after).to.have.length(10);
      expect(after.filter((h) => before.includes(h))).to.deep.equal([]);
      const events = await query(mailing.service.databaseUrl, `SELECT details FROM security_events WHERE user_id = $1 AND type = 'recovery_codes_regenerated'`, [userId]);
      expect(events.map((e) => e['details'])).to.deep.equal([{ count: 10 }]);
      const notice = await mailing.smtp.waitFor(account.email, /New recovery codes/);
      expect(notice.subject).to.equal('Your second factor changed');
      for (const fresh of res.body.recovery_codes) expect(notice.text + JSON.stringify(events)).to.not.contain(fresh);

      // The code is used up, as at sign-in.
      const replay = await regenerate(accessToken, code);
      expect(replay.status).to.equal(401);
      expect(replay.body.error.code).to.equal('invalid_mfa_code');
    });

    it('makes the old codes stop working and the new ones work, each once', async () => {
      const { account, accessToken, secret, recoveryCodes } = await enrolled();
      const fresh = (await regenerate(accessToken, totp(secret, Date.now() + 30_000))).body.recovery_codes as string[];
      // One mfa_token takes several tries (a typo does not mean starting over); the lockout threshold is 3.
      const verify = (mfaToken: string, code: string) => mailing.service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: mfaToken, code } });

      const first = await passwordStep(account);
      const old = await verify(first, recoveryCodes[1]!);
      expect(old.status).to.equal(401);
      expect(old.body.error.code).to.equal('invalid_mfa_code');
      expect((await verify(first, fresh[0]!)).status).to.equal(200);

      const second = await passwordStep(account);
      const again = await verify(second, fresh[0]!);
      expect(again.status).to.equal(401);
      expect(again.body.error.code).to.equal('invalid_mfa_code');
      expect((await verify(second, fresh[1]!)).status).to.equal(200);
    });

    it('refuses a wrong code, or a recovery code, with invalid_mfa_code, counting toward the lockout; nothing is replaced', async () => {
      const { account, userId, accessToken, secret, recoveryCodes } = await enrolled();
      const before = await storedHashes(userId);
      // Threshold 3: a recovery code and two wrong TOTP codes lock the account.
      for (const code of [recoveryCodes[0]!, '000000', '111111']) {
        const res = await regenerate(accessToken, code);
        expect(res.status, code).to.equal(401);
        expect(res.body.error.code).to.equal('invalid_mfa_code');
      }
      const right = await regenerate(accessToken, totp(secret, Date.now() + 30_000));
      expect(right.status).to.equal(401);
      expect(right.body.error.code).to.equal('invalid_mfa_code');
      expect((await mailing.service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } })).status).to.equal(401);

      expect(await storedHashes(userId)).to.deep.equal(before);
      const events = await query(
        mailing.service.databaseUrl,
        `SELECT type, details->>'reason' AS reason, details->>'during' AS during FROM security_events WHERE user_id = $1 AND type IN ('mfa_failed', 'account_locked') ORDER BY id`,
        [userId],
      );
      expect(events.map((e) => `${e['type']}:${e['reason'] ?? ''}:${e['during'] ?? ''}`)).to.deep.equal([
        'mfa_failed:wrong_code:recovery_codes', 'mfa_failed:wrong_code:recovery_codes', 'mfa_failed:wrong_code:recovery_codes',
        'account_locked::', 'mfa_failed:locked:recovery_codes',
      ]);
    });

    it('answers 409 mfa_not_enabled without a confirmed factor, pending or none', async () => {
      const account = newAccount();
      const registered = (await mailing.service.request('POST', '/api/auth/register', { body: account })).body;
      await followVerificationLink(account.email);
      const none = await regenerate(registered.access_token, '123456');
      expect(none.status).to.equal(409);
      expect(none.body.error.code).to.equal('mfa_not_enabled');
      await mailing.service.request('POST', '/api/auth/mfa/totp/enroll', { token: registered.access_token });
      const pending = await regenerate(registered.access_token, '123456');
      expect(pending.status).to.equal(409);
      expect(pending.body.error.code).to.equal('mfa_not_enabled');
    });

    it('needs an access token', async () => {
      const res = await regenerate(undefined, '123456');
      expect(res.status).to.equal(401);
      expect(res.body.error.code).to.equal('missing_token');
    });
  });

  it('audits every change (on, new recovery codes, off), and never logs the secret or a recovery code', async () => {
    const from = mailing.service.logs.length;
    const { account, userId, accessToken, secret, recoveryCodes } = await enrolled();
    // The confirmation used this step's code; new codes take the next step's.
    const regenerated = await mailing.service.request('POST', '/api/auth/mfa/recovery-codes', { token: accessToken, body: { code: totp(secret, Date.now() + 30_000) } });
    expect(regenerated.status).to.equal(200);
    const disabled = await mailing.service.request('POST', '/api/auth/mfa/totp/disable', { token: accessToken, body: { password: account.password } });
    expect(disabled.status).to.equal(204);
    const types = (await query(mailing.service.databaseUrl, `SELECT type FROM security_events WHERE user_id = $1 AND type LIKE 'mfa%' OR user_id = $1 AND type = 'recovery_codes_regenerated' ORDER BY id`, [userId])).map((r) => r['type']);
    expect(types).to.deep.equal(['mfa_enrollment_started', 'mfa_enabled', 'recovery_codes_regenerated', 'mfa_disabled']);
    const written = JSON.stringify(mailing.service.logs.slice(from));
    expect(written).to.not.contain(secret);
    for (const code of [...recoveryCodes, ...(regenerated.body.recovery_codes as string[])]) expect(written).to.not.contain(code);
  });
});
