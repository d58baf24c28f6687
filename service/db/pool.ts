/**
 * The PostgreSQL pool, sized and timed by the guide's DatabaseConfig, and the
 * one query path: every query is timed into database_query_duration_seconds.
 */
import pg from 'pg';
import type { DatabaseConfig } from '../config/env.js';
import type { Metrics } from '../metrics/registry.js';
import { withTimeout } from '../util/timeout.js';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface Database {
  pool: pg.Pool;
  /** Runs one statement; `operation` labels the duration histogram (a bounded name, never data). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `work` in one transaction: every multi-row write goes through here. */
  transaction<T>(operation: string, work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Round trip used by health checks; rejects after `timeoutMs`. */
  ping(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** `onIdleError` receives errors of idle clients (the server went away); unhandled, they would crash the process. */
export function createPool(url: string, config: DatabaseConfig, onIdleError: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.maxConnections,
    min: config.minConnections,
    connectionTimeoutMillis: config.connectionTimeoutSeconds * 1000,
    idleTimeoutMillis: config.idleTimeoutSeconds * 1000,
    maxLifetimeSeconds: config.maxLifetimeSeconds,
    application_name: 'keyward-service',
    // A server that vanished without a reset (its node lost) leaves an idle connection that only
    // TCP keepalive ever finds dead; without it, it waits in the pool for the next query to hang on.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on('error', onIdleError);
  return pool;
}

/**
 * The connections the pool holds open to the server, lent out or idle: database_connections_active,
 * which the guide's DatabaseConnectionFailure alert expects at 0 only when the database is lost.
 * Neither of pg-pool's counts is that: totalCount - idleCount is the connections lent out, 0 on
 * any pod between requests; totalCount also counts connections still being opened, which a
 * database that does not answer keeps at 1 or more. A connection counts from pg-pool's 'connect'
 * (established) until its socket ends or the pool removes it.
 */
export function countOpenConnections(pool: pg.Pool): () => number {
  const open = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => open.delete(client));
  });
  pool.on('remove', (client) => open.delete(client));
  return () => open.size;
}

/**
 * Opens `count` connections now. pg-pool's `min` only stops idle connections below it from
 * being closed; it never opens them, so without this the first requests after a start or a
 * rollout would each pay for a connection (TLS and SCRAM included) — the guide's
 * min_connections means connections ready before traffic arrives.
 */
export async function warmPool(pool: pg.Pool, count: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: count }, () => pool.connect()));
  for (const client of clients) client.release();
}

/**
 * Lends a client to `work`. While a client is checked out, pg-pool removes its own error
 * listener, and pg emits 'error' when the server ends the connection (a failover, a restart,
 * pg_terminate_backend): with no listener Node throws it and the whole process dies. The
 * statement in flight fails on its own; the listener only keeps the error, and a client that
 * saw one is destroyed on release instead of going back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient, discard: (err: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await work(client, onError);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

/**
 * How long a statement of a request may wait for its answer. No query of the service takes more
 * than milliseconds; one that waits longer is on a connection whose server is gone without a reset
 * (a lost node, a partition), and would hold its pool client until TCP gave up, minutes later:
 * twenty such and every request waits for a client. pg destroys a client whose query timed out
 * (pool.query releases it with the error). Migrations and the retention purge take their own
 * clients (withClient) and are not bounded: an index build takes as long as it takes.
 */
export interface DatabaseOptions {
  queryTimeoutMs: number;
}

/** pg reads `query_timeout` from a query's config too; its types only know it on the client's. */
type BoundedQuery = pg.QueryConfig & { query_timeout: number };
const bounded = (text: string, values: unknown[] | undefined, timeoutMs: number): BoundedQuery => ({ text, values, query_timeout: timeoutMs });

/** What pg answers when a query's `query_timeout` passes. */
const queryTimedOut = 'Query read timeout';

export function isQueryTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === queryTimedOut;
}

export function createDatabase(pool: pg.Pool, metrics: Pick<Metrics, 'databaseQueryDuration'>, options: DatabaseOptions): Database {
  const { queryTimeoutMs } = options;
  const timed = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    const end = metrics.databaseQueryDuration.startTimer({ operation });
    try {
      return await run();
    } finally {
      end();
    }
  };

  return {
    pool,
    query: <R extends pg.QueryResultRow>(operation: string, text: string, values?: unknown[]) =>
      timed(operation, () => pool.query<R>(bounded(text, values, queryTimeoutMs))),
    async transaction(operation, work) {
      return timed(operation, () =>
        withClient(pool, async (client, discard) => {
          // The transaction's statements are bounded as single queries are.
          const tx: Queryable = {
            // The cast: one function cannot spell out pg's overloads; every caller passes (text, values).
            query: ((text: string, values?: unknown[]) => client.query(bounded(text, values, queryTimeoutMs))) as Queryable['query'],
          };
          try {
            await tx.query('BEGIN');
            const result = await work(tx);
            await tx.query('COMMIT');
            return result;
          } catch (err) {
            // A connection that did not answer in time is closed, not rolled back: a ROLLBACK would
            // queue behind the statement still waiting and time out in its turn, doubling the wait.
            // The server rolls back a transaction whose connection is gone.
            if (isQueryTimeout(err)) {
              discard(err as Error);
              throw err;
            }
            // One that cannot roll back never goes back to the pool either.
            await tx.query('ROLLBACK').catch((rollbackErr: unknown) => discard(rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))));
            throw err;
          }
        }),
      );
    },
    async ping(timeoutMs) {
      const started = performance.now();
      // Its own read timeout too: a probe that gave up must not leave its client waiting behind it.
      await withTimeout(pool.query(bounded('SELECT 1', undefined, timeoutMs)), timeoutMs, 'PostgreSQL');
      return performance.now() - started;
    },
    close: () => pool.end(),
  };
}
