/**
 * Where messages go: an SMTP server through nodemailer when SMTP_URL is set,
 * otherwise the log (the development transport), so `npm start` shows every
 * verification and reset link without a mail server.
 */
import nodemailer from 'nodemailer';
import type { CheckResult } from '../health/checks.js';
import type { Logger } from '../logging/logger.js';

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
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createSmtpTransport(options: SmtpTransportOptions): MailTransport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const transporter = nodemailer.createTransport(
    { url: options.url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs },
    { from: options.from },
  );
  const { hostname, port } = new URL(options.url);
  return {
    async send(mail) {
      await transporter.sendMail({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    async health(checkTimeoutMs) {
      const started = performance.now();
      try {
        // EHLO (and AUTH when the URL carries credentials), then QUIT: proves the server would take a message.
        await withTimeout(transporter.verify(), checkTimeoutMs, `SMTP server ${hostname}:${port || 'default port'}`);
        return { status: 'healthy', latency_ms: Math.round(performance.now() - started), details: null };
      } catch (err) {
        return { status: 'degraded', latency_ms: Math.round(performance.now() - started), details: message(err) };
      }
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
