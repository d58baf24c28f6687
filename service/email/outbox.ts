/**
 * Delivers messages in the background so a slow or down SMTP server never fails
 * or delays the request that caused the message. A failed attempt is retried
 * with exponential backoff (1 s, 2 s, 4 s, … capped at 5 min) up to a bounded
 * number of attempts; every outcome is counted in `emails_sent_total`.
 *
 * Two queues, by what the message holds (templates.ts, `storable`):
 * - notices wait in PostgreSQL (outbox-store.ts) when a store is given: a
 *   restart, a blue/green flip during an SMTP outage or a crashed pod loses none,
 *   and whichever replica is up sends them;
 * - the verification and reset links wait in memory only, so the database never
 *   holds a usable token; one lost in a crash is a link the user can ask for again.
 * A notice whose INSERT fails (the database is down) falls back to memory.
 */
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { errorMessage } from '../util/error-message.js';
import type { OutboxStore, QueuedMail } from './outbox-store.js';
import { renderEmail, storable, templateNames, type EmailTemplate } from './templates.js';
import type { MailTransport } from './transport.js';

export interface Outbox {
  /**
   * Queues a message and returns at once. `requestId` is the request that caused it, put on the
   * log lines of its delivery while it waits in memory (a stored notice is sent by whichever
   * replica claims it, long after).
   */
  enqueue(to: string, template: EmailTemplate, requestId?: string): void;
  /** Resolves once no message queued here is being stored, sent or waiting for a retry. */
  idle(): Promise<void>;
  /**
   * Waits up to `timeoutMs` for messages in flight. Those waiting in memory for a
   * retry are dropped, and counted; those in PostgreSQL stay for the next instance.
   */
  close(timeoutMs: number): Promise<void>;
}

export interface OutboxOptions {
  transport: MailTransport;
  metrics: Pick<Metrics, 'emailsSent'>;
  logger: Logger;
  maxAttempts: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Messages in flight or waiting in memory at once; past it new ones are dropped rather than grow memory without bound. */
  capacity?: number;
  /** Where notices wait. Without it, every message waits in memory. */
  store?: OutboxStore;
  /** How often the durable queue is looked at for messages due (another replica's, or retries). */
  pollIntervalMs?: number;
  /** How long a claimed message is left to its sender before another replica may try it. */
  leaseSeconds?: number;
  /**
   * How long a stored notice is retried (backoff capped at maxDelayMs) before it counts as
   * failed; maxAttempts bounds only the messages in memory. Default 24 h: an SMTP outage of
   * an afternoon delays notices, it does not lose them.
   */
  noticeMaxAgeMs?: number;
}

export function retryDelayMs(failedAttempts: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** (failedAttempts - 1), maxMs);
}

// Messages claimed from PostgreSQL per round trip.
const claimBatch = 10;

