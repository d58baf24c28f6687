/**
 * Sessions: one per login, the unit that refresh tokens rotate within and that
 * logout revokes. Access tokens carry the session id (`sid`), and `isActive`
 * answers from the two-level cache while it is shared by every replica, from
 * PostgreSQL otherwise: revocation is immediate everywhere, and cheap with Redis.
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

export type RevocationReason = 'logout' | 'logout_all' | 'refresh_token_reuse' | 'user_request' | 'password_changed' | 'password_reset';

/** A live session as its owner sees it in GET /api/auth/sessions. */
export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  ip: string | null;
  user_agent: string | null;
}


export interface SessionStore {
  /** Inserts the session inside the caller's transaction; the caller calls remember() after commit. */
  create(tx: Queryable, session: NewSession): Promise<string>;
  /**
   * Puts a session the caller has committed in the cache, so the `me` that follows a login is a
   * hit. Never inside the transaction: Redis waited for there (up to REDIS_TIMEOUT_SECONDS in a
   * brownout) holds a pool connection and the user's row lock with it. A fill, never a write: a
   * revocation committed meanwhile (a password reset signing out every session) has left its
   * tombstone, which must stay.
   */
  remember(sessionId: string, session: Pick<NewSession, 'userId' | 'expiresAt'>): Promise<void>;
  /** True while the session exists, is not revoked and has not expired. */
  isActive(sessionId: string, userId: string): Promise<boolean>;
  /**
   * isActive answered from this process's memory alone, synchronously: true only when the cache
   * is shared (so memory hears of every revocation) and holds a live state for this user's session.
   * False means "not known here", not "revoked": the caller asks isActive.
   */
  knownActive(sessionId: string, userId: string): boolean;
  /**
   * isActive read from PostgreSQL inside `tx`, with the row share-locked until it ends: a
   * revocation committed first is seen, and one that comes later waits for the caller's change.
   */
  holdActive(tx: Queryable, sessionId: string, userId: string): Promise<boolean>;
  /**
   * Revokes inside the caller's transaction, which records the revocation's security event too; the
   * caller then calls markRevoked after commit. False when the session was revoked already.
   */
  revoke(tx: Queryable, sessionId: string, reason: RevocationReason): Promise<boolean>;
  /** As revoke, for every live session of the user but `except` (the caller's own, when a password change signs out the others). */
  revokeAllForUser(tx: Queryable, userId: string, reason: RevocationReason, except?: string): Promise<string[]>;
  /** Live sessions of the user, most recently used first. */
  listForUser(userId: string): Promise<SessionInfo[]>;
  /** The owner of a session, or undefined for an unknown id. */
  ownerOf(sessionId: string): Promise<string | undefined>;
  /** Publishes a revocation that was committed inside a caller's transaction to every replica's cache. */
  markRevoked(sessionId: string): Promise<void>;
  countActive(): Promise<number>;
}

const cacheKey = (sessionId: string): string => `session:${sessionId}`;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const live = (state: CachedSession, userId: string, at: number): boolean => state.userId === userId && !state.revoked && state.expiresAt > at;

export function createSessionStore(db: Database, cache: Cache, now: () => number = Date.now): SessionStore {
  // A tombstone, not a delete: a reader that looked the session up just before the revocation
  // committed could otherwise put "not revoked" back. Readers only fill absent keys (cache.add).
  const markRevoked = (id: string): Promise<void> =>
    cache.set<CachedSession>(cacheKey(id), { userId: '', revoked: true, expiresAt: 0 });

  return {
    async create(tx, session) {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO sessions (user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4) RETURNING id`,
        [session.userId, session.expiresAt, session.ip ?? null, session.userAgent?.slice(0, 512) ?? null],
      );
      return rows[0]!.id;
    },

    async remember(sessionId, session) {
      await cache.add<CachedSession>(cacheKey(sessionId), { userId: session.userId, revoked: false, expiresAt: session.expiresAt.getTime() });
    },

    async isActive(sessionId, userId) {
      if (!uuidPattern.test(sessionId)) return false;
      // This process's memory cannot be trusted with revocation unless something tells it of a logout
      // on another replica: without Redis nothing does, and while Redis is down (or has not yet caught
      // up with writes it missed) nothing reliably does. Then one primary-key lookup answers instead.
      const shared = cache.shared();
      let state = shared ? await cache.get<CachedSession>(cacheKey(sessionId)) : undefined;
      if (!state) {
        const { rows } = await db.query<{ user_id: string; revoked_at: Date | null; expires_at: Date }>(
          'sessions.state',
          'SELECT user_id, revoked_at, expires_at FROM sessions WHERE id = $1',
          [sessionId],
        );
        const row = rows[0];
        if (!row) return false;
        state = { userId: row.user_id, revoked: row.revoked_at !== null, expiresAt: row.expires_at.getTime() };
        // Fill only a cache that readers trust: an unshared fill would just take memory from profiles.
        if (shared) await cache.add(cacheKey(sessionId), state);
      }
      return live(state, userId, now());
    },

    async holdActive(tx, sessionId, userId) {
      if (!uuidPattern.test(sessionId)) return false;
      const { rows } = await tx.query(
        'SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now() FOR SHARE',
        [sessionId, userId],
      );
      return rows.length > 0;
    },

    knownActive(sessionId, userId) {
      if (!cache.shared()) return false;
      const state = cache.peek<CachedSession>(cacheKey(sessionId));
      return state !== undefined && live(state, userId, now());
    },

    async revoke(tx, sessionId, reason) {
      const result = await tx.query(`UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`, [sessionId, reason]);
      return (result.rowCount ?? 0) > 0;
    },

    async revokeAllForUser(tx, userId, reason, except) {
      const { rows } = await tx.query<{ id: string }>(
        `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
          WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id`,
        [userId, reason, except ?? null],
      );
      return rows.map((row) => row.id);
    },

    async listForUser(userId) {
      const { rows } = await db.query<{ id: string; created_at: Date; last_used_at: Date; ip: string | null; user_agent: string | null }>(
        'sessions.list',
        `SELECT id, created_at, last_used_at, host(ip) AS ip, user_agent FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
          ORDER BY last_used_at DESC, created_at DESC`,
        [userId],
      );
      return rows.map((row) => ({
        id: row.id,
        created_at: row.created_at.toISOString(),
        last_used_at: row.last_used_at.toISOString(),
        ip: row.ip,
        user_agent: row.user_agent,
      }));
    },

    async ownerOf(sessionId) {
      if (!uuidPattern.test(sessionId)) return undefined;
      const { rows } = await db.query<{ user_id: string }>('sessions.owner', 'SELECT user_id FROM sessions WHERE id = $1', [sessionId]);
      return rows[0]?.user_id;
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
