/**
 * TOTP factors and recovery codes. A factor is pending until its first code is
 * confirmed; `last_used_step` makes every code single-use (RFC 6238 §5.2: "the
 * verifier MUST NOT accept the second attempt of the same OTP").
 *
 * Secrets are encrypted at rest (../mfa/secret-box.ts). This store is the only
 * code that reads or writes `totp_factors.secret`, so it encrypts and decrypts
 * here and nowhere else: no caller can write a plaintext secret by mistake.
 */
import type { Database, Queryable } from '../db/pool.js';
import { AppError } from '../errors.js';
import type { TotpKeyRing } from '../mfa/encryption-keys.js';
import { isSealed, openSecret, sealSecret, type SecretFailure } from '../mfa/secret-box.js';

export interface TotpFactor {
  confirmed: boolean;
  lastUsedStep: number | null;
}

/** A factor with its secret decrypted, for checking a code. */
export interface OpenedTotpFactor extends TotpFactor {
  secret: string;
  /** The column as read, so a re-encryption only replaces what was decrypted. */
  stored: string;
  /** Encrypted with a previous key, or not at all: `reseal` after its next successful use. */
  stale: boolean;
}

export interface MfaStore {
  /** The factor's state without decrypting its secret: all a password login needs to know. */
  find(userId: string, tx?: Queryable): Promise<TotpFactor | undefined>;
  /**
   * The factor with its secret; undefined when there is none. Throws 503
   * `mfa_unavailable` when no key decrypts it (no TOTP_ENCRYPTION_KEY, a key
   * retired too early, a row copied from another user): never "wrong code".
   */
  open(userId: string, tx?: Queryable): Promise<OpenedTotpFactor | undefined>;
  /** Stores a new pending secret, encrypted; false when a confirmed factor exists (it is never replaced this way). */
  savePending(userId: string, secret: string): Promise<boolean>;
  /** After a successful use of a stale factor: encrypts it again with the current key. A no-op otherwise. */
  reseal(tx: Queryable, userId: string, factor: OpenedTotpFactor): Promise<void>;
  /**
   * Turns the pending factor `factor` (as opened) on, recording the step of the code that confirmed
   * it; false if none is pending, or if another enrolment has replaced its secret since.
   */
  confirm(tx: Queryable, userId: string, factor: OpenedTotpFactor, step: number): Promise<boolean>;
  /** Records an accepted code's step; false when that step (or a later one) was already used: a replay. */
  useStep(tx: Queryable, userId: string, step: number): Promise<boolean>;
  /** Deletes the factor and its recovery codes; false when there was no confirmed factor. */
  remove(tx: Queryable, userId: string): Promise<boolean>;
  replaceRecoveryCodes(tx: Queryable, userId: string, codeHashes: string[]): Promise<void>;
  /** Uses a recovery code up; false when it is unknown or already used. */
  useRecoveryCode(tx: Queryable, userId: string, codeHash: string): Promise<boolean>;
  remainingRecoveryCodes(tx: Queryable, userId: string): Promise<number>;
  /**
   * Encrypts with the current key every secret still in plaintext or under a previous key, in
   * batches; returns how many of each, and how many no configured key opens (left as they are).
   */
  sealStale(): Promise<{ plaintext: number; rekeyed: number; failed: number }>;
  /** How many factors each key encrypted, by kid; `plaintext` counts those not encrypted yet. */
  countByKey(): Promise<Map<string, number>>;
}

interface FactorRow {
  secret: string;
  confirmed_at: Date | null;
  last_used_step: string | null;
}

// What newTotpSecret() wrote before secrets were encrypted: RFC 4648 base32.
const plaintextPattern = '^[A-Z2-7]+=*$';
const plaintext = new RegExp(plaintextPattern);
// Factors resealed per transaction at start-up.
const sealBatch = 500;

const unavailable = (reason: string): AppError => new AppError('mfa_unavailable', { cause: new Error(reason) });

function failure(userId: string, result: SecretFailure): AppError {
  switch (result.reason) {
    case 'unknown_key':
      return unavailable(`the TOTP secret of user ${userId} was encrypted with key ${result.kid ?? '?'}, which is neither TOTP_ENCRYPTION_KEY nor in TOTP_PREVIOUS_ENCRYPTION_KEYS: add the key that encrypted it to TOTP_PREVIOUS_ENCRYPTION_KEYS`);
    case 'does_not_decrypt':
      return unavailable(`the TOTP secret of user ${userId} does not decrypt with key ${result.kid ?? '?'}: the row was altered or copied from another user's`);
    case 'malformed':
      return unavailable(`the TOTP secret of user ${userId} is neither an encrypted value (v1.<kid>.<iv>.<ciphertext>) nor a base32 secret`);
  }
}

const factorOf = (row: FactorRow): TotpFactor => ({
  confirmed: row.confirmed_at !== null,
  lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
});

