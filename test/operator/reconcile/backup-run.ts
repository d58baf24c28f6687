// Runs the operator's backup.sh for real (test/support/backup-env.ts: a
// PostgreSQL server with matching pg_dump, moto's S3 server on loopback, the
// aws CLI, openssl and gzip). The script gets the environment the CronJob
// would give it, with paths and endpoints pointed at those servers; a second
// AuthService's CronJob backs up into the same bucket and prefix.
import type { V1CronJob } from '@kubernetes/client-node';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { startBackupEnvironment } from '../../support/backup-env.js';

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
  /** The other AuthService's CronJob, run once: the key it added. */
  neighbourRun: ScriptRun;
  neighbourKey: string;
  /** Backups from 2000, expired under any retention: in our folder, in the neighbour's, and straight under the prefix as earlier versions wrote them. */
  expired: { ours: string; neighbours: string; previousLayout: string };
  expiryRun: ScriptRun;
  afterExpiryRun: string[];
}

/** The CronJob's plain environment values. */
function valuesOf(cronJob: V1CronJob): Record<string, string> {
  const container = cronJob.spec?.jobTemplate.spec?.template.spec?.containers[0];
  return Object.fromEntries((container?.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
}

export async function runBackupEndToEnd(ctx: Mocha.Context, cronJob: V1CronJob, neighbour: V1CronJob, script: string): Promise<BackupRunResult> {
  const env = await startBackupEnvironment(ctx);
  try {
    const { dir, psql, aws } = env;
    psql('postgres', 'CREATE DATABASE auth');
    psql('auth', "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL); INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com'), ('c@example.com')");

    const values = valuesOf(cronJob);
    const bucket = values.BACKUP_S3_BUCKET as string;
    aws('s3', 'mb', `s3://${bucket}`);
    const keys = () => env.keys(bucket);

    // The key file keeps the name the CronJob mounts it under.
    const keyFile = join(dir, 'key', basename(values.BACKUP_ENCRYPTION_KEY as string));
    mkdirSync(join(dir, 'key'));
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    const scriptFile = join(dir, 'backup.sh');
    writeFileSync(scriptFile, script, { mode: 0o755 });
    const work = join(dir, 'work');
    mkdirSync(work);

    const run = (overrides: Record<string, string>, of: Record<string, string> = values): ScriptRun => {
      const result = spawnSync(scriptFile, [], {
        env: {
          ...env.awsEnv,
          ...of,
          DATABASE_URL: env.databaseUrl('auth'),
          BACKUP_S3_ENDPOINT: env.endpoint,
          BACKUP_ENCRYPTION_KEY: keyFile,
          BACKUP_WORK_DIR: work,
          HOME: env.awsEnv.HOME,
          PATH: env.path,
          ...overrides,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
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
      ['-c', 'set -euo pipefail; openssl enc -d -aes-256-cbc -pbkdf2 -in "$1" -pass file:"$2" | gunzip | "$3" -q -d "$4" -v ON_ERROR_STOP=1', 'restore', stored, keyFile, join(env.pgBin, 'psql'), env.databaseUrl('restored')],
      { stdio: 'pipe' },
    );
    const rowsOf = (db: string) => psql(db, 'SELECT id, email FROM users ORDER BY id').trim().split('\n');

    const failedRun = run({ DATABASE_URL: env.databaseUrl('no_such_database') });
    const afterFailedRun = keys();

    const neighbourRun = run({}, valuesOf(neighbour));
    const neighbourKey = keys().find((k) => !afterFailedRun.includes(k)) ?? '';

    aws('s3', 'cp', keyFile, `s3://${bucket}/postgresql/notes.txt`, '--only-show-errors');
    aws('s3', 'cp', keyFile, `s3://${bucket}/other/postgresql_backup_20000101_000000.sql.gz.enc`, '--only-show-errors');
    // Each in the folder where the script put that AuthService's backup today.
    const from2000 = 'postgresql_backup_20000101_000000.sql.gz.enc';
    const expired = {
      ours: `${dirname(afterFirstRun[0] ?? 'none')}/${from2000}`,
      neighbours: `${dirname(neighbourKey || 'none')}/${from2000}`,
      previousLayout: `postgresql/${from2000}`,
    };
    for (const key of Object.values(expired)) aws('s3', 'cp', keyFile, `s3://${bucket}/${key}`, '--only-show-errors');
    const expiryRun = run({ BACKUP_RETENTION_DAYS: '1' });

    return {
      firstRun,
      afterFirstRun,
      storedHeader,
      originalRows: rowsOf('auth'),
      restoredRows: rowsOf('restored'),
      failedRun,
      afterFailedRun,
      neighbourRun,
      neighbourKey,
      expired,
      expiryRun,
      afterExpiryRun: keys(),
    };
  } finally {
    await env.stop();
  }
}
