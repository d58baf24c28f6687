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
  /** How many backends in this database wait for a lock right now. */
  waiting(): Promise<number>;
  /** Resolves once `count` backends in this database wait for a lock (the requests under test). */
  waitUntilBlocking(count?: number): Promise<void>;
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
  // Counted on a connection of its own: this one is busy holding the lock.
  const waiting = async (): Promise<number> => {
    const observer = new pg.Client({ connectionString: databaseUrl });
    await observer.connect();
    try {
      const { rows } = await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return rows[0]!.n;
    } finally {
      await observer.end();
    }
  };
  return {
    query: (sql, args) => client.query(sql, args),
    waiting,
    async waitUntilBlocking(count = 1) {
      await eventually(`${count} request(s) waiting for a lock`, async () => ((await waiting()) >= count ? true : undefined), 10_000, 20);
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
