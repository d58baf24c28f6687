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
/** A second AuthService, signup, in the same namespace: its own database, the same bucket and the default prefix. */
const SIGNUP_USERS = 7;
const FOLDER = 'postgresql/auth-service/login/';
const SIGNUP_FOLDER = 'postgresql/auth-service/signup/';
const backupPattern = (folder: string) => new RegExp(`^${folder}postgresql_backup_\\d{8}_\\d{6}\\.sql\\.gz\\.enc$`);

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

  /** Runs a script as the CronJob of AuthService auth-service/login would; an override of undefined unsets a variable. */
  const run = (script: string, overrides: Record<string, string | undefined> = {}, args: string[] = []): Run => {
    const started = process.hrtime.bigint();
    const result = spawnSync(script, args, {
      env: {
        ...env.awsEnv,
        DATABASE_URL: env.databaseUrl('auth'),
        BACKUP_S3_BUCKET: bucket,
        BACKUP_AUTHSERVICE_NAMESPACE: 'auth-service',
        BACKUP_AUTHSERVICE_NAME: 'login',
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
  /** login's backups, oldest first. */
  const backups = (folder = FOLDER) => env.keys(bucket).filter((k) => backupPattern(folder).test(k));
  const asSignup = { DATABASE_URL: '', BACKUP_AUTHSERVICE_NAME: 'signup' };
  const put = (...keys: string[]) => {
    for (const key of keys) env.aws('s3', 'cp', keyFile, `s3://${bucket}/${key}`, '--only-show-errors');
  };
  const scratchDatabases = () => env.psql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'keyward_restore_test_%'").trim();

  before(async function () {
    env = await startBackupEnvironment(this);
    mkdirSync(join(env.dir, 'work'));
    keyFile = join(env.dir, 'encryption.key');
    wrongKeyFile = join(env.dir, 'wrong.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    writeFileSync(wrongKeyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
    env.aws('s3', 'mb', `s3://${bucket}`);

    // The service's own schema, then N users in it: login's database, and signup's.
    for (const [database, users] of [['auth', USERS], ['signup', SIGNUP_USERS]] as const) {
      env.psql('postgres', `CREATE DATABASE ${database}`);
      const pool = new pg.Pool({ connectionString: env.databaseUrl(database) });
      try {
        await migrate(pool);
        await pool.query(
          `INSERT INTO users (email, password_hash, first_name, last_name)
           SELECT 'user' || i || '@example.com', '$2b$12$' || md5(i::text), 'First' || i, 'Last' || i FROM generate_series(1, $1) AS i`,
          [users],
        );
      } finally {
        await pool.end();
      }
    }
    asSignup.DATABASE_URL = env.databaseUrl('signup');
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

  it('needs to know whose backup it is: backup.sh refuses without the AuthService, or with one that is no DNS label', function () {
    const before = env.keys(bucket);
    const unset = run(backupScript, { BACKUP_AUTHSERVICE_NAME: undefined });
    expect(unset.exitCode, unset.output).to.equal(1);
    expect(unset.output).to.include('BACKUP_AUTHSERVICE_NAME is required');
    const bad: Array<[string, string]> = [
      ['BACKUP_AUTHSERVICE_NAMESPACE', 'auth-service/login'],
      ['BACKUP_AUTHSERVICE_NAMESPACE', '..'],
      ['BACKUP_AUTHSERVICE_NAME', 'Login'],
      ['BACKUP_AUTHSERVICE_NAME', ''],
    ];
    for (const [variable, value] of bad) {
      const refused = run(backupScript, { [variable]: value });
      // An empty value is as good as unset.
      expect(refused.exitCode, `${variable}=${value}: ${refused.output}`).to.equal(value === '' ? 1 : 64);
      if (value !== '') expect(refused.output).to.include(`${variable} must be a DNS label`).and.include('FAILED at stage "check configuration"');
      expect(refused.output).not.to.include('dump and compress');
    }
    expect(env.keys(bucket)).to.deep.equal(before);
  });

  it('restore-test.sh needs the AuthService to find its newest backup, and not when given a KEY', function () {
    const none = run(restoreScript, { BACKUP_AUTHSERVICE_NAMESPACE: undefined });
    expect(none.exitCode, none.output).to.equal(1);
    expect(none.output).to.include('BACKUP_AUTHSERVICE_NAMESPACE is required to find the newest backup (or name one as KEY)');
    const key = backups().at(-1) ?? '';
    const given = run(restoreScript, { BACKUP_AUTHSERVICE_NAMESPACE: undefined, BACKUP_AUTHSERVICE_NAME: undefined, RESTORE_EXPECT_USERS: String(USERS) }, [key]);
    expect(given.exitCode, given.output).to.equal(0);
    expect(given.output).to.include(`testing s3://${bucket}/${key}`);
    const nothing = run(restoreScript, { BACKUP_AUTHSERVICE_NAME: 'nobody' });
    expect(nothing.exitCode, nothing.output).to.equal(1);
    expect(nothing.output).to.include(`no backup of AuthService auth-service/nobody in s3://${bucket}/postgresql/auth-service/nobody/`);
    expect(scratchDatabases()).to.equal('');
  });

  it('deletes only this AuthService’s backups older than its retention: never another’s under the same bucket and prefix, nor the previous version’s', function () {
    const ours = { old: `${FOLDER}postgresql_backup_${stampDaysAgo(31)}.sql.gz.enc`, older: `${FOLDER}postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc` };
    const signups = { old: `${SIGNUP_FOLDER}postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`, recent: `${SIGNUP_FOLDER}postgresql_backup_${stampDaysAgo(29)}.sql.gz.enc` };
    // The previous version wrote every AuthService's backups straight under the prefix: nobody can tell whose they are.
    const previousLayout = [`postgresql/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`, `postgresql/postgresql_backup_${stampDaysAgo(31)}.sql.gz.enc`];
    const others = [
      `${FOLDER}postgresql_backup_${stampDaysAgo(29)}.sql.gz.enc`,
      // login in another namespace
      `postgresql/staging/login/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`,
      `${FOLDER}notes.txt`,
      `${FOLDER}postgresql_backup_${stampDaysAgo(400)}.sql.gz`,
      `${FOLDER}archive/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`,
      `other/auth-service/login/postgresql_backup_${stampDaysAgo(400)}.sql.gz.enc`,
    ];
    put(ours.old, ours.older, signups.old, signups.recent, ...previousLayout, ...others);
    const before = env.keys(bucket);

    const backup = run(backupScript, { BACKUP_RETENTION_DAYS: '30' });
    expect(backup.exitCode, backup.output).to.equal(0);
    expect(backup.output).to.include(`deleted old backup ${ours.old}`).and.include(`deleted old backup ${ours.older}`);
    expect(backup.output).to.include(`left alone 2 backup(s) of the previous layout straight under s3://${bucket}/postgresql/`);
    const taken = backups().filter((k) => !before.includes(k));
    expect(taken).to.have.length(1);
    // Exactly login's two expired backups went, and its new one came.
    expect(env.keys(bucket)).to.deep.equal([...before.filter((k) => k !== ours.old && k !== ours.older), ...taken].sort());

    // signup, with a retention of a day, deletes both of its own and nothing of login's.
    const signupBefore = env.keys(bucket);
    const signup = run(backupScript, { ...asSignup, BACKUP_RETENTION_DAYS: '1' });
    expect(signup.exitCode, signup.output).to.equal(0);
    expect(signup.output).to.include('retention: deleted 2, kept 1');
    const signupTaken = backups(SIGNUP_FOLDER).filter((k) => !signupBefore.includes(k));
    expect(signupTaken).to.have.length(1);
    expect(env.keys(bucket)).to.deep.equal([...signupBefore.filter((k) => k !== signups.old && k !== signups.recent), ...signupTaken].sort());
  });

  it('restore-test.sh tests this AuthService’s newest backup, though another AuthService’s or the previous version’s under the prefix is newer', function () {
    const login = run(backupScript);
    expect(login.exitCode, login.output).to.equal(0);
    const signup = run(backupScript, asSignup);
    expect(signup.exitCode, signup.output).to.equal(0);
    // Newer than both, and no backup at all: picked, it would fail to decrypt.
    put(`postgresql/postgresql_backup_${stampDaysAgo(-1)}.sql.gz.enc`);

    const restoreLogin = run(restoreScript, { RESTORE_EXPECT_USERS: String(USERS) });
    expect(restoreLogin.exitCode, restoreLogin.output).to.equal(0);
    expect(restoreLogin.output).to.include(`testing s3://${bucket}/${backups().at(-1)}`);
    const restoreSignup = run(restoreScript, { ...asSignup, DATABASE_URL: env.databaseUrl('auth'), RESTORE_EXPECT_USERS: String(SIGNUP_USERS) });
    expect(restoreSignup.exitCode, restoreSignup.output).to.equal(0);
    expect(restoreSignup.output).to.include(`testing s3://${bucket}/${backups(SIGNUP_FOLDER).at(-1)}`);
    expect(scratchDatabases()).to.equal('');
  });
});
