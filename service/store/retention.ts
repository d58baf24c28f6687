/**
 * Retention: deletes rows no answer can need any more. Every login adds a session, every refresh
 * a refresh-token row, every mail link a one-time token and nearly every request a security
 * event; without this the tables, their indexes and the nightly backup grow with the service's age.
 *
 * - Refresh tokens past their expiry: refresh refuses an expired token as `invalid` whether or
 *   not its row exists, so the row only served reuse detection, which ends with the expiry.
 * - One-time tokens (mail links, mfa_token) used or expired.
 * - Sessions ended (expired or revoked) SESSION_RETENTION_DAYS ago, with their refresh tokens.
 *   `GET /api/auth/sessions` lists only live sessions; the account's security events keep the story.
 * - Security events older than SECURITY_EVENT_RETENTION_DAYS (default 365: a year of audit
 *   history, as PCI DSS 10.7 asks); 0 keeps them.
 *
 * Deletes go in batches of short transactions, so no run holds locks or bloats WAL for long, and
 * one replica at a time purges: each batch takes a transaction-level advisory lock, which also
 * holds behind a transaction-pooling PgBouncer. A replica that finds it taken skips its turn, or,
 * mid-run, leaves the rest to the replica that took it.
 */
import type pg from 'pg';
import { withClient } from '../db/pool.js';

export interface RetentionPolicy {
  endedSessionDays: number;
  /** 0 keeps security events for ever. */
  securityEventDays: number;
}

export const purgedTables = ['refresh_tokens', 'one_time_tokens', 'sessions', 'security_events'] as const;
export type PurgedTable = (typeof purgedTables)[number];
export type PurgeCounts = Record<PurgedTable, number>;

/** Spent tokens stay a day past their expiry or use: room for clock skew and for reading a support case. */
const spentTokenSlackHours = 24;

interface Rule {
  table: PurgedTable;
  /** Which rows may go; `$1` is the rule's one parameter. */
  where: string;
  value: number;
}

/** What each table keeps, under `policy`. */
export function retentionRules(policy: RetentionPolicy): Rule[] {
  const rules: Rule[] = [
    { table: 'refresh_tokens', where: 'expires_at < now() - make_interval(hours => $1)', value: spentTokenSlackHours },
    { table: 'one_time_tokens', where: 'expires_at < now() - make_interval(hours => $1) OR used_at < now() - make_interval(hours => $1)', value: spentTokenSlackHours },
    { table: 'sessions', where: 'expires_at < now() - make_interval(days => $1) OR revoked_at < now() - make_interval(days => $1)', value: policy.endedSessionDays },
  ];
  if (policy.securityEventDays > 0) rules.push({ table: 'security_events', where: 'occurred_at < now() - make_interval(days => $1)', value: policy.securityEventDays });
  return rules;
}

// Shared by every replica, distinct from the migration lock: pg_try_advisory_xact_lock(key) elects one purger per batch.
const retentionLockKey = 0x6b657972; // "keyr"

export interface PurgeOptions {
  /** Rows per DELETE (default 1000). */
  batchSize?: number;
  /** Checked between batches: a shutdown stops the run there. */
  stopping?: () => boolean;
}

/** One run over every table; 'busy' when another replica was running one. */
export async function purge(pool: pg.Pool, policy: RetentionPolicy, options: PurgeOptions = {}): Promise<PurgeCounts | 'busy'> {
  const batchSize = Math.max(1, Math.trunc(options.batchSize ?? 1000));
  return withClient(pool, async (client) => {
    const counts: PurgeCounts = { refresh_tokens: 0, one_time_tokens: 0, sessions: 0, security_events: 0 };
    let batches = 0;
    for (const rule of retentionRules(policy)) {
      for (;;) {
        if (options.stopping?.()) return counts;
        const deleted = await batch(client, rule, batchSize);
        if (deleted === 'busy') return batches === 0 ? 'busy' : counts;
        batches += 1;
        counts[rule.table] += deleted;
        if (deleted < batchSize) break;
      }
    }
    return counts;
  });
}

/** Deletes up to `batchSize` rows `rule` lets go, in one transaction; 'busy' when another replica holds the lock. */
async function batch(client: pg.PoolClient, rule: Rule, batchSize: number): Promise<number | 'busy'> {
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [retentionLockKey]);
    if (!rows[0]?.locked) {
      await client.query('ROLLBACK');
      return 'busy';
    }
    const { rowCount } = await client.query(
      `DELETE FROM ${rule.table} WHERE id IN (SELECT id FROM ${rule.table} WHERE ${rule.where} LIMIT ${batchSize})`,
      [rule.value],
    );
    await client.query('COMMIT');
    return rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
