/**
 * The durable half of the outbox: notices waiting in PostgreSQL, so a restart, a
 * shutdown during an SMTP outage or a crashed pod loses none. Every replica
 * drains the one table; a message is claimed for a lease (FOR UPDATE SKIP LOCKED),
 * so two replicas never send it together, and a replica that dies mid-send only
 * delays it until the lease ends. Delivery is at least once: a pod that dies
 * between the SMTP server's answer and the DELETE sends that notice again.
 */
import type { Database } from '../db/pool.js';
import type { EmailTemplate } from './templates.js';

export interface QueuedMail {
  id: string;
  to: string;
  template: EmailTemplate;
  /** Attempts begun, this one included. */
  attempts: number;
  /** Since it was queued, by the database's clock (the one that stamped it): a notice is retried until too old. */
  ageMs: number;
}

export interface OutboxStore {
  /** Queues a message, due at once; returns its id. */
  add(to: string, template: EmailTemplate): Promise<string>;
  /** Claims up to `limit` due messages for `leaseSeconds`, counting the attempt: others skip them until then. */
  claim(limit: number, leaseSeconds: number): Promise<QueuedMail[]>;
  /** Removes a message: sent, or given up. */
  remove(id: string): Promise<void>;
  /** Makes a message due again after `delayMs`, keeping why the attempt failed. */
  retryLater(id: string, delayMs: number, error: string): Promise<void>;
  /** Which of these ids still wait (or are being sent somewhere). */
  waiting(ids: string[]): Promise<Set<string>>;
  /** Messages waiting, for the email_outbox_depth gauge. */
  depth(): Promise<number>;
}

export function createOutboxStore(db: Database): OutboxStore {
  return {
    async add(to, template) {
      const { rows } = await db.query<{ id: string }>(
        'email_outbox.add',
        'INSERT INTO email_outbox (recipient, template) VALUES ($1, $2) RETURNING id',
        [to, JSON.stringify(template)],
      );
      return rows[0]!.id;
    },

    async claim(limit, leaseSeconds) {
      const { rows } = await db.query<{ id: string; recipient: string; template: EmailTemplate; attempts: number; age_ms: number }>(
        'email_outbox.claim',
        `UPDATE email_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
          WHERE id IN (SELECT id FROM email_outbox WHERE next_attempt_at <= now()
                        ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, recipient, template, attempts, (extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms`,
        [limit, leaseSeconds],
      );
      return rows.map((row) => ({ id: row.id, to: row.recipient, template: row.template, attempts: row.attempts, ageMs: row.age_ms }));
    },

    async remove(id) {
      await db.query('email_outbox.remove', 'DELETE FROM email_outbox WHERE id = $1', [id]);
    },

    async retryLater(id, delayMs, error) {
      await db.query(
        'email_outbox.retry_later',
        `UPDATE email_outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1`,
        [id, delayMs / 1000, error.slice(0, 1000)],
      );
    },

    async waiting(ids) {
      if (ids.length === 0) return new Set();
      const { rows } = await db.query<{ id: string }>('email_outbox.waiting', 'SELECT id FROM email_outbox WHERE id = ANY($1::bigint[])', [ids]);
      return new Set(rows.map((row) => row.id));
    },

    async depth() {
      const { rows } = await db.query<{ n: string }>('email_outbox.depth', 'SELECT count(*) AS n FROM email_outbox');
      return Number(rows[0]!.n);
    },
  };
}
