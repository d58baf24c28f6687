/**
 * TOTP factors and recovery codes. A factor is pending until its first code is
 * confirmed; `last_used_step` makes every code single-use (RFC 6238 §5.2: "the
 * verifier MUST NOT accept the second attempt of the same OTP").
 */
import type { Database, Queryable } from '../db/pool.js';

export interface TotpFactor {
  secret: string;
  confirmed: boolean;
  lastUsedStep: number | null;
}

export interface MfaStore {
  find(userId: string, tx?: Queryable): Promise<TotpFactor | undefined>;
  /** Stores a new pending secret; false when a confirmed factor exists (it is never replaced this way). */
  savePending(userId: string, secret: string): Promise<boolean>;
  /** Turns a pending factor on, recording the step of the code that confirmed it; false if none is pending. */
  confirm(tx: Queryable, userId: string, step: number): Promise<boolean>;
  /** Records an accepted code's step; false when that step (or a later one) was already used: a replay. */
  useStep(tx: Queryable, userId: string, step: number): Promise<boolean>;
  /** Deletes the factor and its recovery codes; false when there was no confirmed factor. */
  remove(tx: Queryable, userId: string): Promise<boolean>;
  replaceRecoveryCodes(tx: Queryable, userId: string, codeHashes: string[]): Promise<void>;
  /** Uses a recovery code up; false when it is unknown or already used. */
  useRecoveryCode(tx: Queryable, userId: string, codeHash: string): Promise<boolean>;
  remainingRecoveryCodes(tx: Queryable, userId: string): Promise<number>;
}

interface FactorRow {
  secret: string;
  confirmed_at: Date | null;
  last_used_step: string | null;
}

export function createMfaStore(db: Database): MfaStore {
  return {
    async find(userId, tx) {
      const sql = 'SELECT secret, confirmed_at, last_used_step FROM totp_factors WHERE user_id = $1';
      const { rows } = tx ? await tx.query<FactorRow>(sql, [userId]) : await db.query<FactorRow>('totp_factors.find', sql, [userId]);
      const row = rows[0];
      return row && { secret: row.secret, confirmed: row.confirmed_at !== null, lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step) };
    },
    async savePending(userId, secret) {
      const { rowCount } = await db.query(
        'totp_factors.save_pending',
        `INSERT INTO totp_factors (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now(), last_used_step = NULL
          WHERE totp_factors.confirmed_at IS NULL`,
        [userId, secret],
      );
      return (rowCount ?? 0) > 0;
    },
    async confirm(tx, userId, step) {
      const { rowCount } = await tx.query(
        'UPDATE totp_factors SET confirmed_at = now(), last_used_step = $2 WHERE user_id = $1 AND confirmed_at IS NULL',
        [userId, step],
      );
      return (rowCount ?? 0) > 0;
    },
    async useStep(tx, userId, step) {
      const { rowCount } = await tx.query(
        `UPDATE totp_factors SET last_used_step = $2
          WHERE user_id = $1 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $2)`,
        [userId, step],
      );
      return (rowCount ?? 0) > 0;
    },
    async remove(tx, userId) {
      const { rowCount } = await tx.query('DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL', [userId]);
      await tx.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      return (rowCount ?? 0) > 0;
    },
    async replaceRecoveryCodes(tx, userId, codeHashes) {
      await tx.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      await tx.query('INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])', [userId, codeHashes]);
    },
    async useRecoveryCode(tx, userId, codeHash) {
      const { rowCount } = await tx.query(
        'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL',
        [userId, codeHash],
      );
      return (rowCount ?? 0) > 0;
    },
    async remainingRecoveryCodes(tx, userId) {
      const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
      return rows[0]?.n ?? 0;
    },
  };
}
