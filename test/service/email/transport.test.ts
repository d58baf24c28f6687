import { expect } from 'chai';
import { createLogTransport, createSmtpTransport } from '../../../service/email/transport.js';
import { capturingLogger } from '../../support/logs.js';
import { startSmtpServer, type TestSmtp } from '../../support/smtp.js';

const mail = { to: 'ada@example.com', subject: 'Verify your email address', text: 'Open https://app.example.com/verify-email?token=abc\n', html: '<p>hi</p>' };

describe('mail transports', () => {
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startSmtpServer();
  });
  after(async () => smtp.stop());

  describe('SMTP (nodemailer)', () => {
    it('delivers text and HTML from EMAIL_FROM to the SMTP server', async () => {
      const transport = createSmtpTransport({ url: smtp.url, from: 'Keyward <no-reply@keyward.test>' });
      await transport.send(mail);
      const received = await smtp.waitFor('ada@example.com');
      expect(received).to.deep.include({ from: 'no-reply@keyward.test', subject: mail.subject });
      expect(received.text.trim()).to.equal(mail.text.trim());
      expect(received.html).to.contain('<p>hi</p>');
      transport.close();
    });

    it('verifies once per interval however often /health asks, and sees an outage after it', async () => {
      const server = await startSmtpServer();
      const transport = createSmtpTransport({ url: server.url, from: 'no-reply@keyward.test', healthTtlMs: 300 });
      const together = await Promise.all([1, 2, 3, 4, 5].map(() => transport.health(2000)));
      expect(new Set(together).size, 'five concurrent checks share one verification').to.equal(1);
      await server.stop();
      // Within the interval the verdict stands; no new connection is tried.
      expect(await transport.health(2000)).to.equal(together[0]);
      await new Promise((r) => setTimeout(r, 350));
      expect((await transport.health(2000)).status).to.equal('degraded');
      transport.close();
    });

    it('takes the outcome of a delivery as its verdict, without waiting for the interval', async () => {
      const server = await startSmtpServer({ listening: false });
      const transport = createSmtpTransport({ url: server.url, from: 'no-reply@keyward.test', healthTtlMs: 60_000 });
      expect((await transport.health(2000)).status).to.equal('degraded');
      await server.start();
      await transport.send(mail);
      expect(await transport.health(2000)).to.deep.include({ status: 'healthy', details: null });
      await server.stop();
      await transport.send(mail).catch(() => undefined);
      expect((await transport.health(2000)).status).to.equal('degraded');
      transport.close();
    });

    it('reports healthy while the server answers, degraded when it does not', async () => {
      const up = createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' });
      expect(await up.health(2000)).to.deep.include({ status: 'healthy', details: null });
      const down = await startSmtpServer({ listening: false });
      const transport = createSmtpTransport({ url: down.url, from: 'no-reply@keyward.test' });
      const report = await transport.health(2000);
      expect(report.status).to.equal('degraded');
      expect(report.details).to.match(/ECONNREFUSED/);
      try {
        await transport.send(mail);
        expect.fail('sent to a server that is down');
      } catch (err) {
        expect((err as Error).message).to.match(/ECONNREFUSED/);
      }
    });
  });

  describe('development transport (no SMTP_URL)', () => {
    it('writes the whole message, link included, to the log and reports disabled', async () => {
      const { logger, lines } = capturingLogger();
      const transport = createLogTransport({ logger, includeBody: true });
      await transport.send(mail);
      expect(lines.at(-1)).to.deep.include({ to: 'ada@example.com', subject: mail.subject, body: mail.text });
      expect(await transport.health(2000)).to.deep.equal({ status: 'disabled', latency_ms: 0, details: 'SMTP_URL is not set' });
    });

    it('in production logs only that a message was not delivered, never its link', async () => {
      const { logger, lines } = capturingLogger();
      await createLogTransport({ logger, includeBody: false }).send(mail);
      expect(lines.at(-1)!['message']).to.equal('email not delivered: SMTP_URL is not set');
      expect(JSON.stringify(lines)).to.not.contain('token=abc');
    });
  });
});
