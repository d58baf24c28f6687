/**
 * Versioned schema migrations, applied in order at start-up and by
 * `keyward-service migrate`, under an advisory lock, so replicas starting together
 * migrate once. Each migration applies all or nothing, in its own transaction, so a
 * lock it takes is held no longer than it runs: the old colour is serving meanwhile.
 * Never edit a released migration: add the next one. A migration only adds (tables,
 * nullable or defaulted columns, indexes); dropping what the previous release reads
 * waits a release, so that release still starts on the newer schema when a rollout
 * is rolled back.
 */
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { withClient } from './pool.js';

/** Statements run in one transaction. */
export interface SqlMigration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Indexes on tables that already hold data, built with CREATE INDEX CONCURRENTLY: writes go on
 * while they build, which a build inside a transaction would block for as long as it takes.
 */
export interface IndexMigration {
  version: number;
  name: string;
  /** Index name → what follows `ON` (`table (columns) [WHERE …]`). */
  indexes: Record<string, string>;
}

export type Migration = SqlMigration | IndexMigration;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, refresh tokens, security events',
    sql: `
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL UNIQUE,
        password_hash text NOT NULL,
        first_name text NOT NULL,
        last_name text NOT NULL,
        email_verified_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoked_reason text,
        ip inet,
        user_agent text
      );
      CREATE INDEX sessions_user_id ON sessions (user_id);
      CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;

      -- Refresh tokens are stored as SHA-256 hashes; a row is rotated at most once
      -- (rotated_at) and points at its successor, so reuse is detectable.
      CREATE TABLE refresh_tokens (
        id bigserial PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz,
        successor_id bigint REFERENCES refresh_tokens(id) ON DELETE SET NULL
      );
      CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

      CREATE TABLE security_events (
        id bigserial PRIMARY KEY,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        type text NOT NULL,
        user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        session_id uuid,
        ip inet,
        request_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb
      );
      CREATE INDEX security_events_user ON security_events (user_id, occurred_at);
      CREATE INDEX security_events_type ON security_events (type, occurred_at);
    `,
  },
  {
    version: 2,
    name: 'one-time tokens (email verification, password reset, MFA login), TOTP factors, recovery codes',
    sql: `
      -- Links mailed for verification and reset, and the mfa_token of a half-done login:
      -- random values stored as SHA-256 hashes, single-use (used_at), expiring.
      CREATE TABLE one_time_tokens (
        id bigserial PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'mfa_login')),
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id, purpose) WHERE used_at IS NULL;

      -- One TOTP factor per account: pending until confirmed with a code. last_used_step is the
      -- RFC 6238 time step of the last accepted code, so a code works once per period.
      CREATE TABLE totp_factors (
        user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        confirmed_at timestamptz,
        last_used_step bigint
      );

      CREATE TABLE recovery_codes (
        id bigserial PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz,
        UNIQUE (user_id, code_hash)
      );
    `,
  },
  {
    version: 3,
    name: 'email outbox for notices',
    sql: `
      -- Notices (password changed, second factor changed, …) waiting for the SMTP server.
      -- Messages that carry a live token (verification, reset) never come here: see
      -- service/email/templates.ts, "storable".
      CREATE TABLE email_outbox (
        id bigserial PRIMARY KEY,
        recipient text NOT NULL,
        template jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at);
    `,
  },
  {
    version: 4,
    name: 'password version, so a re-hash at a new bcrypt cost is no password change',
    sql: `
      -- Bumped by a password change or reset, not by re-hashing the same password at a new cost.
      -- A sign-in or change compares it to the one it verified: the hash itself may have been
      -- re-hashed meanwhile by another login, and that must not refuse the right password.
      -- Releases before this one change the hash without bumping it: while one still serves during
      -- a rollout, a sign-in racing a password change made there is not refused, as before them.
      ALTER TABLE users ADD COLUMN password_version integer NOT NULL DEFAULT 1;
    `,
  },
  {
    version: 5,
    name: 'indexes for the retention purge',
    // The purge (service/store/retention.ts) finds what it deletes by these columns; without them
    // every batch would scan the table. refresh_tokens_successor serves the foreign key's
    // ON DELETE SET NULL: without it, each deleted token scanned the whole table for its
    // predecessor.
    indexes: {
      refresh_tokens_expires: 'refresh_tokens (expires_at)',
      refresh_tokens_successor: 'refresh_tokens (successor_id) WHERE successor_id IS NOT NULL',
      one_time_tokens_expires: 'one_time_tokens (expires_at)',
      one_time_tokens_used: 'one_time_tokens (used_at) WHERE used_at IS NOT NULL',
      sessions_expires: 'sessions (expires_at)',
      sessions_revoked: 'sessions (revoked_at) WHERE revoked_at IS NOT NULL',
      security_events_occurred: 'security_events (occurred_at)',
    },
  },
];

