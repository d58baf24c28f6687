/**
 * Refresh-token rotation with reuse detection, atomic in SQL.
 *
 * Every refresh consumes the presented token and issues its successor. The row
 * is locked (`FOR UPDATE`), so parallel refreshes of one token serialise and
 * never produce two successors. A rotated token presented again:
 *  - within the grace window (a client retrying after a lost response, two tabs
 *    racing) gets the same successor back;
 *  - after it, is treated as stolen: the whole session is revoked (OAuth 2.0
 *    Security BCP, RFC 9700 §4.14.2).
 *
 * The successor is derived as HMAC(key, presented token) rather than drawn at
 * random, so the grace path can hand back the same successor while the
 * database stores only hashes.
 */
import { createHmac } from 'node:crypto';
import type { Database, Queryable } from '../db/pool.js';
import { hashOpaqueToken, newOpaqueToken } from './opaque.js';

export type RotationResult =
  | { kind: 'rotated'; token: string; sessionId: string; userId: string }
  | { kind: 'reused'; sessionId: string; userId: string }
  | { kind: 'invalid' };

export interface RefreshTokens {
  /** Issues the first refresh token of a new session, inside the session's transaction. */
  issue(tx: Queryable, sessionId: string, expiresAt: Date): Promise<string>;
  /**
   * Rotates `token`. A `reused` result has already revoked the session, committed, together with
   * what `onReuse` wrote in the same transaction (the security event: one without the other is
   * either a revocation nobody can account for, or an answer of 500 to the thief).
   */
  rotate(token: string, onReuse?: (tx: Queryable, reused: Extract<RotationResult, { kind: 'reused' }>) => Promise<void>): Promise<RotationResult>;
}

export interface RefreshTokenOptions {
  db: Database;
  /** Secret key for deriving successors; the same on every replica. */
  successorKey: Buffer;
  ttlSeconds: number;
  reuseGraceSeconds: number;
}

interface TokenRow {
  id: string;
  session_id: string;
  user_id: string;
  expired: boolean;
  session_live: boolean;
  rotated_at: Date | null;
  within_grace: boolean;
  successor_id: string | null;
  successor_hash: string | null;
  successor_rotated: boolean | null;
}

export function createRefreshTokens(options: RefreshTokenOptions): RefreshTokens {
  const { db } = options;
  const successorOf = (token: string): string => createHmac('sha256', options.successorKey).update(token).digest('base64url');

  const insert = async (tx: Queryable, sessionId: string, token: string, expiresAt: Date | null): Promise<string> => {
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
       VALUES ($1, $2, coalesce($3, now() + make_interval(secs => $4))) RETURNING id`,
      [sessionId, hashOpaqueToken(token), expiresAt, options.ttlSeconds],
    );
    return rows[0]!.id;
  };

  // session_live in rotate's SELECT comes from a snapshot: a logout committing since would let us hand
  // out a pair that is dead on arrival. This UPDATE locks the session row and re-checks its newest
  // version, so a revocation either committed first (no row: refused, nothing written) or waits for
  // this rotation and then revokes its successor with it.
  const touchLiveSession = async (tx: Queryable, sessionId: string): Promise<boolean> => {
    const { rowCount } = await tx.query(
      'UPDATE sessions SET last_used_at = now() WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()',
      [sessionId],
    );
    return rowCount === 1;
  };

  return {
    async issue(tx, sessionId, expiresAt) {
      const token = newOpaqueToken();
      await insert(tx, sessionId, token, expiresAt);
      return token;
    },

    rotate(token, onReuse) {
      return db.transaction('refresh_tokens.rotate', async (tx): Promise<RotationResult> => {
        // Lock first, read second. A parallel refresh of the same token waits here; once it
        // gets the lock, the next statement takes a fresh snapshot (READ COMMITTED) and sees
        // the successor the winner committed. Locking inside the joined query instead would
        // re-check only the locked row and read the successor from the stale snapshot,
        // mistaking a racing twin for token theft.
        await tx.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [hashOpaqueToken(token)]);
        // All time comparisons use the database clock, so replicas with skewed clocks agree.
        const { rows } = await tx.query<TokenRow>(
          `SELECT rt.id, rt.session_id, s.user_id,
                  rt.expires_at <= now() AS expired,
                  (s.revoked_at IS NULL AND s.expires_at > now()) AS session_live,
                  rt.rotated_at,
                  rt.rotated_at > now() - make_interval(secs => $2) AS within_grace,
                  rt.successor_id, succ.token_hash AS successor_hash, succ.rotated_at IS NOT NULL AS successor_rotated
             FROM refresh_tokens rt
             JOIN sessions s ON s.id = rt.session_id
             LEFT JOIN refresh_tokens succ ON succ.id = rt.successor_id
            WHERE rt.token_hash = $1`,
          [hashOpaqueToken(token), options.reuseGraceSeconds],
        );
        const row = rows[0];
        if (!row || !row.session_live || row.expired) return { kind: 'invalid' };

        const successor = successorOf(token);
        if (row.rotated_at === null) {
          if (!(await touchLiveSession(tx, row.session_id))) return { kind: 'invalid' };
          const successorId = await insert(tx, row.session_id, successor, null);
          await tx.query('UPDATE refresh_tokens SET rotated_at = now(), successor_id = $2 WHERE id = $1', [row.id, successorId]);
          return { kind: 'rotated', token: successor, sessionId: row.session_id, userId: row.user_id };
        }
        if (row.within_grace && row.successor_rotated === false) {
          if (row.successor_hash === hashOpaqueToken(successor)) {
            if (!(await touchLiveSession(tx, row.session_id))) return { kind: 'invalid' };
            return { kind: 'rotated', token: successor, sessionId: row.session_id, userId: row.user_id };
          }
          // The successor was derived with another key (a signing-key rotation, or the other colour
          // during a blue/green flip): a retry, not theft. Refuse it without revoking the session.
          return { kind: 'invalid' };
        }
        await tx.query(
          `UPDATE sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reuse' WHERE id = $1 AND revoked_at IS NULL`,
          [row.session_id],
        );
        const reused = { kind: 'reused' as const, sessionId: row.session_id, userId: row.user_id };
        await onReuse?.(tx, reused);
        return reused;
      });
    },
  };
}
