/** The users table: accounts and their password hashes. Hashes never leave this module's row type. */
import type { Database, Queryable } from '../db/pool.js';
import { AppError } from '../errors.js';

/** What clients see of an account: never the password hash. */
export interface PublicUser {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  email_verified: boolean;
  created_at: string;
}

export interface UserWithHash {
  user: PublicUser;
  passwordHash: string;
  /** Changes with the password (setPassword), not with a re-hash of it (upgradeHash). */
  passwordVersion: number;
}

interface UserRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  email_verified_at: Date | null;
  created_at: Date;
  password_hash: string;
  password_version: number;
}

const toPublic = (row: UserRow): PublicUser => ({
  id: row.id,
  email: row.email,
  first_name: row.first_name,
  last_name: row.last_name,
  email_verified: row.email_verified_at !== null,
  created_at: row.created_at.toISOString(),
});

const toAccount = (row: UserRow | undefined): UserWithHash | undefined =>
  (row ? { user: toPublic(row), passwordHash: row.password_hash, passwordVersion: row.password_version } : undefined);

const uniqueViolation = '23505';

export interface NewUser {
  email: string;
  passwordHash: string;
  firstName: string;
  lastName: string;
}

export interface UserStore {
  create(tx: Queryable, user: NewUser): Promise<PublicUser>;
  findByEmail(email: string): Promise<UserWithHash | undefined>;
  /** findByIdWithHash without the hash: the same query. */
  findById(id: string): Promise<PublicUser | undefined>;
  findByIdWithHash(id: string): Promise<UserWithHash | undefined>;
  /**
   * Reads the user inside a sign-in's `tx`, locked FOR SHARE until it ends. A password change or
   * reset (setPassword, an UPDATE of the row) has then either committed, and this returns its hash,
   * or waits until the sign-in's session exists, and revokes it with the others.
   */
  lockForSignIn(tx: Queryable, id: string): Promise<UserWithHash | undefined>;
  /**
   * The account, with the row locked for update until `tx` ends: a change that must see the hash
   * it verified still in place (change-password, turning MFA off) reads it this way, after any
   * change or reset that committed first and before any that comes later. Every writer of the
   * account's mailed links takes it too, before the links (auth/mailed-link.ts): one lock order.
   */
  lockForChange(tx: Queryable, id: string): Promise<UserWithHash | undefined>;
  /** Takes the row lock that sign-ins wait for (lockForSignIn): call it first in a password change's transaction. */
  setPassword(tx: Queryable, id: string, passwordHash: string): Promise<PublicUser>;
  /**
   * Replaces `verifiedHash` by `newHash` of the same password (a re-hash at a new bcrypt cost),
   * unless the password changed since it was verified. Keeps the password version and updated_at:
   * nothing about the account changed. True when it replaced the hash.
   */
  upgradeHash(id: string, verifiedHash: string, newHash: string): Promise<boolean>;
  /** Sets email_verified_at unless it is set already; returns the user as it now is. */
  markEmailVerified(tx: Queryable, id: string): Promise<PublicUser>;
}

export function createUserStore(db: Database): UserStore {
  const findByIdWithHash = async (id: string): Promise<UserWithHash | undefined> => {
    const { rows } = await db.query<UserRow>('users.find_by_id', 'SELECT * FROM users WHERE id = $1', [id]);
    return toAccount(rows[0]);
  };

  return {
    async create(tx, user) {
      try {
        const { rows } = await tx.query<UserRow>(
          `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ($1, $2, $3, $4) RETURNING *`,
          [user.email, user.passwordHash, user.firstName, user.lastName],
        );
        return toPublic(rows[0]!);
      } catch (err) {
        if ((err as { code?: string }).code === uniqueViolation) throw new AppError('email_taken', { cause: err });
        throw err;
      }
    },
    async findByEmail(email) {
      const { rows } = await db.query<UserRow>('users.find_by_email', 'SELECT * FROM users WHERE email = $1', [email]);
      return toAccount(rows[0]);
    },
    findById: async (id) => (await findByIdWithHash(id))?.user,
    findByIdWithHash,
    async lockForSignIn(tx, id) {
      const { rows } = await tx.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR SHARE', [id]);
      return toAccount(rows[0]);
    },
    async lockForChange(tx, id) {
      const { rows } = await tx.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id]);
      return toAccount(rows[0]);
    },
    async setPassword(tx, id, passwordHash) {
      const { rows } = await tx.query<UserRow>(
        'UPDATE users SET password_hash = $2, password_version = password_version + 1, updated_at = now() WHERE id = $1 RETURNING *',
        [id, passwordHash],
      );
      return toPublic(rows[0]!);
    },
    async upgradeHash(id, verifiedHash, newHash) {
      const { rowCount } = await db.query('users.upgrade_hash', 'UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, verifiedHash, newHash]);
      return rowCount === 1;
    },
    async markEmailVerified(tx, id) {
      const { rows } = await tx.query<UserRow>(
        'UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now() WHERE id = $1 RETURNING *',
        [id],
      );
      return toPublic(rows[0]!);
    },
  };
}
