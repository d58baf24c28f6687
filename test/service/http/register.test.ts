import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { query } from '../../support/db.js';
import { eventually } from '../../support/eventually.js';
import { newAccount, serviceWithSmtp, startTestService, type TestService } from '../../support/service.js';

describe('POST /api/auth/register', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService();
  });
  after(async () => service.stop());

  it('creates the account and answers 201 with the user and a token pair', async () => {
    const account = newAccount({ email: '  Grace.Hopper@Example.COM ' });
    const res = await service.request('POST', '/api/auth/register', { body: account });
    expect(res.status).to.equal(201);
    expect(res.body.user).to.include({ email: 'grace.hopper@example.com', first_name: 'Ada', last_name: 'Lovelace', email_verified: false });
    expect(res.body.user).to.not.have.any.keys('password', 'password_hash');
    expect(res.body).to.include({ token_type: 'Bearer', expires_in: 900 });
    expect(res.body.access_token).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // 256 bits of randomness, base64url: 43 characters.
    expect(res.body.refresh_token).to.have.length(43);

    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    const { rows } = await client.query('SELECT email, password_hash FROM users WHERE id = $1', [res.body.user.id]);
    const tokens = await client.query('SELECT token_hash FROM refresh_tokens');
    await client.end();
    expect(rows[0].email).to.equal('grace.hopper@example.com');
    expect(rows[0].password_hash).to.match(/^\$2b\$04\$/);
    expect(tokens.rows.map((r) => r.token_hash)).to.not.include(res.body.refresh_token);
  });

  it('answers 409 email_taken for an address that is already registered, whatever its case', async () => {
    const account = newAccount();
    expect((await service.request('POST', '/api/auth/register', { body: account })).status).to.equal(201);
    const res = await service.request('POST', '/api/auth/register', { body: { ...account, email: account.email.toUpperCase() } });
    expect(res.status).to.equal(409);
    expect(res.body.error.code).to.equal('email_taken');
  });

  it('refuses an invalid email address with 400 invalid_email', async () => {
    const res = await service.request('POST', '/api/auth/register', { body: newAccount({ email: 'not-an-address' }) });
    expect(res.status).to.equal(400);
    expect(res.body.error).to.include({ code: 'invalid_email' });
    expect(res.body.error.message).to.match(/^email:/);
  });

  it('refuses passwords under 8 or over 72 UTF-8 bytes, and common ones', async () => {
    const short = await service.request('POST', '/api/auth/register', { body: newAccount({ password: 'abc1234' }) });
    expect(short.body.error.code).to.equal('password_too_short');
    // 24 three-byte characters are 72 bytes: accepted; one more ASCII byte is 73: refused, never truncated.
    const exactly72 = await service.request('POST', '/api/auth/register', { body: newAccount({ password: '€'.repeat(24) }) });
    expect(exactly72.status).to.equal(201);
    const long = await service.request('POST', '/api/auth/register', { body: newAccount({ password: `${'€'.repeat(24)}x` }) });
    expect(long.status).to.equal(400);
    expect(long.body.error.code).to.equal('password_too_long');
    const common = await service.request('POST', '/api/auth/register', { body: newAccount({ password: 'password123' }) });
    expect(common.body.error.code).to.equal('password_too_common');
  });

  it('answers 400 naming the field for wrong types, missing and unknown fields', async () => {
    const wrongType = await service.request('POST', '/api/auth/register', { body: { ...newAccount(), first_name: 42 } });
    expect(wrongType.status).to.equal(400);
    expect(wrongType.body.error.message).to.equal('first_name: must be a string.');
    expect(wrongType.body.error.details).to.deep.equal({ field: 'first_name' });

    const { last_name: _omitted, ...missing } = newAccount();
    const missingRes = await service.request('POST', '/api/auth/register', { body: missing });
    expect(missingRes.body.error.message).to.equal('last_name: is required.');

    const unknown = await service.request('POST', '/api/auth/register', { body: { ...newAccount(), admin: true } });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.error.message).to.contain('admin');
  });

  it('writes nothing when the request is refused', async () => {
    const client = new pg.Client({ connectionString: service.databaseUrl });
    await client.connect();
    const before = Number((await client.query('SELECT count(*) FROM users')).rows[0].count);
    await service.request('POST', '/api/auth/register', { body: newAccount({ password: 'short' }) });
    await service.request('POST', '/api/auth/register', { raw: '{"email": "x@example.com",', headers: { 'content-type': 'application/json' } });
    const after = Number((await client.query('SELECT count(*) FROM users')).rows[0].count);
    await client.end();
    expect(after).to.equal(before);
  });

  describe('with REQUIRE_EMAIL_VERIFICATION=true', () => {
    const mailing = serviceWithSmtp({ REQUIRE_EMAIL_VERIFICATION: 'true', RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR: '2' });

    it('mails the owner of a taken address within the per-address budget, answering every attempt the same', async () => {
      const existing = newAccount();
      expect((await mailing.service.request('POST', '/api/auth/register', { body: existing })).status).to.equal(202);
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await mailing.service.request('POST', '/api/auth/register', { body: existing }));
      for (const res of answers) {
        expect(res.status).to.equal(202);
        expect(res.body).to.deep.equal({ verification_required: true, email: existing.email });
      }
      const notices = (): number => mailing.smtp.to(existing.email).filter((m) => /Someone tried to register/.test(m.subject)).length;
      // The first registration's verification mail spent one of the two.
      await eventually('one notice', async () => (notices() >= 1 ? true : undefined), 10_000, 25);
      // The outbox sends in the background: give a notice past the budget time to arrive, were one queued.
      await sleep(500);
      expect(notices()).to.equal(1);
      const events = await query(mailing.service.databaseUrl, `SELECT details->>'notified' AS notified FROM security_events WHERE type = 'registration_repeated' AND details->>'email' = $1 ORDER BY id`, [existing.email]);
      expect(events.map((e) => e['notified'])).to.deep.equal(['true', 'false', 'false', 'false', 'false']);
    });

    it('leaves as much of the address\'s mail budget for a new address as for a taken one, so forgot-password cannot tell them apart', async () => {
      // Registered long ago: its own sign-up mail is outside this hour's budget.
      const taken = newAccount();
      await query(mailing.service.databaseUrl, `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, 'x', 'Old', 'Account')`, [taken.email]);
      const fresh = newAccount();
      const resetsAllowed = async (email: string): Promise<number> => {
        let allowed = 0;
        for (let i = 0; i < 4; i++) {
          const res = await mailing.service.request('POST', '/api/auth/forgot-password', { body: { email } });
          if (res.status === 429) break;
          expect(res.status).to.equal(202);
          allowed += 1;
        }
        return allowed;
      };
      for (const account of [taken, fresh]) expect((await mailing.service.request('POST', '/api/auth/register', { body: account })).status).to.equal(202);
      const afterTaken = await resetsAllowed(taken.email);
      const afterFresh = await resetsAllowed(fresh.email);
      expect({ afterTaken, afterFresh }).to.deep.equal({ afterTaken: 1, afterFresh: 1 });
      // The new account still got its verification link.
      await eventually('the verification mail', async () => (mailing.smtp.to(fresh.email).some((m) => /verify/i.test(m.subject)) ? true : undefined), 10_000, 25);
    });
  });
});
