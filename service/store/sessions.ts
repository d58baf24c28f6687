/**
 * Sessions: one per login, the unit that refresh tokens rotate within and that
 * logout revokes. Access tokens carry the session id (`sid`), and `isActive`
 * answers from the two-level cache so revocation is immediate yet cheap.
 */
import type { Cache } from '../cache/two-level.js';
import type { Database, Queryable } from '../db/pool.js';

export interface NewSession {
  userId: string;
  expiresAt: Date;
  ip: string | undefined;
  userAgent: string | undefined;
}

interface CachedSession {
  userId: string;
  revoked: boolean;
  expiresAt: number;
}

export type RevocationReason = 'logout' | 'logout_all' | 'refresh_token_reuse' | 'user_request';

export interface SessionStore {
  create(tx: Queryable, session: NewSession): Promise<string>;
  /** True while the session exists, is not revoked and has not expired. */
  isActive(sessionId: string, userId: string): Promise<boolean>;
  revoke(sessionId: string, reason: RevocationReason, tx?: Queryable): Promise<boolean>;
  revokeAllForUser(userId: string, reason: RevocationReason): Promise<string[]>;
  /** Publishes a revocation that was committed inside a caller's transaction to every replica's cache. */
  markRevoked(sessionId: string): Promise<void>;
  countActive(): Promise<number>;
}

const cacheKey = (sessionId: string): string => `session:${sessionId}`;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createSessionStore(db: Database, cache: Cache, now: () => number = Date.now): SessionStore {
  const markRevoked = async (id: string): Promise<void> => {
    const cached = await cache.get<CachedSession>(cacheKey(id));
    if (cached) await cache.set<CachedSession>(cacheKey(id), { ...cached, revoked: true });
    else await cache.delete(cacheKey(id));
  };

  return {
    async create(tx, session) {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO sessions (user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4) RETURNING id`,
        [session.userId, session.expiresAt, session.ip ?? null, session.userAgent?.slice(0, 512) ?? null],
      );
      const id = rows[0]!.id;
      // Written through at creation: the `me` that follows a login is a cache hit.
      await cache.set<CachedSession>(cacheKey(id), { userId: session.userId, revoked: false, expiresAt: session.expiresAt.getTime() });
      return id;
    },

    async isActive(sessionId, userId) {
      if (!uuidPattern.test(sessionId)) return false;
      // While Redis is down, a logout on another replica cannot reach this one's memory: ask PostgreSQL.
      let state = cache.shared() ? await cache.get<CachedSession>(cacheKey(sessionId)) : undefined;
      if (!state) {
        const { rows } = await db.query<{ user_id: string; revoked_at: Date | null; expires_at: Date }>(
          'sessions.state',
          'SELECT user_id, revoked_at, expires_at FROM sessions WHERE id = $1',
          [sessionId],
        );
        const row = rows[0];
        if (!row) return false;
        state = { userId: row.user_id, revoked: row.revoked_at !== null, expiresAt: row.expires_at.getTime() };
        await cache.set(cacheKey(sessionId), state);
      }
      return state.userId === userId && !state.revoked && state.expiresAt > now();
    },

    async revoke(sessionId, reason, tx) {
      const sql = `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`;
      const result = tx ? await tx.query(sql, [sessionId, reason]) : await db.query('sessions.revoke', sql, [sessionId, reason]);
      if (!tx) await markRevoked(sessionId);
      return (result.rowCount ?? 0) > 0;
    },

    async revokeAllForUser(userId, reason) {
      const { rows } = await db.query<{ id: string }>(
        'sessions.revoke_all',
        `UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`,
        [userId, reason],
      );
      await Promise.all(rows.map((row) => markRevoked(row.id)));
      return rows.map((row) => row.id);
    },

    markRevoked,

    async countActive() {
      const { rows } = await db.query<{ count: string }>(
        'sessions.count_active',
        'SELECT count(*) AS count FROM sessions WHERE revoked_at IS NULL AND expires_at > now()',
      );
      return Number(rows[0]?.count ?? 0);
    },
  };
}
