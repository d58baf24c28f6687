import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { migrate } from '../../../service/db/migrations.js';
import { createDatabase, type Database } from '../../../service/db/pool.js';
import { createOutbox, retryDelayMs, type Outbox, type OutboxOptions } from '../../../service/email/outbox.js';
import { createOutboxStore, type OutboxStore } from '../../../service/email/outbox-store.js';
import { createSmtpTransport } from '../../../service/email/transport.js';
import { createLogger } from '../../../service/logging/logger.js';
import { createMetrics, type Metrics } from '../../../service/metrics/registry.js';
import { freePort } from '../../../service/util/free-port.js';
import { createTestDatabase } from '../../support/postgres.js';
import { capturingLogger } from '../../support/logs.js';
import { startSmtpServer, type TestSmtp } from '../../support/smtp.js';

const quietLogger = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const verify = { name: 'verify_email', link: 'https://app.example.com/verify-email?token=t0k3n', validForMinutes: 24 * 60 } as const;

async function counted(metrics: Metrics, template: string, result: string): Promise<number> {
  const metric = await metrics.emailsSent.get();
  return metric.values.find((v) => v.labels['template'] === template && v.labels['result'] === result)?.value ?? 0;
}

describe('email outbox: in memory', () => {
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

  it('gives up after the last attempt, counts the message as failed and logs the request that queued it', async () => {
    const smtp = await startSmtpServer({ listening: false });
    const metrics = createMetrics();
    const { logger, lines } = capturingLogger('info');
    const outbox = createOutbox({ transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }), metrics, logger, maxAttempts: 3, baseDelayMs: 10 });
    outbox.enqueue('lost@example.com', { name: 'password_changed', how: 'changed' }, 'req-lost-mail');
    await outbox.idle();
    expect(await counted(metrics, 'password_changed', 'retried')).to.equal(2);
    expect(await counted(metrics, 'password_changed', 'failed')).to.equal(1);
    // "I never got the email": the id the client was given finds what happened to it.
    expect(lines.filter((l) => l['request_id'] === 'req-lost-mail').map((l) => l['message'])).to.deep.equal([
      'email delivery failed; will retry',
      'email delivery failed; will retry',
      'email not delivered; giving up',
    ]);
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

describe('email outbox: notices wait in PostgreSQL', () => {
  const notice = { name: 'password_changed', how: 'changed' } as const;
  let pool: pg.Pool;
  let db: Database;
  let store: OutboxStore;
  const opened: { close(ms: number): Promise<void> }[] = [];
  const smtps: TestSmtp[] = [];

  const rows = async (): Promise<{ recipient: string; template: { name: string }; attempts: number; last_error: string | null }[]> =>
    (await pool.query('SELECT recipient, template, attempts, last_error FROM email_outbox ORDER BY id')).rows;

  const outboxFor = (smtp: TestSmtp, metrics: Metrics, extra: Partial<OutboxOptions> = {}): Outbox => {
    const outbox = createOutbox({
      transport: createSmtpTransport({ url: smtp.url, from: 'no-reply@keyward.test' }),
      metrics,
      logger: quietLogger,
      maxAttempts: 5,
      store,
      pollIntervalMs: 50,
      ...extra,
    });
    opened.push(outbox);
    return outbox;
  };
  const smtpServer = async (options?: { listening?: boolean }): Promise<TestSmtp> => {
    const smtp = await startSmtpServer(options);
    smtps.push(smtp);
    return smtp;
  };

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('outbox') });
    pool.on('error', () => undefined); // idle clients when the test PostgreSQL stops, as createPool does
    await migrate(pool);
    db = createDatabase(pool, createMetrics(), { queryTimeoutMs: 10_000 });
    store = createOutboxStore(db);
  });

  afterEach(async () => {
    try {
      await Promise.all(opened.splice(0).map((o) => o.close(100)));
      await Promise.all(smtps.splice(0).map((s) => s.stop()));
    } finally {
      await pool.end();
    }
  });

  it('stores a notice, delivers it and removes it', async () => {
    const smtp = await smtpServer();
    const metrics = createMetrics();
    const outbox = outboxFor(smtp, metrics);
    outbox.enqueue('ada@example.com', notice);
    await smtp.waitFor('ada@example.com', /Your password was changed/);
    await outbox.idle();
    expect(await rows()).to.deep.equal([]);
    expect(await counted(metrics, 'password_changed', 'sent')).to.equal(1);
  });

  it('never stores a message that carries a token: verification and reset links wait in memory', async () => {
    const smtp = await smtpServer({ listening: false });
    const metrics = createMetrics();
    const outbox = outboxFor(smtp, metrics, { baseDelayMs: 60_000 });
    outbox.enqueue('ada@example.com', verify);
    outbox.enqueue('ada@example.com', { name: 'reset_password', link: 'https://app.example.com/reset-password?token=s3cr3t', validForMinutes: 30 });
    outbox.enqueue('ada@example.com', notice);
    // Both links have failed an attempt and the notice's INSERT has committed: under load the
    // INSERT can take longer than two refused connections.
    const settled = async (): Promise<boolean> =>
      (await counted(metrics, 'verify_email', 'retried')) + (await counted(metrics, 'reset_password', 'retried')) >= 2 && (await rows()).length > 0;
    while (!(await settled())) await sleep(20);
    expect((await rows()).map((r) => r.template.name)).to.deep.equal(['password_changed']);
    expect(JSON.stringify((await pool.query('SELECT * FROM email_outbox')).rows)).not.to.contain('s3cr3t');
  });

  it('keeps a notice through a shutdown during an SMTP outage; the next instance delivers it once', async () => {
    const smtp = await smtpServer({ listening: false });
    const first = outboxFor(smtp, createMetrics(), { baseDelayMs: 60_000 });
    first.enqueue('grace@example.com', notice);
    while ((await rows())[0]?.last_error == null) await sleep(20);
    await first.close(100);
    expect(await rows()).to.have.length(1);

    await smtp.start();
    const metrics = createMetrics();
    const second = outboxFor(smtp, metrics, { baseDelayMs: 10 });
    // Due again only when its retry comes: make it due now, as time would.
    await pool.query('UPDATE email_outbox SET next_attempt_at = now()');
    await smtp.waitFor('grace@example.com', /Your password was changed/);
    while ((await rows()).length > 0) await sleep(20);
    await second.idle();
    expect(smtp.to('grace@example.com')).to.have.length(1);
    expect(await counted(metrics, 'password_changed', 'sent')).to.equal(1);
  });

  it('lets replicas drain one table without sending a notice twice', async () => {
    const smtp = await smtpServer();
    const a = outboxFor(smtp, createMetrics());
    const b = outboxFor(smtp, createMetrics());
    for (let i = 0; i < 30; i++) (i % 2 ? a : b).enqueue(`user${i}@example.com`, notice);
    await Promise.all([a.idle(), b.idle()]);
    while ((await rows()).length > 0) await sleep(20);
    const recipients = smtp.messages.flatMap((m) => m.to);
    expect(recipients).to.have.length(30);
    expect(new Set(recipients).size).to.equal(30);
  });

  it('retries a notice from PostgreSQL with backoff, recording why, past EMAIL_MAX_ATTEMPTS, until it is too old', async () => {
    const smtp = await smtpServer({ listening: false });
    const metrics = createMetrics();
    const outbox = outboxFor(smtp, metrics, { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20, noticeMaxAgeMs: 600 });
    outbox.enqueue('lost@example.com', notice);
    while ((await rows())[0]?.last_error == null) await sleep(5);
    expect((await rows())[0]!.last_error).to.match(/ECONNREFUSED|connect/i);
    await outbox.idle();
    expect(await rows()).to.deep.equal([]);
    // Attempts every 10-20 ms (and each poll) for 600 ms: far more than the two a link message gets.
    expect(await counted(metrics, 'password_changed', 'retried')).to.be.above(2);
    expect(await counted(metrics, 'password_changed', 'failed')).to.equal(1);
  });

  it('keeps the notice in memory and still delivers it when PostgreSQL cannot be reached', async () => {
    const smtp = await smtpServer();
    const down = new pg.Pool({ connectionString: `postgres://keyward@127.0.0.1:${await freePort()}/keyward`, connectionTimeoutMillis: 500 });
    try {
      const metrics = createMetrics();
      const outbox = outboxFor(smtp, metrics, { store: createOutboxStore(createDatabase(down, createMetrics(), { queryTimeoutMs: 10_000 })) });
      outbox.enqueue('offline@example.com', notice);
      await smtp.waitFor('offline@example.com', /Your password was changed/);
      await outbox.idle();
      expect(await counted(metrics, 'password_changed', 'sent')).to.equal(1);
    } finally {
      await down.end();
    }
  });

  it('leaves a notice of a template it does not know to a newer replica, as a failed attempt, never an empty mail', async () => {
    const smtp = await smtpServer();
    await pool.query(`INSERT INTO email_outbox (recipient, template) VALUES ('next@example.com', '{"name":"from_the_next_release"}')`);
    const outbox = outboxFor(smtp, createMetrics(), { baseDelayMs: 60_000 });
    outbox.enqueue('known@example.com', notice);
    await smtp.waitFor('known@example.com');
    while ((await rows()).some((r) => r.last_error === null)) await sleep(20);
    const [left] = await rows();
    expect(left).to.deep.include({ recipient: 'next@example.com', attempts: 1 });
    expect(left!.last_error).to.contain('"from_the_next_release" is unknown to this version');
    expect(smtp.to('next@example.com')).to.deep.equal([]);
  });

  it('reports the notices waiting as email_outbox_depth', async () => {
    const smtp = await smtpServer({ listening: false });
    const outbox = outboxFor(smtp, createMetrics(), { baseDelayMs: 60_000 });
    outbox.enqueue('a@example.com', notice);
    outbox.enqueue('b@example.com', { name: 'mfa_changed', change: 'enabled' });
    while ((await rows()).filter((r) => r.last_error !== null).length < 2) await sleep(20);
    const metrics = createMetrics({ emailOutboxDepth: () => store.depth() });
    expect(await metrics.registry.getSingleMetricAsString('email_outbox_depth')).to.match(/^email_outbox_depth 2$/m);
  });
});
