import { expect } from 'chai';
import pg from 'pg';
import { migrate, migrations, type SqlMigration } from '../../../service/db/migrations.js';
import { createTestDatabase, withFreshDatabase } from '../../support/postgres.js';
import { holdLock } from '../http/row-lock.js';
import { spawnCli } from '../resilience/cli-process.js';

describe('service/db/migrations', () => {
  it('upgrades a database at version 1 with accounts in it to the latest version, keeping the accounts', async () => {
    await withFreshDatabase('migrate', async (pool) => {
      // A database as the first release left it: migration 1 only, and a user.
      await pool.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await pool.query((migrations[0] as SqlMigration).sql);
      await pool.query('INSERT INTO schema_migrations (version, name) VALUES (1, $1)', [migrations[0]!.name]);
      await pool.query(`INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('old@example.com', 'x', 'Old', 'User')`);

      const result = await migrate(pool);
      expect(result.applied.map((m) => m.version)).to.deep.equal(migrations.slice(1).map((m) => m.version));
      expect(result.current).to.equal(migrations.at(-1)!.version);
      const tables = (await pool.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.map((r) => r.tablename);
      expect(tables).to.include.members(['one_time_tokens', 'totp_factors', 'recovery_codes', 'email_outbox']);
      expect((await pool.query('SELECT email FROM users')).rows).to.deep.equal([{ email: 'old@example.com' }]);
      expect((await migrate(pool)).applied).to.deep.equal([]);
    });
  });

  it('starts on a schema newer than it knows, as the old colour must after a rolled-back release, and says so', async () => {
    await withFreshDatabase('migrate', async (pool) => {
      await migrate(pool);
      const next = migrations.at(-1)!.version + 1;
      await pool.query(`CREATE TABLE next_release (id int)`);
      await pool.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [next, 'from the next release']);
      const said: string[] = [];
      const result = await migrate(pool, (line) => said.push(line));
      expect(result).to.deep.equal({ applied: [], current: next });
      expect(said.join('\n')).to.contain(`schema is at version ${next}, newer than this build knows`);
      expect((await pool.query('SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1')).rows).to.deep.equal([{ version: next }]);
    });
  });

  it('builds the indexes of an index migration again when an interrupted build left one invalid', async () => {
    await withFreshDatabase('migrate', async (pool) => {
      await migrate(pool);
      const indexed = migrations.findLast((m) => 'indexes' in m)!;
      const name = Object.keys((indexed as { indexes: Record<string, string> }).indexes)[0]!;
      // What a killed CREATE INDEX CONCURRENTLY leaves behind, and the version it never recorded.
      await pool.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = $1::regclass`, [name]);
      await pool.query('DELETE FROM schema_migrations WHERE version >= $1', [indexed.version]);
      const said: string[] = [];
      await migrate(pool, (line) => said.push(line));
      expect(said).to.include(`index ${name} was left invalid by an interrupted build; building it again`);
      const { rows } = await pool.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = $1::regclass`, [name]);
      expect(rows).to.deep.equal([{ indisvalid: true }]);
    });
  });

  it('builds indexes while the serving colour writes: inserts go on while the build waits for an open transaction', async function () {
    this.timeout(30_000);
    await withFreshDatabase('migrate', async (pool, databaseUrl) => {
      await migrate(pool);
      await pool.query('DELETE FROM schema_migrations WHERE version = 5');
      await pool.query('DROP INDEX security_events_occurred');
      // A request of the serving colour, mid-transaction with a row in the table.
      const serving = await holdLock(databaseUrl, `INSERT INTO security_events (type) VALUES ('login_failed')`);
      try {
        const migrating = migrate(pool);
        await serving.waitUntilBlocking(); // the build waits for that transaction to end
        // A build inside a transaction would hold a SHARE lock request here, and every insert would queue behind it.
        const other = new pg.Client({ connectionString: databaseUrl, statement_timeout: 3000 });
        await other.connect();
        try {
          await other.query(`INSERT INTO security_events (type) VALUES ('login_succeeded')`);
        } finally {
          await other.end();
        }
        await serving.commit();
        await migrating;
      } finally {
        await serving.close();
      }
      const { rows } = await pool.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'security_events_occurred'::regclass`);
      expect(rows).to.deep.equal([{ indisvalid: true }]);
      expect((await pool.query('SELECT count(*)::int AS n FROM security_events')).rows).to.deep.equal([{ n: 2 }]);
    });
  });

  it('lets two replicas migrate one fresh database at once: one applies, the other waits without deadlocking its index builds', async function () {
    this.timeout(30_000);
    await withFreshDatabase('migrate', async (a, databaseUrl) => {
      const b = new pg.Pool({ connectionString: databaseUrl });
      try {
        const said: string[] = [];
        const results = await Promise.all([migrate(a, (line) => said.push(line)), migrate(b, (line) => said.push(line))]);
        expect(results.map((r) => r.applied.length).sort()).to.deep.equal([0, migrations.length]);
        expect(results.map((r) => r.current)).to.deep.equal([migrations.length, migrations.length]);
        expect(said).to.include('another replica is migrating the database; waiting for it');
        const { rows } = await a.query(`SELECT count(*)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`);
        expect(rows, 'invalid indexes').to.deep.equal([{ n: 0 }]);
      } finally {
        await b.end();
      }
    });
  });

  it('applies each migration in its own transaction: a failing one leaves those before it applied', async () => {
    await withFreshDatabase('migrate', async (pool) => {
      await migrate(pool);
      // Migration 4 cannot apply on a database that has its column already; 3 and those before it stay.
      await pool.query('DELETE FROM schema_migrations WHERE version >= 4');
      const failure = await migrate(pool).then(() => undefined, (err: unknown) => err);
      expect(String(failure)).to.contain('password_version');
      expect((await pool.query('SELECT max(version) AS v FROM schema_migrations')).rows).to.deep.equal([{ v: 3 }]);
    });
  });

  it('applies them from the command line: keyward-service migrate, then nothing the second time', async function () {
    this.timeout(60_000);
    const databaseUrl = await createTestDatabase('migrate_cli');
    const run = async (): Promise<string[]> => {
      const cli = spawnCli({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' }, ['migrate']);
      expect((await cli.exited).code, cli.stderr()).to.equal(0);
      return cli.logs().map((l) => String(l['message']));
    };
    expect(await run()).to.include(`applied ${migrations.length} migration(s)`);
    expect(await run()).to.include('schema already up to date');
  });

  it('numbers migrations 1, 2, … without gaps', () => {
    expect(migrations.map((m) => m.version)).to.deep.equal(migrations.map((_, i) => i + 1));
  });

  it('refuses a one-time token of an unknown purpose', async () => {
    await withFreshDatabase('migrate', async (pool) => {
      await migrate(pool);
      const { rows } = await pool.query(`INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('a@example.com', 'x', 'A', 'B') RETURNING id`);
      try {
        await pool.query(`INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at) VALUES ($1, 'admin', 'h', now())`, [rows[0].id]);
        expect.fail('accepted an unknown purpose');
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('23514'); // check_violation
      }
    });
  });
});
