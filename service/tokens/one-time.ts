/**
 * Single-use tokens: the links mailed for email verification and password reset,
 * and the `mfa_token` of a login waiting for its second factor. Random 256-bit
 * values (opaque.ts) stored only as SHA-256 hashes; consuming one is a single
 * UPDATE … WHERE used_at IS NULL, so two parallel uses cannot both succeed.
 * Expiry is judged by the database clock, like refresh tokens.
 */
import type { Database, Queryable } from '../db/pool.js';
import { hashOpaqueToken, newOpaqueToken } from './opaque.js';

export type TokenPurpose = 'verify_email' | 'reset_password' | 'mfa_login';

export interface OneTimeTokens {
  issue(tx: Queryable, userId: string, purpose: TokenPurpose, ttlSeconds: number): Promise<string>;
  /** Marks the token used and returns its user, or undefined when it is unknown, used, expired or for another purpose. */
  consume(tx: Queryable, token: string, purpose: TokenPurpose): Promise<string | undefined>;
  /** The user of a live token, without using it up. */
  peek(token: string, purpose: TokenPurpose): Promise<string | undefined>;
  /** Voids every live token of `purpose` for the user: a reset voids older reset links. */
  revokeAll(tx: Queryable, userId: string, purpose: TokenPurpose): Promise<void>;
}

// Our tokens are 43 characters; anything far longer is not one and is not hashed.
const maxTokenLength = 512;

export function createOneTimeTokens(db: Database): OneTimeTokens {
  return {
    async issue(tx, userId, purpose, ttlSeconds) {
      const token = newOpaqueToken();
      await tx.query(
        `INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
        [userId, purpose, hashOpaqueToken(token), ttlSeconds],
      );
      return token;
    },
    async consume(tx, token, purpose) {
      if (token.length > maxTokenLength) return undefined;
      const { rows } = await tx.query<{ user_id: string }>(
        `UPDATE one_time_tokens SET used_at = now()
          WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
          RETURNING user_id`,
        [hashOpaqueToken(token), purpose],
      );
      return rows[0]?.user_id;
    },
    async peek(token, purpose) {
      if (token.length > maxTokenLength) return undefined;
      const { rows } = await db.query<{ user_id: string }>(
        'one_time_tokens.peek',
        `SELECT user_id FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
        [hashOpaqueToken(token), purpose],
      );
      return rows[0]?.user_id;
    },
    async revokeAll(tx, userId, purpose) {
      await tx.query(`UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`, [userId, purpose]);
    },
  };
}
