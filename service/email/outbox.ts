/**
 * Delivers messages in the background so a slow or down SMTP server never fails
 * or delays the request that caused the message. A failed attempt is retried
 * with exponential backoff (1 s, 2 s, 4 s, … capped at 5 min) up to a bounded
 * number of attempts; every outcome is counted in `emails_sent_total`.
 * Messages are held in memory: one lost in a crash is a reset or verification
 * link the user can ask for again, which is why no durable queue is kept.
 */
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { renderEmail, templateNames, type EmailTemplate } from './templates.js';
import type { MailTransport } from './transport.js';

export interface Outbox {
  /** Queues a message and returns at once. */
  enqueue(to: string, template: EmailTemplate): void;
  /** Resolves once no message is being sent or waiting for a retry. */
  idle(): Promise<void>;
  /** Waits up to `timeoutMs` for messages in flight; those still waiting for a retry are dropped, and counted. */
  close(timeoutMs: number): Promise<void>;
}

export interface OutboxOptions {
  transport: MailTransport;
  metrics: Pick<Metrics, 'emailsSent'>;
  logger: Logger;
  maxAttempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Messages in flight or waiting at once; past it new ones are dropped rather than grow memory without bound. */
  capacity?: number;
}

export function retryDelayMs(failedAttempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** (failedAttempts - 1), maxMs);
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { transport, metrics, logger, maxAttempts } = options;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const capacity = options.capacity ?? 1000;
  const waiting = new Map<NodeJS.Timeout, string>();
  const sending = new Set<Promise<void>>();
  let pending = 0;
  let idleWaiters: (() => void)[] = [];
  let closed = false;

  // Series appear at 0 from the start, so a failure-rate query has both sides before the first failure.
  for (const template of templateNames) for (const result of ['sent', 'failed']) metrics.emailsSent.inc({ template, result }, 0);

  const settle = (): void => {
    pending -= 1;
    if (pending === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    }
  };

  const attempt = (to: string, template: EmailTemplate, number: number): void => {
    const rendered = renderEmail(template);
    const delivery = transport.send({ to, ...rendered }).then(
      () => {
        metrics.emailsSent.inc({ template: template.name, result: 'sent' });
        logger.debug('email sent', { template: template.name, attempt: number });
        settle();
      },
      (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        if (number >= maxAttempts || closed) {
          metrics.emailsSent.inc({ template: template.name, result: 'failed' });
          logger.error('email not delivered; giving up', { template: template.name, attempts: number, error });
          settle();
          return;
        }
        metrics.emailsSent.inc({ template: template.name, result: 'retried' });
        const delay = retryDelayMs(number, baseDelayMs, maxDelayMs);
        logger.warn('email delivery failed; will retry', { template: template.name, attempt: number, retry_in_ms: delay, error });
        const timer = setTimeout(() => {
          waiting.delete(timer);
          attempt(to, template, number + 1);
        }, delay);
        waiting.set(timer, template.name);
      },
    );
    sending.add(delivery);
    void delivery.finally(() => sending.delete(delivery));
  };

  return {
    enqueue(to, template) {
      if (closed || pending >= capacity) {
        metrics.emailsSent.inc({ template: template.name, result: 'dropped' });
        logger.error(closed ? 'email dropped: shutting down' : `email dropped: ${capacity} messages already waiting`, { template: template.name });
        return;
      }
      pending += 1;
      attempt(to, template, 1);
    },

    idle() {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },

    async close(timeoutMs) {
      closed = true;
      for (const [timer, template] of waiting) {
        clearTimeout(timer);
        metrics.emailsSent.inc({ template, result: 'dropped' });
        settle();
      }
      if (waiting.size > 0) logger.warn(`shutdown: ${waiting.size} email(s) waiting for a retry were dropped`);
      waiting.clear();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
      await Promise.race([Promise.allSettled([...sending]), deadline]);
      clearTimeout(timer);
      transport.close();
    },
  };
}