// An arbitrary constant shared by every replica: pg_try_advisory_lock(key) serialises migrators.
const migrationLockKey = 0x6b657977; // "keyw"

/**
 * How long a migration's statement waits for a table lock before it gives up and tries again.
 * Waiting longer would hold every later query on that table in the lock's queue behind it: a
 * long transaction of the serving colour would turn an ALTER TABLE into an outage.
 */
const lockTimeout = '5s';
const lockAttempts = 6;
const lockNotAvailable = '55P03';

export interface MigrationResult {
  applied: Migration[];
  current: number;
}

/** Applies every migration newer than the database's version, in order, each all or none. */
export function migrate(pool: pg.Pool, log: (message: string) => void = () => undefined): Promise<MigrationResult> {
  return withClient(pool, (client) => migrateWith(client, log));
}

const deadlockDetected = '40P01';
const deadlockAttempts = 5;

async function migrateWith(client: pg.PoolClient, log: (message: string) => void): Promise<MigrationResult> {
  const applied: Migration[] = [];
  for (let attempt = 1; ; attempt += 1) {
    await lockMigrations(client, log);
    try {
      const current = await applyPending(client, log, applied);
      return { applied, current };
    } catch (err) {
      // A pod of an earlier release waits for this lock inside a transaction, so with a snapshot, which
      // CREATE INDEX CONCURRENTLY waits for in turn: PostgreSQL ends the build as a deadlock. Letting
      // go of the lock lets that pod through; the build then starts again (applyIndexes).
      if ((err as { code?: string }).code !== deadlockDetected || attempt === deadlockAttempts) throw err;
      log(`a migration deadlocked with a replica of an earlier release waiting to migrate; letting it through, then trying again (${attempt}/${deadlockAttempts})`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrationLockKey]).catch(() => undefined);
    }
    await sleep(1000 + Math.random() * 1000);
  }
}

/**
 * Takes the migration lock, polling rather than waiting in pg_advisory_lock(): a session blocked in
 * a statement holds a snapshot, and the CREATE INDEX CONCURRENTLY of the replica holding the lock
 * waits for every older snapshot, so two replicas starting together would deadlock. Between polls
 * this session holds none. The lock is a session lock, so DATABASE_URL must be a direct or
 * session-pooled connection, not a transaction-pooling PgBouncer.
 */
async function lockMigrations(client: pg.PoolClient, log: (message: string) => void): Promise<void> {
  for (let said = false; ; said = true) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [migrationLockKey]);
    if (rows[0]?.locked) return;
    if (!said) log('another replica is migrating the database; waiting for it');
    await sleep(250);
  }
}

/** Applies what is newer than the database's version, adding each to `applied`; returns the version now. */
async function applyPending(client: pg.PoolClient, log: (message: string) => void, applied: Migration[]): Promise<number> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0) AS version FROM schema_migrations');
  const from = rows[0]?.version ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (from > latest) {
    // A blue/green rollback: the new colour migrated, and pods of the old one must still
    // start (a restart, a scale-up). Migrations only add (expand, then contract a release
    // later), so this build's queries still hold on the newer schema.
    log(`the database schema is at version ${from}, newer than this build knows (${latest}): carrying on, as after a rollback`);
  }
  for (const migration of migrations) {
    if (migration.version <= from) continue;
    log(`applying migration ${migration.version}: ${migration.name}`);
    if ('sql' in migration) await applySql(client, migration, log);
    else await applyIndexes(client, migration, log);
    applied.push(migration);
  }
  return Math.max(from, latest);
}

async function applySql(client: pg.PoolClient, migration: SqlMigration, log: (message: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${lockTimeout}'`);
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      await client.query('COMMIT');
      return;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code !== lockNotAvailable || attempt === lockAttempts) throw err;
      log(`migration ${migration.version} waited ${lockTimeout} for a table lock held by a running transaction; trying again (${attempt}/${lockAttempts})`);
      await sleep(1000);
    }
  }
}

async function applyIndexes(client: pg.PoolClient, migration: IndexMigration, log: (message: string) => void): Promise<void> {
  for (const [name, on] of Object.entries(migration.indexes)) {
    // A build that was interrupted (a killed pod) leaves an INVALID index, which IF NOT EXISTS
    // would then take for done: it is dropped and built again.
    const { rows } = await client.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
        WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace`,
      [name],
    );
    if (rows[0]?.valid === false) {
      log(`index ${name} was left invalid by an interrupted build; building it again`);
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    }
    await client.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${on}`);
  }
  await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
}
