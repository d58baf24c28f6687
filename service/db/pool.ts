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
  });
  pool.on('error', onIdleError);
  return pool;
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
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export function createDatabase(pool: pg.Pool, metrics: Pick<Metrics, 'databaseQueryDuration'>): Database {
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
    query: (operation, text, values) => timed(operation, () => pool.query(text, values)),
    async transaction(operation, work) {
      return timed(operation, () =>
        withClient(pool, async (client) => {
          try {
            await client.query('BEGIN');
            const result = await work(client);
            await client.query('COMMIT');
            return result;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        }),
      );
    },
    async ping(timeoutMs) {
      const started = performance.now();
      await withTimeout(pool.query('SELECT 1'), timeoutMs, 'PostgreSQL');
      return performance.now() - started;
    },
    close: () => pool.end(),
  };
}
