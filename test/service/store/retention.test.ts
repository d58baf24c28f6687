import { expect } from 'chai';
import pg from 'pg';
import { migrate } from '../../../service/db/migrations.js';
import { purge, retentionRules } from '../../../service/store/retention.js';
import { createTestDatabase, withFreshDatabase } from '../../support/postgres.js';
import { spawnCli } from '../resilience/cli-process.js';
import { startTestService } from '../../support/service.js';

const policy = { endedSessionDays: 30, securityEventDays: 365 };

/**
 * One account with a row on each side of every retention line, named by what should happen to it
 * ("goes: …", "stays: …"), so a failure says which line moved.
 */
async function seed(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ id: string }>(`INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('ada@example.com', 'x', 'Ada', 'Lovelace') RETURNING id`);
  const userId = rows[0]!.id;
  const session = async (label: string, expires: string, revoked: string | null): Promise<string> =>
    (await pool.query<{ id: string }>(
      `INSERT INTO sessions (user_id, expires_at, revoked_at, user_agent) VALUES ($1, now() + $2::interval, now() + $3::interval, $4) RETURNING id`,
      [userId, expires, revoked, label],
    )).rows[0]!.id;
  const live = await session('stays: live', '10 days', null);
  const expiredLongAgo = await session('goes: expired 31 days ago', '-31 days', null);
  await session('goes: revoked 31 days ago', '10 days', '-31 days');
  await session('stays: revoked 29 days ago', '10 days', '-29 days');
  await session('stays: expired 2 days ago', '-2 days', null);

  const token = (label: string, sessionId: string, expires: string): Promise<pg.QueryResult> =>
    pool.query(`INSERT INTO refresh_tokens (session_id, token_hash, expires_at) VALUES ($1, $2, now() + $3::interval)`, [sessionId, label, expires]);
  await token('goes: expired 2 days ago', live, '-2 days');
  await token('stays: expired an hour ago', live, '-1 hour');
  await token('stays: valid', live, '10 days');
  await token('goes: expired 31 days ago, with its session', expiredLongAgo, '-31 days');
  // A rotation chain: each row points at its successor (ON DELETE SET NULL on that reference).
  const chained = async (label: string, expires: string, successor: string | null): Promise<string> =>
    (await pool.query<{ id: string }>(
      `INSERT INTO refresh_tokens (session_id, token_hash, expires_at, rotated_at, successor_id) VALUES ($1, $2, now() + $3::interval, CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() END, $4) RETURNING id`,
      [live, label, expires, successor],
    )).rows[0]!.id;
  const newest = await chained('stays: the newest of a rotation chain', '10 days', null);
  const middle = await chained('goes: rotated, expired 2 days ago', '-2 days', newest);
  await chained('goes: rotated, expired 3 days ago', '-3 days', middle);

  const oneTime = (label: string, expires: string, used: string | null): Promise<pg.QueryResult> =>
    pool.query(`INSERT INTO one_time_tokens (user_id, purpose, token_hash, expires_at, used_at) VALUES ($1, 'reset_password', $2, now() + $3::interval, now() + $4::interval)`, [userId, label, expires, used]);
  await oneTime('goes: used 2 days ago', '1 hour', '-2 days');
  await oneTime('goes: expired 2 days ago', '-2 days', null);
  await oneTime('stays: used an hour ago', '1 hour', '-1 hour');
  await oneTime('stays: unused, valid', '1 hour', null);

  const event = (label: string, age: string): Promise<pg.QueryResult> =>
    pool.query(`INSERT INTO security_events (type, user_id, occurred_at, details) VALUES ('login_succeeded', $1, now() - $2::interval, $3)`, [userId, age, { label }]);
  await event('goes: 366 days old', '366 days');
  await event('stays: 364 days old', '364 days');
}

async function remaining(pool: pg.Pool): Promise<Record<string, string[]>> {
  const labels = async (sql: string): Promise<string[]> => (await pool.query<{ label: string }>(sql)).rows.map((r) => r.label).sort();
  return {
    sessions: await labels('SELECT user_agent AS label FROM sessions'),
    refresh_tokens: await labels('SELECT token_hash AS label FROM refresh_tokens'),
    one_time_tokens: await labels('SELECT token_hash AS label FROM one_time_tokens'),
    security_events: await labels(`SELECT details->>'label' AS label FROM security_events`),
  };
}