/** `keys` undefined: production without TOTP_ENCRYPTION_KEY, where every use of a secret answers 503. */
export function createMfaStore(db: Database, keys: TotpKeyRing | undefined): MfaStore {
  const noKey = (): AppError => unavailable('TOTP_ENCRYPTION_KEY is not set, and NODE_ENV=production does not generate one: set it to 32 random bytes in base64 (openssl rand -base64 32)');
  const read = async (userId: string, tx?: Queryable): Promise<FactorRow | undefined> => {
    const sql = 'SELECT secret, confirmed_at, last_used_step FROM totp_factors WHERE user_id = $1';
    const { rows } = tx ? await tx.query<FactorRow>(sql, [userId]) : await db.query<FactorRow>('totp_factors.find', sql, [userId]);
    return rows[0];
  };

  return {
    async find(userId, tx) {
      const row = await read(userId, tx);
      return row && factorOf(row);
    },
    async open(userId, tx) {
      const row = await read(userId, tx);
      if (!row) return undefined;
      const factor = { ...factorOf(row), stored: row.secret };
      if (!isSealed(row.secret)) {
        // Start-up encrypts every plaintext secret (sealStale). One can still appear while an older
        // version runs beside this one during a rollout and enrolls someone: accept it, and encrypt it
        // at its first successful use, rather than lock that user out until the next restart.
        // Without a key too: a deployment upgraded before it set TOTP_ENCRYPTION_KEY still holds
        // plaintext secrets, and refusing them would lock out every user with a second factor
        // while protecting nothing (start-up warns; reseal waits for a key).
        if (!plaintext.test(row.secret)) throw failure(userId, { ok: false, reason: 'malformed' });
        return { ...factor, secret: row.secret, stale: true };
      }
      if (!keys) throw noKey();
      const opened = openSecret(keys, userId, row.secret);
      if (!opened.ok) throw failure(userId, opened);
      return { ...factor, secret: opened.secret, stale: opened.kid !== keys.current.kid };
    },
    async savePending(userId, secret) {
      if (!keys) throw noKey();
      const { rowCount } = await db.query(
        'totp_factors.save_pending',
        `INSERT INTO totp_factors (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now(), last_used_step = NULL
          WHERE totp_factors.confirmed_at IS NULL`,
        [userId, sealSecret(keys, userId, secret)],
      );
      return (rowCount ?? 0) > 0;
    },
    async reseal(tx, userId, factor) {
      if (!factor.stale || !keys) return;
      // Only if the row still holds what was decrypted: a concurrent change is left alone.
      await tx.query('UPDATE totp_factors SET secret = $3 WHERE user_id = $1 AND secret = $2', [userId, factor.stored, sealSecret(keys, userId, factor.secret)]);
    },
    async confirm(tx, userId, factor, step) {
      // Only the secret the code was checked against: an enrolment racing this one may have replaced it.
      const { rowCount } = await tx.query(
        'UPDATE totp_factors SET confirmed_at = now(), last_used_step = $3 WHERE user_id = $1 AND secret = $2 AND confirmed_at IS NULL',
        [userId, factor.stored, step],
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
    async sealStale() {
      const done = { plaintext: 0, rekeyed: 0, failed: 0 };
      if (!keys) return done;
      const previousKids = [...keys.keys.keys()].filter((kid) => kid !== keys.current.kid);
      const failedUsers: string[] = [];
      // Batches of their own transactions: a large table is not held under one lock for long,
      // and SKIP LOCKED lets replicas starting together share the work (and skip a row a
      // sign-in is resealing). Rows no key opens are left alone, reported, and not retried.
      for (;;) {
        const batch = await db.transaction('totp_factors.seal_stale', async (tx) => {
          const { rows } = await tx.query<{ user_id: string; secret: string }>(
            `SELECT user_id, secret FROM totp_factors
              WHERE (secret ~ '${plaintextPattern}' OR split_part(secret, '.', 2) = ANY($1::text[])) AND user_id <> ALL($2::uuid[])
              ORDER BY user_id LIMIT ${sealBatch} FOR UPDATE SKIP LOCKED`,
            [previousKids, failedUsers],
          );
          const sealed: { userId: string; secret: string }[] = [];
          for (const row of rows) {
            const wasPlaintext = !isSealed(row.secret);
            const opened = wasPlaintext ? { ok: true as const, secret: row.secret } : openSecret(keys, row.user_id, row.secret);
            if (!opened.ok) {
              failedUsers.push(row.user_id);
              done.failed += 1;
              continue;
            }
            sealed.push({ userId: row.user_id, secret: sealSecret(keys, row.user_id, opened.secret) });
            if (wasPlaintext) done.plaintext += 1;
            else done.rekeyed += 1;
          }
          if (sealed.length > 0) {
            await tx.query(
              `UPDATE totp_factors AS f SET secret = s.sealed FROM unnest($1::uuid[], $2::text[]) AS s(user_id, sealed)
                WHERE f.user_id = s.user_id`,
              [sealed.map((r) => r.userId), sealed.map((r) => r.secret)],
            );
          }
          return rows.length;
        });
        if (batch < sealBatch) return done;
      }
    },
    async countByKey() {
      const { rows } = await db.query<{ kid: string; n: number }>(
        'totp_factors.count_by_key',
        `SELECT CASE WHEN secret LIKE 'v1.%' THEN split_part(secret, '.', 2) ELSE 'plaintext' END AS kid, count(*)::int AS n
           FROM totp_factors GROUP BY 1`,
      );
      return new Map(rows.map((r) => [r.kid, r.n]));
    },
  };
}
