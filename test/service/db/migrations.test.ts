import { expect } from 'chai';
import pg from 'pg';
import { migrate, migrations } from '../../../service/db/migrations.js';
import { createTestDatabase } from '../../support/postgres.js';

describe('service/db/migrations', () => {
  it('upgrades a database at version 1 with accounts in it to the latest version, keeping the accounts', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase('migrate') });
    try {
      // A database as the first release left it: migration 1 only, and a user.
      await pool.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await pool.query(migrations[0]!.sql);
      await pool.query('INSERT INTO schema_migrations (version, name) VALUES (1, $1)', [migrations[0]!.name]);
      await pool.query(`INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('old@example.com', 'x', 'Old', 'User')`);

      const result = await migrate(pool);
      expect(result.applied.map((m) => m.version)).to.deep.equal(migrations.slice(1).map((m) => m.version));
      expect(result.current).to.equal(migrations.at(-1)!.version);
      const tables = (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.map((r) => r.tablename);
      expect(tables).to.include.members(['one_time_tokens', 'totp_factors', 'recovery_codes', 'email_outbox']);
      expect((await pool.query('SELECT email FROM users')).rows).to.deep.equal([{ email: 'old@example.com' }]);
      expect((await migrate(pool)).applied).to.deep.equal([]);
    } finally {
      await pool.end();
    }
  });

  it('starts on a schema newer than it knows, as the old colour must after a rolled-back release, and says so', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase('migrate') });
    try {
      await migrate(pool);
      const next = migrations.at(-1)!.version + 1;
      await pool.query(`CREATE TABLE next_release (id int)`);
      await pool.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [next, 'from the next release']);
      const said: string[] = [];
      const result = await migrate(pool, (line) => said.push(line));
      expect(result).to.deep.equal({ applied: [], current: next });
      expect(said.join('\n')).to.contain(`schema is at version ${next}, newer than this build knows`);
      expect((await pool.query('SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1')).rows).to.deep.equal([{ version: next }]);
    } finally {
      await pool.end();
    }
  });

  it('numbers migrations 1, 2, … without gaps', () => {
    expect(migrations.map((m) => m.version)).to.deep.equal(migrations.map((_, i) => i + 1));
  });

  it('refuses a one-time token of an unknown purpose', async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase('migrate') });
    try {
      await migrate(pool);
      const { rows } = await pool.query(`INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('a@example.com', 'x', 'A', 'B') RETURNING id`);
      try {
        await pool.query(`INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, 'admin', 'h', now())`, [rows[0].id]);
        expect.fail('accepted an unknown purpose');
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('23514'); // check_violation
      }
    } finally {
      await pool.end();
    }
  });
});