describe('service/store/retention', () => {
  let pool: pg.Pool;
  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('retention') });
    await migrate(pool, () => undefined);
    await seed(pool);
  });
  afterEach(async () => pool.end());

  it('deletes exactly what is past its retention, in batches, and counts it per table', async () => {
    const counts = await purge(pool, policy, { batchSize: 1 });
    expect(counts).to.deep.equal({ refresh_tokens: 4, one_time_tokens: 2, sessions: 2, security_events: 1 });
    expect(await remaining(pool)).to.deep.equal({
      sessions: ['stays: expired 2 days ago', 'stays: live', 'stays: revoked 29 days ago'],
      refresh_tokens: ['stays: expired an hour ago', 'stays: the newest of a rotation chain', 'stays: valid'],
      one_time_tokens: ['stays: unused, valid', 'stays: used an hour ago'],
      security_events: ['stays: 364 days old'],
    });
    expect(await purge(pool, policy), 'a second run').to.deep.equal({ refresh_tokens: 0, one_time_tokens: 0, sessions: 0, security_events: 0 });
  });

  it('keeps every security event with SECURITY_EVENT_RETENTION_DAYS=0', async () => {
    const counts = await purge(pool, { ...policy, securityEventDays: 0 });
    expect(counts).to.include({ security_events: 0 });
    expect((await remaining(pool)).security_events).to.have.length(2);
    expect(retentionRules({ ...policy, securityEventDays: 0 }).map((r) => r.table)).to.not.include('security_events');
  });

  it('skips its turn while another replica is purging, deleting nothing', async () => {
    const other = await pool.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [0x6b657972]);
      expect(await purge(pool, policy)).to.equal('busy');
      expect((await remaining(pool)).sessions).to.have.length(5);
    } finally {
      await other.query('SELECT pg_advisory_unlock_all()');
      other.release();
    }
    expect(await purge(pool, policy)).to.not.equal('busy');
  });

  it('stops between batches once asked to, as a shutdown does', async () => {
    let asked = 0;
    // Asked before each batch: the first goes ahead, then the shutdown has begun.
    const counts = await purge(pool, policy, { batchSize: 1, stopping: () => asked++ >= 1 });
    expect(counts).to.deep.equal({ refresh_tokens: 1, one_time_tokens: 0, sessions: 0, security_events: 0 });
  });
});

describe('retention in the running service', () => {
  it('purges on its schedule\'s run, counting retention_deleted_rows_total and logging what went', async () => {
    const service = await startTestService({ RETENTION_INTERVAL_SECONDS: '3600' });
    try {
      await seed(service.db.pool);
      expect(await service.retention.runOnce()).to.deep.equal({ refresh_tokens: 4, one_time_tokens: 2, sessions: 2, security_events: 1 });
      const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
      expect(metrics).to.contain('retention_deleted_rows_total{table="sessions"} 2');
      expect(metrics).to.contain('retention_deleted_rows_total{table="one_time_tokens"} 2');
      const lastSuccess = Number(/^retention_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      expect(Date.now() / 1000 - lastSuccess).to.be.within(0, 60);
      expect(service.logs.map((l) => l['message'])).to.include('retention purge deleted 4 refresh_tokens, 2 one_time_tokens, 2 sessions, 1 security_events');
    } finally {
      await service.stop();
    }
  });

  it('says at start-up when the purge is off', async () => {
    const service = await startTestService({ RETENTION_INTERVAL_SECONDS: '0' });
    try {
      expect(service.logs.map((l) => l['message'])).to.include('retention purge off (RETENTION_INTERVAL_SECONDS=0): expired sessions, tokens and old security events are kept');
      expect(await service.retention.runOnce(), 'a run by hand still works').to.deep.equal({ refresh_tokens: 0, one_time_tokens: 0, sessions: 0, security_events: 0 });
    } finally {
      await service.stop();
    }
  });

  it('runs once from the command line: keyward-service purge', async function () {
    this.timeout(60_000);
    await withFreshDatabase('purge_cli', async (pool, databaseUrl) => {
      await migrate(pool, () => undefined);
      await seed(pool);
      const cli = spawnCli({ DATABASE_URL: databaseUrl, SESSION_RETENTION_DAYS: '1', LOG_LEVEL: 'info' }, ['purge']);
      expect((await cli.exited).code, cli.stderr()).to.equal(0);
      // With one day, the sessions that expired 2 days ago and were revoked 29 days ago go too.
      expect(cli.logs().map((l) => l['message']), cli.stdout.join('\n')).to.include('deleted 4 refresh_tokens, 2 one_time_tokens, 4 sessions, 1 security_events');
    });
  });
});
