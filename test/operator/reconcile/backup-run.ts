// Runs the operator's backup.sh for real: a PostgreSQL server from the
// machine's packages (pg_dump must match its major version, which the
// embedded PostgreSQL of the service tests does not ship), moto's S3 server on
// loopback, the aws CLI, openssl and gzip. The script gets the environment the
// CronJob would give it, with paths and endpoints pointed at those servers.
// Skips, saying what is missing, where the tools are not installed.
import type { V1CronJob } from '@kubernetes/client-node';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ScriptRun {
  exitCode: number | null;
  output: string;
}

export interface BackupRunResult {
  firstRun: ScriptRun;
  afterFirstRun: string[];
  /** First bytes of the stored object: openssl's "Salted__" header, not gzip's magic number. */
  storedHeader: string;
  originalRows: string[];
  restoredRows: string[];
  failedRun: ScriptRun;
  afterFailedRun: string[];
  expiryRun: ScriptRun;
  afterExpiryRun: string[];
}

function which(command: string): string | undefined {
  const result = spawnSync('bash', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The newest /usr/lib/postgresql/<major>/bin with a server and pg_dump. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return majors.map((m) => join(root, m, 'bin')).find((bin) => ['initdb', 'postgres', 'pg_dump', 'psql', 'pg_isready'].every((t) => existsSync(join(bin, t))));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function stop(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function runBackupEndToEnd(ctx: Mocha.Context, cronJob: V1CronJob, script: string): Promise<BackupRunResult> {
  const bin = postgresBin();
  const missing = [
    ...(bin ? [] : ['a PostgreSQL server (apt-get install postgresql)']),
    ...['aws', 'moto_server', 'openssl', 'gzip', 'setpriv'].filter((t) => !which(t)),
  ];
  const root = process.getuid?.() === 0;
  if (root && spawnSync('id', ['-u', 'postgres']).status !== 0) missing.push('a postgres user');
  if (missing.length > 0 || !bin) {
    console.log(`      skipped: backup.sh end to end needs ${missing.join(', ')}`);
    ctx.skip();
    throw new Error('unreachable');
  }

  const dir = mkdtempSync(join(tmpdir(), 'keyward-backup-'));
  chmodSync(dir, 0o755);
  let postgres: ChildProcess | undefined;
  let moto: ChildProcess | undefined;
  try {
    // PostgreSQL refuses to run as root: run it as the postgres user, exec'd directly so its pid is ours to stop.
    const uid = root ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()) : undefined;
    const gid = root ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()) : undefined;
    const asPostgres = (command: string, args: string[]): [string, string[]] =>
      root ? ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', join(bin, command), ...args]] : [join(bin, command), args];
    const pgData = join(dir, 'pg');
    const socketDir = join(dir, 'sock');
    for (const d of [pgData, socketDir]) {
      mkdirSync(d, { mode: 0o700 });
      if (root) chownSync(d, uid as number, gid as number);
    }
    execFileSync(...asPostgres('initdb', ['-D', pgData, '-U', 'postgres', '-A', 'trust', '--no-sync']), { stdio: 'pipe' });
    const pgPort = await freePort();
    const [pgCommand, pgArgs] = asPostgres('postgres', ['-D', pgData, '-p', String(pgPort), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off']);
    postgres = spawn(pgCommand, pgArgs, { stdio: 'ignore' });
    const psql = (db: string, sql: string) =>
      execFileSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], { encoding: 'utf8' });
    for (let i = 0; ; i++) {
      if (spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(pgPort)]).status === 0) break;
      if (i > 100) throw new Error('PostgreSQL did not become ready');
      await sleep(200);
    }
    psql('postgres', 'CREATE DATABASE auth');
    psql('auth', "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL); INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com'), ('c@example.com')");

    // moto prints the port it bound to.
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const awsEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1', HOME: home };
    const aws = (...args: string[]) => execFileSync('aws', ['--endpoint-url', endpoint, ...args], { env: awsEnv, encoding: 'utf8' });
    const container = cronJob.spec?.jobTemplate.spec?.template.spec?.containers[0];
    const values = Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    const bucket = values.BACKUP_S3_BUCKET as string;
    aws('s3', 'mb', `s3://${bucket}`);
    const keys = () => {
      const out = aws('s3api', 'list-objects-v2', '--bucket', bucket, '--query', 'Contents[].Key', '--output', 'json').trim();
      return ((JSON.parse(out === '' ? 'null' : out) as string[] | null) ?? []).sort();
    };

    // The key file keeps the name the CronJob mounts it under.
    const keyFile = join(dir, 'key', basename(values.BACKUP_ENCRYPTION_KEY as string));
    mkdirSync(join(dir, 'key'));
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    const scriptFile = join(dir, 'backup.sh');
    writeFileSync(scriptFile, script, { mode: 0o755 });
    const work = join(dir, 'work');
    mkdirSync(work);

    const databaseUrl = (db: string) => `postgresql://postgres@127.0.0.1:${pgPort}/${db}`;
    const run = (overrides: Record<string, string>): ScriptRun => {
      const env = {
        ...awsEnv,
        ...values,
        DATABASE_URL: databaseUrl('auth'),
        BACKUP_S3_ENDPOINT: endpoint,
        BACKUP_ENCRYPTION_KEY: keyFile,
        BACKUP_WORK_DIR: work,
        HOME: home,
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        ...overrides,
      };
      const result = spawnSync(scriptFile, [], { env, encoding: 'utf8', timeout: 60_000 });
      return { exitCode: result.status, output: `${result.stdout}${result.stderr}` };
    };

    const firstRun = run({});
    const afterFirstRun = keys();
    const stored = join(dir, 'stored.enc');
    if (afterFirstRun[0]) aws('s3', 'cp', `s3://${bucket}/${afterFirstRun[0]}`, stored, '--only-show-errors');
    const storedHeader = existsSync(stored) ? readFileSync(stored).subarray(0, 8).toString('latin1') : '';
    psql('postgres', 'CREATE DATABASE restored');
    execFileSync(
      'bash',
      ['-c', 'set -euo pipefail; openssl enc -d -aes-256-cbc -pbkdf2 -in "$1" -pass file:"$2" | gunzip | "$3" -q -h 127.0.0.1 -p "$4" -U postgres -d restored -v ON_ERROR_STOP=1', 'restore', stored, keyFile, join(bin, 'psql'), String(pgPort)],
      { stdio: 'pipe' },
    );
    const rowsOf = (db: string) => psql(db, 'SELECT id, email FROM users ORDER BY id').trim().split('\n');

    const failedRun = run({ DATABASE_URL: databaseUrl('no_such_database') });
    const afterFailedRun = keys();

    aws('s3', 'cp', keyFile, `s3://${bucket}/postgresql/notes.txt`, '--only-show-errors');
    aws('s3', 'cp', keyFile, `s3://${bucket}/other/postgresql_backup_20000101_000000.sql.gz.enc`, '--only-show-errors');
    // "-1 days ago" is tomorrow: every backup of this script under the prefix has expired, the new one included.
    const expiryRun = run({ BACKUP_RETENTION_DAYS: '-1' });

    return {
      firstRun,
      afterFirstRun,
      storedHeader,
      originalRows: rowsOf('auth'),
      restoredRows: rowsOf('restored'),
      failedRun,
      afterFailedRun,
      expiryRun,
      afterExpiryRun: keys(),
    };
  } finally {
    await stop(moto, 'SIGTERM');
    await stop(postgres, 'SIGINT');
    rmSync(dir, { recursive: true, force: true });
  }
}
