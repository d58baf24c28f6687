/**
 * Plays the other side of a race deterministically: a transaction of the test's
 * own holds a row lock while the service's request runs into it, and the test
 * decides what that transaction commits and when. No sleeps: the request is
 * known to be waiting once PostgreSQL reports a backend blocked on a lock.
 */
import pg from 'pg';
import { eventually } from '../../support/eventually.js';

export interface HeldTransaction {
  query(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  /** Resolves once some other backend in this database waits for a lock (the request under test). */
  waitUntilBlocking(): Promise<void>;
  commit(): Promise<void>;
  /** Rolls back unless committed, and disconnects; safe to call twice. */
  close(): Promise<void>;
}

/** Opens a transaction on its own connection and runs `lock` in it (e.g. `SELECT … FOR UPDATE`). */
export async function holdLock(databaseUrl: string, lock: string, values: unknown[] = []): Promise<HeldTransaction> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let open = true;
  await client.query('BEGIN');
  await client.query(lock, values);
  return {
    query: (sql, args) => client.query(sql, args),
    async waitUntilBlocking() {
      // Polled on a connection of its own: this one is busy holding the lock.
      const observer = new pg.Client({ connectionString: databaseUrl });
      await observer.connect();
      try {
        await eventually('a request waiting for the held lock', async () => {
          const { rows } = await observer.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return rows[0]!.n > 0 ? true : undefined;
        }, 10_000, 20);
      } finally {
        await observer.end();
      }
    },
    async commit() {
      await client.query('COMMIT');
      open = false;
    },
    async close() {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      open = false;
      await client.end().catch(() => undefined);
    },
  };
}
