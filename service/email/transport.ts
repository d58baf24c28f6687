/**
 * Where messages go: an SMTP server through nodemailer when SMTP_URL is set,
 * otherwise the log (the development transport), so `npm start` shows every
 * verification and reset link without a mail server.
 */
import nodemailer from 'nodemailer';
import type { CheckResult } from '../health/checks.js';
import type { Logger } from '../logging/logger.js';
import { errorMessage } from '../util/error-message.js';
import { withTimeout } from '../util/timeout.js';

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailTransport {
  /** Rejects when the server refuses or cannot be reached; the outbox retries. */
  send(mail: OutgoingMail): Promise<void>;
  /** healthy, degraded (SMTP unreachable) or disabled (no SMTP_URL), for /health. */
  health(timeoutMs: number): Promise<CheckResult>;
  close(): void;
}

export interface SmtpTransportOptions {
  url: string;
  from: string;
  /** Per step of a delivery (connect, greeting, each command): a hung server must not hold a retry slot forever. */
  timeoutMs?: number;
  /** How long one health verdict is reused (default 30 s). */
  healthTtlMs?: number;
}

export function createSmtpTransport(options: SmtpTransportOptions): MailTransport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transporter = nodemailer.createTransport(
    { url: options.url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs },
    { from: options.from },
  );
  const { hostname, port } = new URL(options.url);
  const healthTtlMs = options.healthTtlMs ?? 30_000;
  let lastHealth: { at: number; result: Promise<CheckResult> } | undefined;
  let checking: Promise<CheckResult> | undefined;

  const verify = async (checkTimeoutMs: number): Promise<CheckResult> => {
    const started = performance.now();
    try {
      // EHLO (and AUTH when the URL carries credentials), then QUIT: proves the server would take a message.
      await withTimeout(transporter.verify(), checkTimeoutMs, `SMTP server ${hostname}:${port || 'default port'}`);
      return { status: 'healthy', latency_ms: Math.round(performance.now() - started), details: null };
    } catch (err) {
      return { status: 'degraded', latency_ms: Math.round(performance.now() - started), details: errorMessage(err) };
    }
  };

  /** A delivery is the best health check there is: its outcome is the verdict /health reports next. */
  const remember = (result: CheckResult): void => {
    lastHealth = { at: performance.now(), result: Promise.resolve(result) };
  };

  return {
    async send(mail) {
      const started = performance.now();
      try {
        await transporter.sendMail({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
        remember({ status: 'healthy', latency_ms: Math.round(performance.now() - started), details: null });
      } catch (err) {
        remember({ status: 'degraded', latency_ms: Math.round(performance.now() - started), details: errorMessage(err) });
        throw err;
      }
    },
    health(checkTimeoutMs) {
      // /health is unauthenticated and probed every few seconds by each kubelet: one SMTP
      // login per call would let anyone drive logins at the provider (rate limits, lockouts),
      // and slow verifications would pile up. One verification at a time, its verdict reused.
      if (lastHealth && performance.now() - lastHealth.at < healthTtlMs) return lastHealth.result;
      checking ??= verify(checkTimeoutMs).then((result) => {
        lastHealth = { at: performance.now(), result: Promise.resolve(result) };
        checking = undefined;
        return result;
      });
      return checking;
    },
    close: () => transporter.close(),
  };
}

export interface LogTransportOptions {
  logger: Logger;
  /**
   * Whole messages, links included, go to the log only outside production: there a
   * reset link in the log would let anyone who reads logs take over accounts.
   */
  includeBody: boolean;
}

export function createLogTransport(options: LogTransportOptions): MailTransport {
  return {
    async send(mail) {
      options.logger.info(options.includeBody ? 'email (development transport; set SMTP_URL to deliver)' : 'email not delivered: SMTP_URL is not set', {
        to: mail.to,
        subject: mail.subject,
        ...(options.includeBody ? { body: mail.text } : {}),
      });
    },
    health: async () => ({ status: 'disabled', latency_ms: 0, details: 'SMTP_URL is not set' }),
    close: () => undefined,
  };
}
