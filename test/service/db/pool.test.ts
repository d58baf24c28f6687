import { expect } from 'chai';
import pg from 'pg';
import { createDatabase, createPool, isQueryTimeout, warmPool, type Database } from '../../../service/db/pool.js';
import { isUnavailable } from '../../../service/http/middleware.js';
import { createMetrics } from '../../../service/metrics/registry.js';
import { createTestDatabase } from '../../support/postgres.js';

describe('service/db/pool: a connection the server ends mid-transaction', () => {
  let url: string;
  let pool: pg.Pool;
  let db: Database;

  beforeEach(async () => {
    url = await createTestDatabase('pool');
    pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => undefined); // idle clients: the service's createPool does the same
    db = createDatabase(pool, createMetrics(), { queryTimeoutMs: 10_000 });
  });

  afterEach(() => pool.end());

  it('fails that transaction as unavailable, keeps the process up, and never lends the dead client again', async () => {
    let backend = 0;
    const started = new Promise<void>((resolve, reject) => {
      // The transaction tells us its backend pid, then waits; the server ends it from outside.
      void db
        .transaction('test.terminated', async (tx) => {
          backend = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          resolve();
          await tx.query('SELECT pg_sleep(10)');
        })
        .then(
          () => reject(new Error('the transaction finished although its connection was terminated')),
          (err: Error) => outcome.push(err),
        );
    });
    const outcome: Error[] = [];
    await started;

    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [backend]);
    } finally {
      await admin.end();
    }
    while (outcome.length === 0) await new Promise((r) => setTimeout(r, 20));
    // An uncaught 'error' would have failed this test as "Uncaught Error" (mocha) and the service's process.
    expect(outcome[0]!.message).to.match(/terminat|Connection/i);

    // Both slots of the pool work again: the dead client was destroyed, not returned.
    const pids = await Promise.all([1, 2].map(() => db.transaction('test.after', async (tx) => (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.1)')).rows[0]!.pid)));
    expect(pids).to.have.length(2);
    expect(pids).not.to.include(backend);
  });
});

describe('service/db/pool: DATABASE_MIN_CONNECTIONS', () => {
  it('are open and idle once the pool is warmed, and stay open past the idle timeout', async () => {
    const pool = createPool(await createTestDatabase('pool'), { url: undefined, maxConnections: 6, minConnections: 3, connectionTimeoutSeconds: 5, idleTimeoutSeconds: 1, maxLifetimeSeconds: 1800, queryTimeoutSeconds: 10 }, () => undefined);
    try {
      expect(pool.totalCount).to.equal(0);
      await warmPool(pool, 3);
      expect([pool.totalCount, pool.idleCount]).to.deep.equal([3, 3]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(pool.totalCount).to.equal(3);
    } finally {
      await pool.end();
    }
  });
});

describe('service/db/pool: a statement that gets no answer in time (DATABASE_QUERY_TIMEOUT_SECONDS)', () => {
  let pool: pg.Pool;
  let db: Database;

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('pool'), max: 3 });
    pool.on('error', () => undefined);
    db = createDatabase(pool, createMetrics(), { queryTimeoutMs: 1000 });
  });
  afterEach(() => pool.end());

  it('fails a query as unavailable after the timeout and closes its connection instead of lending it again', async () => {
    const started = performance.now();
    const err = await db.query('test.slow', 'SELECT pg_sleep(5)').then(() => undefined, (e: unknown) => e);
    expect(isQueryTimeout(err), String(err)).to.equal(true);
    expect(isUnavailable(err), 'answered as 503 service_unavailable').to.equal(true);
    expect(performance.now() - started, 'one timeout of 1 s, and well before the statement would end').to.be.below(3000);
    expect(pool.totalCount, 'clients left in the pool').to.equal(0);
  });

  it('fails a transaction the same way, in one timeout, and gives back no client that still waits for an answer', async () => {
    const started = performance.now();
    const err = await db.transaction('test.slow', async (tx) => tx.query('SELECT pg_sleep(5)')).then(() => undefined, (e: unknown) => e);
    expect(isQueryTimeout(err), String(err)).to.equal(true);
    // Not a second one for a ROLLBACK queued behind the statement that did not answer.
    expect(performance.now() - started, 'one timeout of 1 s, not two').to.be.below(1700);
    expect(pool.totalCount, 'clients left in the pool').to.equal(0);
    // Every slot of the pool answers at once: none is queued behind a sleeping statement.
    const answered = await Promise.all([1, 2, 3].map(() => db.transaction('test.after', async (tx) => (await tx.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one)));
    expect(answered).to.deep.equal([1, 1, 1]);
  });
});
