import { expect } from 'chai';
import { newAccount, startTestService, type TestService } from '../../support/service.js';

describe('input a client controls but PostgreSQL would refuse', () => {
  let service: TestService;
  before(async () => {
    // TRUST_PROXY as behind one ingress: the service then believes one X-Forwarded-For hop.
    service = await startTestService({ TRUST_PROXY: '1' });
  });
  after(async () => service.stop());

  for (const [what, value] of [['a NUL', 'A\u0000da'], ['a newline', 'Ada\nLovelace'], ['a C1 control', 'Ada\u0085']] as const) {
    it(`refuses a name with ${what}: 400 naming the field, nothing written`, async () => {
      const account = newAccount({ first_name: value });
      const res = await service.request('POST', '/api/auth/register', { body: account });
      expect(res.status).to.equal(400);
      expect(res.body.error.code).to.equal('invalid_request');
      expect(res.body.error.message).to.contain('first_name').and.contain('control characters');
      const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      expect(login.status).to.equal(401);
    });
  }

  it('still accepts names in any script, with accents and apostrophes', async () => {
    const res = await service.request('POST', '/api/auth/register', { body: newAccount({ first_name: 'Zoë', last_name: "O'Brien-Åström 山田" }) });
    expect(res.status).to.equal(201);
    expect(res.body.user).to.include({ first_name: 'Zoë', last_name: "O'Brien-Åström 山田" });
  });

  for (const forged of ['not-an-ip', '999.1.1.1', "1.2.3.4'; --"]) {
    it(`registers and logs in with X-Forwarded-For: ${forged}, recording the peer address instead`, async () => {
      const account = newAccount();
      const headers = { 'x-forwarded-for': forged };
      expect((await service.request('POST', '/api/auth/register', { body: account, headers })).status).to.equal(201);
      const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password }, headers });
      expect(login.status).to.equal(200);
      const sessions = await service.request('GET', '/api/auth/sessions', { token: login.body.access_token });
      expect(sessions.body.sessions.map((s: { ip: string }) => s.ip)).to.include('127.0.0.1');
    });
  }

  it('records an address with a zone without it: Node takes fe80::1%eth0 for an address, PostgreSQL\'s inet does not', async () => {
    const account = newAccount();
    const headers = { 'x-forwarded-for': 'fe80::1%eth0' };
    expect((await service.request('POST', '/api/auth/register', { body: account, headers })).status).to.equal(201);
    const login = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password }, headers });
    expect(login.status).to.equal(200);
    const sessions = await service.request('GET', '/api/auth/sessions', { token: login.body.access_token });
    // Both sessions, the registration's and the login's.
    expect(sessions.body.sessions.map((s: { ip: string }) => s.ip)).to.deep.equal(['fe80::1', 'fe80::1']);
  });
});
