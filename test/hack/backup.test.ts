// hack/backup.sh and hack/restore-test.sh end to end: the service's real schema
// in a real PostgreSQL, moto's S3 server on loopback, the aws CLI and openssl
// (test/support/backup-env.ts says why the server is the machine's, not the
// embedded one).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../service/db/migrations.js';
import { type BackupEnvironment, DATABASE_PASSWORD, startBackupEnvironment } from '../support/backup-env.js';

const backupScript = new URL('../../hack/backup.sh', import.meta.url).pathname;
const restoreScript = new URL('../../hack/restore-test.sh', import.meta.url).pathname;
const bucket = 'auth-service-backups';
const USERS = 500;

interface Run {
  exitCode: number | null;
  output: string;
  seconds: number;
}

/** YYYYMMDD_HHMMSS in UTC, `days` ago: the timestamp backup.sh puts in a name. */
function stampDaysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

describe('hack/backup.sh and hack/restore-test.sh', function () {
  this.timeout(180_000);
  let env: BackupEnvironment;
  let keyFile: string;
  let wrongKeyFile: string;

  const run = (script: string, overrides: Record<string, string> = {}, args: string[] = []): Run => {
    const started = process.hrtime.bigint();
    const result = spawnSync(script, args, {
      env: {
        ...env.awsEnv,
        DATABASE_URL: env.databaseUrl('auth'),
        BACKUP_S3_BUCKET: bucket,
        BACKUP_S3_ENDPOINT: env.endpoint,
        BACKUP_ENCRYPTION_KEY: keyFile,
        BACKUP_WORK_DIR: join(env.dir, 'work'),
        PATH: env.path,
        ...overrides,
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { exitCode: result.status, output: `${result.stdout}${result.stderr}`, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  };
  const backups = () => env.keys(bucket).filter((k) => /^postgresql\/postgresql_backup_\d{8}_\d{6}\.sql\.gz\.enc$/.test(k));
  const scratchDatabases = () => env.psql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'keyward_restore_test_%'").trim();

  before(async function () {
    env = await startBackupEnvironment(this);
    mkdirSync(join(env.dir, 'work'));
    keyFile = join(env.dir, 'encryption.key');
    wrongKeyFile = join(env.dir, 'wrong.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    writeFileSync(wrongKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    env.aws('s3', 'mb', `s3://${bucket}`);

    // The service's own schema, then N users in it.
    env.psql('postgres', 'CREATE DATABASE auth');
    const pool = new pg.Pool({ connectionString: env.databaseUrl('auth') });
    try {
      await migrate(pool);
      await pool.query(
        `INSERT INTO users (email, password_hash, first_name, last_name)
         SELECT 'user' || i || '@example.com', '$2b$12$' || md5(i::text), 'First' || i, 'Last' || i FROM generate_series(1, $1) AS i`,
        [USERS],
      );
    } finally {
      await pool.end();
    }
  });

  after(async function () {
    await env?.stop();
  });

  it(`backs up ${USERS} users encrypted, and the restore test restores ${USERS} users and drops its scratch database`, function () {
    const backup = run(backupScript);
    expect(backup.exitCode, backup.output).to.equal(0);
    expect(backup.output).to.match(/backup: dump and compress\.\.\.[\s\S]*backup: encrypt\.\.\.[\s\S]*backup: verify\.\.\.[\s\S]*backup: upload\.\.\.[\s\S]*backup: apply retention\.\.\./);
    expect(backups()).to.have.length(1);
    const stored = join(env.dir, 'stored.enc');
    env.aws('s3', 'cp', `s3://${bucket}/${backups()[0]}`, stored, '--only-show-errors');
    expect(readFileSync(stored).subarray(0, 8).toString('latin1'), 'openssl salted header, not gzip or SQL').to.equal('Salted__');

    const restore = run(restoreScript, { RESTORE_EXPECT_USERS: String(USERS) });
    expect(restore.exitCode, restore.output).to.equal(0);
    expect(restore.output).to.include(`testing s3://${bucket}/${backups()[0]}`);
    expect(restore.output).to.include(`restored database contains ${USERS} users`);
    expect(scratchDatabases()).to.equal('');
    console.log(`      backup of ${USERS} users: ${backup.seconds.toFixed(1)} s; restore test: ${restore.seconds.toFixed(1)} s`);
  });

  it('gives pg_dump and psql the password through the environment, never on their command lines', function () {
    // Each tool through a wrapper that writes down its arguments, then runs the real one.
    const wrappers = join(env.dir, 'wrappers');
    const argvLog = join(env.dir, 'argv.log');
    mkdirSync(wrappers, { recursive: true });
    for (const tool of ['pg_dump', 'psql']) {
      const wrapper = join(wrappers, tool);
      writeFileSync(wrapper, `#!/bin/bash\nprintf '%s %s\\n' ${tool} "$*" >> ${JSON.stringify(argvLog)}\nexec ${JSON.stringify(join(env.pgBin, tool))} "$@"\n`);
      chmodSync(wrapper, 0o755);
    }
    const path = `${wrappers}:${env.path}`;
    const backup = run(backupScript, { PATH: path });
    expect(backup.exitCode, backup.output).to.equal(0);
    const restore = run(restoreScript, { PATH: path, RESTORE_EXPECT_USERS: String(USERS) });
    expect(restore.exitCode, restore.output).to.equal(0);

    expect(existsSync(argvLog), 'the wrappers ran').to.equal(true);
    const commandLines = readFileSync(argvLog, 'utf8');
    expect(commandLines).to.match(/^pg_dump /m).and.match(/^psql /m);
    for (const form of [DATABASE_PASSWORD, encodeURIComponent(DATABASE_PASSWORD)]) expect(commandLines).to.not.include(form);
    expect(`${backup.output}${restore.output}`).to.not.include(encodeURIComponent(DATABASE_PASSWORD));
  });

  it('fails loudly with the wrong key, naming the stage, and still drops the scratch database', function () {
    const restore = run(restoreScript, { BACKUP_ENCRYPTION_KEY: wrongKeyFile });
    expect(restore.exitCode).not.to.equal(0);
    expect(restore.output).to.include('bad decrypt');
    expect(restore.output).to.include('FAILED at stage "decrypt and restore"');
    expect(scratchDatabases()).to.equal('');
  });

  it('fails when the restored users count is not the expected one', function () {
    const restore = run(restoreScript, { RESTORE_EXPECT_USERS: String(USERS + 1) });
    expect(restore.exitCode, restore.output).to.equal(65);
    expect(restore.output).to.include(`expected exactly ${USERS + 1} users`);
    expect(scratchDatabases()).to.equal('');
  });

  it('uploads nothing and names the stage when the dump fails or the key file is missing', function () {
    const before = env.keys(bucket);
    const badDump = run(backupScript, { DATABASE_URL: env.databaseUrl('no_such_database') });
    expect(badDump.exitCode).not.to.equal(0);
    expect(badDump.output).to.include('FAILED at stage "dump and compress"');
    const noKey = run(backupScript, { BACKUP_ENCRYPTION_KEY: join(env.dir, 'absent.key') });
    expect(noKey.exitCode).to.equal(66);
    expect(noKey.output).to.include('FAILED at stage "check configuration"');
    expect(noKey.output).not.to.include('dump and compress');
    expect(env.keys(bucket)).to.deep.equal(before);
  });

  for (const [name, script] of [['backup.sh', backupScript], ['restore-test.sh', restoreScript]] as const) {
    it(`${name} --help and -h print the usage and exit 0 without touching the bucket or the server`, function () {
      const before = env.keys(bucket);
      for (const flag of ['--help', '-h']) {
        const help = run(script, {}, [flag]);
        expect(help.exitCode, help.output).to.equal(0);
        expect(help.output).to.include(`Usage: ${name}`).and.include('Environment').and.include('BACKUP_S3_PREFIX').and.include('Exit status');
        expect(help.output).not.to.include('check configuration...');
      }
      expect(env.keys(bucket)).to.deep.equal(before);
      expect(scratchDatabases()).to.equal('');
    });

    it(`${name} refuses an unknown option with exit 2 before doing anything`, function () {
      const before = env.keys(bucket);
      const unknown = run(script, {}, ['--dry-run']);
      expect(unknown.exitCode, unknown.output).to.equal(2);
      expect(unknown.output).to.include("unknown option '--dry-run'");
      expect(unknown.output).not.to.include('check configuration...');
      expect(env.keys(bucket)).to.deep.equal(before);
      expect(scratchDatabases()).to.equal('');
    });
  }

  it('restores the newest backup under a prefix full of regular-expression metacharacters, matched literally', function () {
    const prefix = 'db.v1+(eu)[a]/';
    const backup = run(backupScript, { BACKUP_S3_PREFIX: prefix });
    expect(backup.exitCode, backup.output).to.equal(0);
    const taken = env.keys(bucket).filter((k) => k.startsWith(prefix));
    expect(taken).to.have.length(1);

    const restore = run(restoreScript, { BACKUP_S3_PREFIX: prefix, RESTORE_EXPECT_USERS: String(USERS) });
    expect(restore.exitCode, restore.output).to.equal(0);
    expect(restore.output).to.include(`testing s3://${bucket}/${taken[0]}`);
    expect(scratchDatabases()).to.equal('');
  });

  it('refuses a retention of zero, negative or not whole days before taking a backup', function () {
    const before = env.keys(bucket);
    for (const days of ['0', '00', '-1', '1.5', '30d', ' 30']) {
      const backup = run(backupScript, { BACKUP_RETENTION_DAYS: days });
      expect(backup.exitCode, `BACKUP_RETENTION_DAYS=${days}: ${backup.output}`).to.equal(64);
      expect(backup.output).to.include(`BACKUP_RETENTION_DAYS must be a positive whole number of days (1 or more), not '${days}'`);
      expect(backup.output).to.include('FAILED at stage "check configuration"');
      expect(backup.output).not.to.include('dump and compress');
    }
    expect(env.keys(bucket)).to.deep.equal(before);
  });

  it('deletes only its own backups older than the retention', function () {
    const old = `postgresql/postgresql_backup_${stampDaysAgo(31)}.sql.gz.enc`;
    const older = `postgresql/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`;
    const recent = `postgresql/postgresql_backup_${stampDaysAgo(29)}.sql.gz.enc`;
    const strangers = [
      'postgresql/notes.txt',
      `postgresql/postgresql_backup_${stampDaysAgo(400)}.sql.gz`,
      `other/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`,
    ];
    for (const key of [old, older, recent, ...strangers]) env.aws('s3', 'cp', keyFile, `s3://${bucket}/${key}`, '--only-show-errors');
    const kept = backups();

    const backup = run(backupScript, { BACKUP_RETENTION_DAYS: '30' });
    expect(backup.exitCode, backup.output).to.equal(0);
    expect(backup.output).to.include(`deleted old backup ${old}`).and.include(`deleted old backup ${older}`);
    const after = env.keys(bucket);
    expect(after).not.to.include(old).and.not.to.include(older);
    expect(after).to.include.members([recent, ...strangers, ...kept.filter((k) => k !== old && k !== older)]);
    expect(backups()).to.have.length(kept.length - 2 + 1);

    // The newest backup is the one just taken, not the 29-day-old stand-in.
    const restore = run(restoreScript, { RESTORE_EXPECT_USERS: String(USERS) });
    expect(restore.exitCode, restore.output).to.equal(0);
    expect(restore.output).to.include(`testing s3://${bucket}/${backups().at(-1)}`);
  });
});
