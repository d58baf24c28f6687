import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { totpKid } from '../../../service/mfa/encryption-keys.js';
import { newRecoveryCodes, recoveryCodeHashes } from '../../../service/mfa/recovery-codes.js';
import { newTotpSecret, totp } from '../../../service/mfa/totp.js';
import { query } from '../../support/db.js';
import { createTestDatabase } from '../../support/postgres.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { spawnCli } from '../resilience/cli-process.js';

type Account = ReturnType<typeof newAccount>;

interface Enrolled {
  account: Account;
  userId: string;
  secret: string;
}

const newKey = (): Buffer => randomBytes(32);
const base64 = (key: Buffer): string => key.toString('base64');
const limitsOff = { RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0' };

describe('TOTP secrets encrypted at rest, against PostgreSQL', () => {
  // Every service a test starts, stopped after it; services of one test share its database.
  const running: TestService[] = [];
  let databaseUrl: string;
  beforeEach(async () => {
    databaseUrl = await createTestDatabase('totp');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });

  const start = async (env: Record<string, string>): Promise<TestService> => {
    const service = await startTestService({ ...limitsOff, ...env, DATABASE_URL: databaseUrl });
    running.push(service);
    return service;
  };
  const stop = async (service: TestService): Promise<void> => {
    running.splice(running.indexOf(service), 1);
    await service.stop();
  };

  const storedSecret = async (userId: string): Promise<string> =>
    (await query<{ secret: string }>(databaseUrl, 'SELECT secret FROM totp_factors WHERE user_id = $1', [userId]))[0]!.secret;

  const register = async (service: TestService): Promise<{ account: Account; userId: string; accessToken: string }> => {
    const account = newAccount();
    const res = await service.request('POST', '/api/auth/register', { body: account });
    expect(res.status).to.equal(201);
    // The address proven, as the mailed link does: a second factor goes only on such an account.
    await query(databaseUrl, 'UPDATE users SET email_verified_at = now() WHERE id = $1', [res.body.user.id]);
    return { account, userId: res.body.user.id, accessToken: res.body.access_token };
  };

  const enroll = async (service: TestService): Promise<Enrolled> => {
    const { account, userId, accessToken } = await register(service);
    const enrolled = await service.request('POST', '/api/auth/mfa/totp/enroll', { token: accessToken });
    expect(enrolled.status).to.equal(200);
    const { secret } = enrolled.body as { secret: string };
    const confirmed = await service.request('POST', '/api/auth/mfa/totp/confirm', { token: accessToken, body: { code: totp(secret, Date.now()), password: account.password } });
    expect(confirmed.status).to.equal(200);
    return { account, userId, secret };
  };

  /** The password step, then `code` (by default the secret's current code, made usable again first). */
  const signIn = async (service: TestService, who: Enrolled, code?: string): Promise<{ status: number; body: { error?: { code: string; message: string } } }> => {
    // Each code works once per 30 s step; forgetting the used step lets a test sign in several times.
    await query(databaseUrl, 'UPDATE totp_factors SET last_used_step = NULL WHERE user_id = $1', [who.userId]);
    const login = await service.request('POST', '/api/auth/login', { body: { email: who.account.email, password: who.account.password } });
    expect(login.status, 'password step').to.equal(200);
    expect(login.body.mfa_required).to.equal(true);
    return service.request('POST', '/api/auth/mfa/verify', { body: { mfa_token: login.body.mfa_token, code: code ?? totp(who.secret, Date.now()) } });
  };

  const failedAttempts = async (userId: string): Promise<number> =>
    (await query<{ n: number }>(databaseUrl, `SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND type = 'mfa_failed'`, [userId]))[0]!.n;

  it('never stores the secret: the column holds v1.<kid>.<iv>.<ciphertext>, and enroll, confirm and sign-in work', async () => {
    const key = newKey();
    const service = await start({ TOTP_ENCRYPTION_KEY: base64(key) });
    const { account, userId, accessToken } = await register(service);
    const { secret } = (await service.request('POST', '/api/auth/mfa/totp/enroll', { token: accessToken })).body as { secret: string };
    const pending = await storedSecret(userId);
    expect(pending).to.match(new RegExp(`^v1\\.${totpKid(key)}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`));
    expect(pending).to.not.contain(secret);
    expect(pending.toLowerCase()).to.not.contain(secret.toLowerCase());

    const confirmed = await service.request('POST', '/api/auth/mfa/totp/confirm', { token: accessToken, body: { code: totp(secret, Date.now()), password: account.password } });
    expect(confirmed.status).to.equal(200);
    const who = { account, userId, secret };
    expect((await signIn(service, who)).status).to.equal(200);
    const rows = await query(databaseUrl, 'SELECT * FROM totp_factors WHERE user_id = $1', [userId]);
    expect(JSON.stringify(rows)).to.not.contain(secret);
    expect(JSON.stringify(service.logs)).to.not.contain(secret);
  });

  it('rotates: the new key re-encrypts every secret under the previous one at start-up, and one written later under it at its next use', async () => {
    const [oldKey, newerKey] = [newKey(), newKey()];
    const under = (key: Buffer): RegExp => new RegExp(`^v1\\.${totpKid(key)}\\.`);
    const previousStep = await start({ TOTP_ENCRYPTION_KEY: base64(oldKey) });
    const [first, second] = [await enroll(previousStep), await enroll(previousStep)];

    const rotating = await start({ TOTP_ENCRYPTION_KEY: base64(newerKey), TOTP_PREVIOUS_ENCRYPTION_KEYS: base64(oldKey) });
    const report = rotating.logs.find((l) => String(l['message']).startsWith('TOTP secrets:'));
    expect(report).to.include({ converted: 0, rekeyed: 2, encryption_kid: totpKid(newerKey) });
    expect(report?.['factors_by_kid']).to.deep.equal({ [totpKid(newerKey)]: 2 });
    expect(rotating.logs.some((l) => l['level'] === 'warn' && String(l['message']).includes('previous key'))).to.equal(false);
    for (const who of [first, second]) expect(await storedSecret(who.userId)).to.match(under(newerKey));

    // A pod of the previous step, still serving during the flip, enrolls someone under the old key.
    const late = await enroll(previousStep);
    expect(await storedSecret(late.userId)).to.match(under(oldKey));
    expect((await signIn(rotating, late)).status).to.equal(200);
    expect(await storedSecret(late.userId)).to.match(under(newerKey));
    await Promise.all([stop(previousStep), stop(rotating)]);

    const retired = await start({ TOTP_ENCRYPTION_KEY: base64(newerKey) });
    expect(retired.logs.some((l) => l['level'] !== 'info' && String(l['message']).includes('previous key'))).to.equal(false);
    for (const who of [first, second, late]) expect((await signIn(retired, who)).status).to.equal(200);
  });

  it('refuses a secret copied into another user\'s row: 503 mfa_unavailable, logged, never a sign-in and never "wrong code"', async () => {
    const service = await start({ TOTP_ENCRYPTION_KEY: base64(newKey()) });
    const [attacker, victim] = [await enroll(service), await enroll(service)];
    await query(databaseUrl, 'UPDATE totp_factors SET secret = (SELECT secret FROM totp_factors WHERE user_id = $1) WHERE user_id = $2', [attacker.userId, victim.userId]);

    const res = await signIn(service, victim, totp(attacker.secret, Date.now()));
    expect(res.status).to.equal(503);
    expect(res.body.error?.code).to.equal('mfa_unavailable');
    expect(res.body.error?.message).to.contain('TOTP_ENCRYPTION_KEY');
    expect(JSON.stringify(res.body)).to.not.contain('stack');
    const logged = service.logs.find((l) => l['level'] === 'error' && l['code'] === 'mfa_unavailable');
    expect(JSON.stringify(logged)).to.contain(`the TOTP secret of user ${victim.userId} does not decrypt`).and.to.contain('copied from another user');
    expect(await failedAttempts(victim.userId)).to.equal(0);
  });

  it('answers 503 mfa_unavailable, with a logged error naming the key, when no configured key decrypts a secret', async () => {
    const [lostKey, otherKey] = [newKey(), newKey()];
    const before = await start({ TOTP_ENCRYPTION_KEY: base64(lostKey) });
    const who = await enroll(before);
    const pending = await register(before);
    expect((await before.request('POST', '/api/auth/mfa/totp/enroll', { token: pending.accessToken })).status).to.equal(200);
    await stop(before);

    const service = await start({ TOTP_ENCRYPTION_KEY: base64(otherKey) });
    const startupError = service.logs.find((l) => l['level'] === 'error');
    expect(startupError?.['message']).to.contain(`2 TOTP secret(s) are encrypted with key(s) ${totpKid(lostKey)}, which neither TOTP_ENCRYPTION_KEY nor TOTP_PREVIOUS_ENCRYPTION_KEYS holds`);

    for (const code of [totp(who.secret, Date.now()), '000000']) {
      const res = await signIn(service, who, code);
      expect(res.status, code).to.equal(503);
      expect(res.body.error?.code).to.equal('mfa_unavailable');
    }
    expect(await failedAttempts(who.userId)).to.equal(0);
    const logged = service.logs.find((l) => l['code'] === 'mfa_unavailable');
    expect(JSON.stringify(logged)).to.contain(`was encrypted with key ${totpKid(lostKey)}`).and.to.contain('add the key that encrypted it to TOTP_PREVIOUS_ENCRYPTION_KEYS');

    const confirm = await service.request('POST', '/api/auth/mfa/totp/confirm', { token: pending.accessToken, body: { code: '123456', password: pending.account.password } });
    expect(confirm.status).to.equal(503);
    expect(confirm.body.error.code).to.equal('mfa_unavailable');
  });

  it('encrypts secrets stored in plaintext before this version once, at start-up, and they keep working', async () => {
    const first = await start({ TOTP_ENCRYPTION_KEY: base64(newKey()) });
    const legacy: Enrolled[] = [];
    for (let i = 0; i < 3; i++) {
      const { account, userId } = await register(first);
      const secret = newTotpSecret();
      // What the previous version wrote: the base32 secret itself.
      await query(databaseUrl, 'INSERT INTO totp_factors (user_id, secret, confirmed_at) VALUES ($1, $2, now())', [userId, secret]);
      legacy.push({ account, userId, secret });
    }
    await stop(first);

    const key = newKey();
    const upgraded = await start({ TOTP_ENCRYPTION_KEY: base64(key) });
    const report = upgraded.logs.find((l) => String(l['message']).startsWith('TOTP secrets: encrypted'));
    expect(report).to.include({ level: 'info', converted: 3, encryption_kid: totpKid(key) });
    for (const who of legacy) {
      const stored = await storedSecret(who.userId);
      expect(stored).to.match(new RegExp(`^v1\\.${totpKid(key)}\\.`));
      expect(stored).to.not.contain(who.secret);
    }
    expect((await signIn(upgraded, legacy[0]!)).status).to.equal(200);
    await stop(upgraded);

    // Idempotent: a restart finds nothing left to convert.
    const again = await start({ TOTP_ENCRYPTION_KEY: base64(key) });
    expect(again.logs.find((l) => String(l['message']).startsWith('TOTP secrets: encrypted'))).to.include({ converted: 0 });
    expect((await signIn(again, legacy[1]!)).status).to.equal(200);
  });

  it('accepts a plaintext secret written after start-up (an older replica during a rollout) and encrypts it at its first use', async () => {
    const key = newKey();
    const service = await start({ TOTP_ENCRYPTION_KEY: base64(key) });
    const { account, userId } = await register(service);
    const secret = newTotpSecret();
    await query(databaseUrl, 'INSERT INTO totp_factors (user_id, secret, confirmed_at) VALUES ($1, $2, now())', [userId, secret]);
    expect((await signIn(service, { account, userId, secret })).status).to.equal(200);
    expect(await storedSecret(userId)).to.match(new RegExp(`^v1\\.${totpKid(key)}\\.`));
  });

  it('encrypts such a secret at a sign-in with a recovery code too', async () => {
    const key = newKey();
    const service = await start({ TOTP_ENCRYPTION_KEY: base64(key) });
    const { account, userId } = await register(service);
    const secret = newTotpSecret();
    const [code] = newRecoveryCodes(1);
    await query(databaseUrl, 'INSERT INTO totp_factors (user_id, secret, confirmed_at) VALUES ($1, $2, now())', [userId, secret]);
    await query(databaseUrl, 'INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)', [userId, recoveryCodeHashes([code!])[0]]);
    expect((await signIn(service, { account, userId, secret }, code)).status).to.equal(200);
    expect(await storedSecret(userId)).to.match(new RegExp(`^v1\\.${totpKid(key)}\\.`));
  });

  describe('NODE_ENV=production without TOTP_ENCRYPTION_KEY', () => {
    const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

    it('starts, warns once, serves accounts without a second factor, and answers 503 mfa_unavailable to enroll and verify', async () => {
      const before = await start({ TOTP_ENCRYPTION_KEY: base64(newKey()) });
      const who = await enroll(before);
      await stop(before);

      const service = await start({ NODE_ENV: 'production', JWT_SIGNING_KEY: signingKey });
      expect(service.logs.filter((l) => String(l['message']).includes('TOTP_ENCRYPTION_KEY is not set'))).to.have.length(1);

      const plain = await register(service);
      const login = await service.request('POST', '/api/auth/login', { body: { email: plain.account.email, password: plain.account.password } });
      expect(login.status).to.equal(200);
      expect(login.body).to.have.property('access_token');

      const enrolling = await service.request('POST', '/api/auth/mfa/totp/enroll', { token: plain.accessToken });
      expect(enrolling.status).to.equal(503);
      expect(enrolling.body.error.code).to.equal('mfa_unavailable');
      expect(enrolling.body.error.message).to.contain('TOTP_ENCRYPTION_KEY');
      expect(await query(databaseUrl, 'SELECT 1 FROM totp_factors WHERE user_id = $1', [plain.userId])).to.deep.equal([]);

      const verify = await signIn(service, who);
      expect(verify.status).to.equal(503);
      expect(verify.body.error?.code).to.equal('mfa_unavailable');
      expect(await failedAttempts(who.userId)).to.equal(0);
      expect(service.logs.filter((l) => String(l['message']).includes('TOTP_ENCRYPTION_KEY is not set'))).to.have.length(1);
    });

    it('still signs in a user whose secret an earlier version stored in plaintext, rather than lock them out', async () => {
      const service = await start({ NODE_ENV: 'production', JWT_SIGNING_KEY: signingKey });
      const { account, userId } = await register(service);
      const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
      await query(databaseUrl, 'INSERT INTO totp_factors (user_id, secret, confirmed_at) VALUES ($1, $2, now())', [userId, secret]);
      expect((await signIn(service, { account, userId, secret })).status).to.equal(200);
      // Nothing to encrypt it with: it stays as it was, and the next start with a key seals it.
      expect(await storedSecret(userId)).to.equal(secret);
    });
  });

  describe('an invalid TOTP_ENCRYPTION_KEY', function () {
    this.timeout(60_000);

    for (const [what, value] of [['of the wrong length', randomBytes(16).toString('base64')], ['that is not base64', 'my totp passphrase!']] as const) {
      it(`stops start-up naming the variable: one ${what}`, async () => {
        const cli = spawnCli({ TOTP_ENCRYPTION_KEY: value, DATABASE_URL: databaseUrl, PORT: '0' });
        const timer = setTimeout(() => void cli.stop(1_000), 45_000);
        const exit = await cli.exited;
        clearTimeout(timer);
        expect(exit.code).to.equal(78);
        expect(cli.stderr()).to.contain('invalid configuration: TOTP_ENCRYPTION_KEY');
        expect(cli.stderr() + cli.stdout.join('\n')).to.not.contain(value);
      });
    }
  });
});
