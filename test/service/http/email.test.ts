import { expect } from 'chai';
import { eventually } from '../../support/eventually.js';
import { newAccount, startTestService, type TestService } from '../../support/service.js';
import { linkToken, startSmtpServer } from '../../support/smtp.js';

/** The value of emails_sent_total{template,result} on /metrics. */
async function emailsSent(service: TestService, template: string, result: string): Promise<number> {
  const text = (await service.request('GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`emails_sent_total{template="${template}",result="${result}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('email delivery seen from the API', () => {
  it('a down SMTP server fails no request: the message is retried and arrives once the server is back', async function () {
    this.timeout(30_000);
    const smtp = await startSmtpServer({ listening: false });
    const service = await startTestService({ SMTP_URL: smtp.url, EMAIL_MAX_ATTEMPTS: '4' });
    try {
      const account = newAccount();
      const res = await service.request('POST', '/api/auth/register', { body: account });
      expect(res.status).to.equal(201);
      const health = await service.request('GET', '/health');
      expect(health.status).to.equal(200);
      expect(health.body.status).to.equal('degraded');
      expect(health.body.checks.email.status).to.equal('degraded');
      expect(health.body.checks.email.details).to.match(/ECONNREFUSED/);
      await eventually('a failed attempt', async () => ((await emailsSent(service, 'verify_email', 'retried')) > 0 ? true : undefined), 10_000, 50);

      await smtp.start();
      const mail = await smtp.waitFor(account.email, /Verify your email address/, 15_000);
      expect((await service.request('POST', '/api/auth/verify-email', { body: { token: linkToken(mail) } })).status).to.equal(200);
      expect(await emailsSent(service, 'verify_email', 'sent')).to.equal(1);
      expect((await service.request('GET', '/health')).body.checks.email).to.deep.include({ status: 'healthy', details: null });
    } finally {
      await service.stop();
      await smtp.stop();
    }
  });

  it('counts a message as failed once its attempts run out, and logs it without the link', async () => {
    const smtp = await startSmtpServer({ listening: false });
    const service = await startTestService({ SMTP_URL: smtp.url, EMAIL_MAX_ATTEMPTS: '1' });
    try {
      expect((await service.request('POST', '/api/auth/register', { body: newAccount() })).status).to.equal(201);
      await eventually('the failure counted', async () => ((await emailsSent(service, 'verify_email', 'failed')) === 1 ? true : undefined), 10_000, 50);
      const line = service.logs.find((l) => l['message'] === 'email not delivered; giving up');
      expect(line).to.deep.include({ template: 'verify_email', attempts: 1 });
      expect(JSON.stringify(line)).to.not.contain('token=');
    } finally {
      await service.stop();
    }
  });

  it('without SMTP_URL writes each message, link included, to the log (the development transport)', async () => {
    const service = await startTestService({ APP_URL: 'http://localhost:3000' });
    try {
      const account = newAccount();
      await service.request('POST', '/api/auth/register', { body: account });
      const line = await eventually('the logged message', async () => service.logs.find((l) => l['to'] === account.email), 5000, 25);
      expect(line['subject']).to.equal('Verify your email address');
      const token = /token=([\w-]+)/.exec(String(line['body']))![1]!;
      expect(String(line['body'])).to.contain('http://localhost:3000/verify-email?token=');
      expect((await service.request('POST', '/api/auth/verify-email', { body: { token } })).status).to.equal(200);
      expect((await service.request('GET', '/health')).body.checks.email).to.deep.include({ status: 'disabled', details: 'SMTP_URL is not set' });
    } finally {
      await service.stop();
    }
  });

  it('tells the owner of a sign-in that follows a lockout of their account', async function () {
    this.timeout(20_000);
    const smtp = await startSmtpServer();
    const service = await startTestService({ SMTP_URL: smtp.url, LOCKOUT_THRESHOLD: '2', LOCKOUT_BASE_SECONDS: '1', RATE_LIMIT_LOGIN_PER_MINUTE: '0' });
    try {
      const account = newAccount();
      await service.request('POST', '/api/auth/register', { body: account });
      for (let i = 0; i < 2; i++) await service.request('POST', '/api/auth/login', { body: { email: account.email, password: 'wrong password 1' } });
      const login = await eventually('the lock to pass', async () => {
        const res = await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password }, headers: { 'user-agent': 'Keyward-Test/1' } });
        return res.status === 200 ? res : undefined;
      }, 10_000, 250);
      expect(login.body).to.have.property('access_token');
      const notice = await smtp.waitFor(account.email, /New sign-in after your account was locked/);
      expect(notice.text).to.contain('127.0.0.1, Keyward-Test/1');
      // A later ordinary sign-in is not reported again.
      await service.request('POST', '/api/auth/login', { body: { email: account.email, password: account.password } });
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.to(account.email).filter((m) => /locked/.test(m.subject))).to.have.length(1);
    } finally {
      await service.stop();
      await smtp.stop();
    }
  });
});