export function createOutbox(options: OutboxOptions): Outbox {
  const { transport, metrics, logger, maxAttempts, store } = options;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 300_000;
  const capacity = options.capacity ?? 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 5000;
  // Longer than a whole SMTP delivery can take with the transport's per-step timeouts.
  const leaseSeconds = options.leaseSeconds ?? 120;
  const noticeMaxAgeMs = options.noticeMaxAgeMs ?? 24 * 3600 * 1000;
  const waiting = new Map<NodeJS.Timeout, string>();
  const sending = new Set<Promise<unknown>>();
  /** Ids of stored messages this instance queued and has not yet seen leave the table. */
  const ownStored = new Set<string>();
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

  const track = <T>(work: Promise<T>): Promise<T> => {
    sending.add(work);
    void work.finally(() => sending.delete(work)).catch(() => undefined);
    return work;
  };

  const deliver = (to: string, template: EmailTemplate): Promise<void> => track(transport.send({ to, ...renderEmail(template) }));

  // ---- in memory: timers ----

  const attempt = (to: string, template: EmailTemplate, requestId: string | undefined, number: number): void => {
    deliver(to, template).then(
      () => {
        metrics.emailsSent.inc({ template: template.name, result: 'sent' });
        logger.debug('email sent', { template: template.name, attempt: number, request_id: requestId });
        settle();
      },
      (err: unknown) => {
        const error = errorMessage(err);
        if (number >= maxAttempts || closed) {
          metrics.emailsSent.inc({ template: template.name, result: 'failed' });
          logger.error('email not delivered; giving up', { template: template.name, attempts: number, request_id: requestId, error });
          settle();
          return;
        }
        metrics.emailsSent.inc({ template: template.name, result: 'retried' });
        const delay = retryDelayMs(number, baseDelayMs, maxDelayMs);
        logger.warn('email delivery failed; will retry', { template: template.name, attempt: number, retry_in_ms: delay, request_id: requestId, error });
        const timer = setTimeout(() => {
          waiting.delete(timer);
          attempt(to, template, requestId, number + 1);
        }, delay);
        waiting.set(timer, template.name);
      },
    );
  };

  const enqueueInMemory = (to: string, template: EmailTemplate, requestId: string | undefined): void => {
    if (closed || pending >= capacity) {
      metrics.emailsSent.inc({ template: template.name, result: 'dropped' });
      logger.error(closed ? 'email dropped: shutting down' : `email dropped: ${capacity} messages already waiting`, { template: template.name, request_id: requestId });
      return;
    }
    pending += 1;
    attempt(to, template, requestId, 1);
  };

  // ---- in PostgreSQL: claims ----

  const forget = (id: string): void => {
    if (ownStored.delete(id)) settle();
  };

  const sendStored = async (mail: QueuedMail, queue: OutboxStore): Promise<void> => {
    const name = mail.template.name;
    try {
      // During a rollout both colours drain the table: a template from the newer release is
      // left for a replica that knows it (a failed attempt here, so it is not kept forever).
      if (!templateNames.includes(name)) throw new Error(`template ${JSON.stringify(name)} is unknown to this version`);
      await deliver(mail.to, mail.template);
    } catch (err) {
      const error = errorMessage(err);
      if (mail.ageMs >= noticeMaxAgeMs) {
        metrics.emailsSent.inc({ template: name, result: 'failed' });
        logger.error('email not delivered; giving up', { template: name, attempts: mail.attempts, age_seconds: Math.round(mail.ageMs / 1000), error });
        await queue.remove(mail.id);
        forget(mail.id);
        return;
      }
      const delay = retryDelayMs(mail.attempts, baseDelayMs, maxDelayMs);
      metrics.emailsSent.inc({ template: name, result: 'retried' });
      logger.warn('email delivery failed; will retry', { template: name, attempt: mail.attempts, retry_in_ms: delay, error });
      await queue.retryLater(mail.id, delay, error);
      return;
    }
    metrics.emailsSent.inc({ template: name, result: 'sent' });
    logger.debug('email sent', { template: name, attempt: mail.attempts });
    await queue.remove(mail.id);
    forget(mail.id);
  };

  let draining: Promise<void> | undefined;
  let again = false;
  let storeDown = false;

  const drainOnce = async (queue: OutboxStore): Promise<void> => {
    for (;;) {
      const claimed = await queue.claim(claimBatch, leaseSeconds);
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((mail) => sendStored(mail, queue)));
      if (closed) return;
    }
    // Ours that another replica sent, or that wait for a retry: only the first may settle.
    if (ownStored.size > 0) {
      const still = await queue.waiting([...ownStored]);
      for (const id of [...ownStored]) if (!still.has(id)) forget(id);
    }
  };

  /** Sends whatever is due; a call while a drain runs makes it go round once more. */
  const drain = (): void => {
    if (!store || closed) return;
    if (draining) {
      again = true;
      return;
    }
    draining = track(
      drainOnce(store).then(
        () => {
          if (storeDown) logger.info('email outbox: PostgreSQL reachable again');
          storeDown = false;
        },
        (err: unknown) => {
          // Logged once per outage: the poll comes back every few seconds.
          if (!storeDown) logger.warn('email outbox: cannot reach PostgreSQL; will retry', { error: errorMessage(err) });
          storeDown = true;
        },
      ),
    ).finally(() => {
      draining = undefined;
      if (again) {
        again = false;
        drain();
      }
    });
  };

  const poll = store ? setInterval(drain, pollIntervalMs) : undefined;
  poll?.unref();
  // Notices left by an instance that stopped go out without waiting for the first tick.
  drain();

  const enqueueStored = (queue: OutboxStore, to: string, template: EmailTemplate, requestId: string | undefined): void => {
    pending += 1;
    track(queue.add(to, template)).then(
      (id) => {
        ownStored.add(id);
        drain();
      },
      (err: unknown) => {
        logger.warn('email outbox: cannot store the message; keeping it in memory', { template: template.name, request_id: requestId, error: errorMessage(err) });
        settle();
        enqueueInMemory(to, template, requestId);
      },
    );
  };

  return {
    enqueue(to, template, requestId) {
      if (store && storable[template.name] && !closed) enqueueStored(store, to, template, requestId);
      else enqueueInMemory(to, template, requestId);
    },

    idle() {
      // A retry in PostgreSQL is only picked up by a poll: look now rather than a tick later.
      if (ownStored.size > 0) drain();
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },

    async close(timeoutMs) {
      closed = true;
      if (poll) clearInterval(poll);
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
      if (ownStored.size > 0) logger.info(`shutdown: ${ownStored.size} notice(s) stay queued in PostgreSQL for the next instance`);
      for (const id of [...ownStored]) forget(id);
      transport.close();
    },
  };
}
