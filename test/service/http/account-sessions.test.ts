import { expect } from 'chai';
import { query } from '../../support/db.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

describe('GET /api/auth/sessions, DELETE /api/auth/sessions/:id', () => {
  let service: TestService;
  before(async () => {
    service = await startTestService({ RATE_LIMIT_REGISTER_PER_MINUTE: '0', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
  });
  after(async () => service.stop());

  const signIn = async (account: ReturnType<typeof newAccount>, userAgent: string): Promise<Record<string, string>> =>
    (await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password }, headers: { 'user-agent': userAgent } })).body;

  it("lists the account's live sessions with when, where from and which is the caller's", async () => {
    const account = newAccount();
    await service.request('POST', '/api/auth/register', { body: account, headers: { 'user-agent': 'Laptop/1.0' } });
    const phone = await signIn(account, 'Phone/2.0');
    const res = await service.request('GET', '/api/auth/sessions', { token: phone.access_token });
    expect(res.status).to.equal(200);
    expect(res.headers.get('cache-control')).to.equal('no-store');
    expect(res.body.sessions).to.have.length(2);
    for (const session of res.body.sessions) {
      expect(session).to.have.all.keys('id', 'created_at', 'last_used_at', 'ip', 'user_agent', 'current');
      expect(session.ip).to.equal('127.0.0.1');
      expect(new Date(session.created_at).toISOString()).to.equal(session.created_at);
    }
    const byAgent = Object.fromEntries(res.body.sessions.map((s: { user_agent: string; current: boolean }) => [s.user_agent, s.current]));
    expect(byAgent).to.deep.equal({ 'Laptop/1.0': false, 'Phone/2.0': true });
  });

  it('signs another session out at once: its access token and refresh token stop working, the caller stays', async () => {
    const account = newAccount();
    const laptop = (await service.request('POST', '/api/auth/register', { body: account })).body;
    const phone = await signIn(account, 'Phone/2.0');
    const listed = (await service.request('GET', '/api/auth/sessions', { token: phone.access_token })).body.sessions;
    const target = listed.find((s: { current: boolean }) => !s.current).id;
    expect((await service.request('GET', '/api/auth/me', { token: laptop.access_token })).status).to.equal(200);

    const res = await service.request('DELETE', `/api/auth/sessions/${target}`, { token: phone.access_token });
    expect(res.status).to.equal(204);
    const me = await service.request('GET', '/api/auth/me', { token: laptop.access_token });
    expect(me.status).to.equal(401);
    expect(me.body.error.code).to.equal('session_revoked');
    expect((await service.request('POST', '/api/auth/refresh', { body: { refresh_token: laptop.refresh_token } })).status).to.equal(401);
    expect((await service.request('GET', '/api/auth/me', { token: phone.access_token })).status).to.equal(200);
    const after = (await service.request('GET', '/api/auth/sessions', { token: phone.access_token })).body.sessions;
    expect(after.map((s: { id: string }) => s.id)).to.not.include(target);
    const events = await query(service.databaseUrl, `SELECT ip, details FROM security_events WHERE type = 'session_revoked' AND session_id = $1`, [target]);
    expect(events).to.have.length(1);
    expect(events[0]!['details']).to.include({ reason: 'user_request' });
  });

  it("answers 404 session_not_found for another account's session, an unknown id and a malformed one", async () => {
    const mallory = (await service.request('POST', '/api/auth/register', { body: newAccount() })).body;
    const alice = (await service.request('POST', '/api/auth/register', { body: newAccount() })).body;
    const aliceSession = (await service.request('GET', '/api/auth/sessions', { token: alice.access_token })).body.sessions[0].id;
    for (const id of [aliceSession, '00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const res = await service.request('DELETE', `/api/auth/sessions/${id}`, { token: mallory.access_token });
      expect(res.status, id).to.equal(404);
      expect(res.body.error.code).to.equal('session_not_found');
    }
    expect((await service.request('GET', '/api/auth/me', { token: alice.access_token })).status).to.equal(200);
  });

  it('needs an access token', async () => {
    expect((await service.request('GET', '/api/auth/sessions')).status).to.equal(401);
    expect((await service.request('DELETE', '/api/auth/sessions/00000000-0000-0000-0000-000000000000')).status).to.equal(401);
  });
});
