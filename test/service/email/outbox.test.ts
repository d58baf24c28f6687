import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createOutbox, retryDelayMs } from '../../../service/email/outbox.js';
import { createSmtpTransport } from '../../../service/email/transport.js';
import { createLogger } from '../../../service/logging/logger.js';
import { createMetrics, type Metrics } from '../../../service/metrics/registry.js';
import { startSmtpServer } from '../../support/smtp.js';

const quietLogger = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const verify = { name: 'verify_email', link: 'https://app.example.com/verify-email?token=t0k3n', validForHours: 24 } as const;

async function counted(metrics: Metrics, template: string, result: string): Promise<number> {
  const metric = await metrics.emailsSent.get();
  return metric.values.find((v) => v.labels['template'] === template && v.labels['result'] === result)?.value ?? 0;
}

describe('email outbox', () => {
  it('backs off exponentially: 1 s, 2 s, 4 s, … capped', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 1000, 300_000))).to.deep.equal([1000, 2000, 4000, 8000, 300_000]);
  });

  it('returns at once and delivers in the background, counting it as sent', async () => {
    const smtp = await startSmtpServer();
    const metrics = createMetrics();
    const outbox = createOutbox({ transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }), metrics, logger: quietLogger, maxAttempts: 3 });
    outbox.enqueue('grace@example.com', verify);
    expect(smtp.messages).to.have.length(0);
    const received = await smtp.waitFor('grace@example.com', /Verify your email address/);
    expect(received.text).to.contain('https://app.example.com/verify-email?token=t0k3n');
    await outbox.idle();
    expect(await counted(metrics, 'verify_email', 'sent')).to.equal(1);
    await outbox.close(1000);
    await smtp.stop();
  });

  it('retries while the SMTP server is down and delivers once it is back', async () => {
    const smtp = await startSmtpServer({ listening: false });
    const metrics = createMetrics();
    const outbox = createOutbox({
      transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }),
      metrics,
      logger: quietLogger,
      maxAttempts: 5,
      baseDelayMs: 100,
    });
    outbox.enqueue('hopper@example.com', verify);
    while ((await counted(metrics, 'verify_email', 'retried')) === 0) await new Promise((r) => setTimeout(r, 20));
    await smtp.start();
    await smtp.waitFor('hopper@example.com');
    await outbox.idle();
    expect(await counted(metrics, 'verify_email', 'sent')).to.equal(1);
    expect(await counted(metrics, 'verify_email', 'failed')).to.equal(0);
    await outbox.close(1000);
    await smtp.stop();
  });

  it('gives up after the last attempt and counts the message as failed', async () => {
    const smtp = await startSmtpServer({ listening: false });
    const metrics = createMetrics();
    const outbox = createOutbox({ transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }), metrics, logger: quietLogger, maxAttempts: 3, baseDelayMs: 10 });
    outbox.enqueue('lost@example.com', { name: 'password_changed', how: 'changed' });
    await outbox.idle();
    expect(await counted(metrics, 'password_changed', 'retried')).to.equal(2);
    expect(await counted(metrics, 'password_changed', 'failed')).to.equal(1);
    await outbox.close(100);
  });

  it('drops, and counts, messages still waiting for a retry at shutdown and any queued after it', async () => {
    const smtp = await startSmtpServer({ listening: false });
    const metrics = createMetrics();
    const outbox = createOutbox({ transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }), metrics, logger: quietLogger, maxAttempts: 5, baseDelayMs: 60_000 });
    outbox.enqueue('later@example.com', verify);
    while ((await counted(metrics, 'verify_email', 'retried')) === 0) await new Promise((r) => setTimeout(r, 20));
    await outbox.close(100);
    await outbox.idle();
    outbox.enqueue('after@example.com', verify);
    expect(await counted(metrics, 'verify_email', 'dropped')).to.equal(2);
  });
});
