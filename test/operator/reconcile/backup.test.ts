import type { V1Container, V1CronJob } from '@kubernetes/client-node';
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKUP_SCRIPT, desiredBackupCronJob, desiredBackupScripts } from '../../../operator/reconcile/backup.js';
import type { AuthService } from '../../../operator/api/types.js';
import { defaultAuthService } from '../../../operator/api/defaults.js';
import { everyField, login, loginInput } from '../api/fixtures.js';
import { runBackupEndToEnd } from './backup-run.js';

/** login with the smallest backup section the CRD accepts; in auth-service unless `namespace` says otherwise. */
function withBackup(namespace?: string): AuthService {
  const input = loginInput();
  if (namespace) input.metadata.namespace = namespace;
  input.spec.backup = {
    image: 'registry.example/backup-tools:2.1.0',
    s3: { bucket: 'auth-service-backups', credentialsSecretRef: { name: 'backup-creds' } },
    encryptionKeySecretRef: { name: 'backup-key' },
  };
  return defaultAuthService(input);
}

function container(cronJob: V1CronJob | undefined): V1Container {
  const c = cronJob?.spec?.jobTemplate.spec?.template.spec?.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

describe('backup', function () {
  describe('desiredBackupCronJob', function () {
    const cronJob = desiredBackupCronJob(withBackup());

    it('runs login-backup daily at 02:00 UTC, never twice at once, keeping 3 successes and 1 failure', function () {
      expect(cronJob).to.deep.include({ apiVersion: 'batch/v1', kind: 'CronJob' });
      expect(cronJob?.metadata?.name).to.equal('login-backup');
      expect(cronJob?.spec).to.deep.include({
        schedule: '0 2 * * *',
        timeZone: 'UTC',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 1,
      });
    });

    it('runs /scripts/backup.sh from login-backup-scripts with the key file under /etc/backup', function () {
      const pod = cronJob?.spec?.jobTemplate.spec?.template.spec;
      expect(container(cronJob).command).to.deep.equal(['/scripts/backup.sh']);
      expect(container(cronJob).image).to.equal('registry.example/backup-tools:2.1.0');
      expect(pod?.restartPolicy).to.equal('OnFailure');
      expect(pod?.volumes).to.deep.equal([
        { name: 'backup-scripts', configMap: { name: 'login-backup-scripts', defaultMode: 0o755 } },
        { name: 'encryption-key', secret: { secretName: 'backup-key', items: [{ key: 'encryption.key', path: 'encryption.key' }], defaultMode: 0o440 } },
        { name: 'tmp', emptyDir: {} },
      ]);
      expect(container(cronJob).volumeMounts).to.deep.equal([
        { name: 'backup-scripts', mountPath: '/scripts', readOnly: true },
        { name: 'encryption-key', mountPath: '/etc/backup', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ]);
    });

    it('gives the job the guide’s resources and a non-root, read-only security context', function () {
      expect(container(cronJob).resources).to.deep.equal({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '500m', memory: '1Gi' } });
      expect(cronJob?.spec?.jobTemplate.spec?.template.spec?.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 });
      expect(container(cronJob).securityContext).to.deep.include({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(cronJob?.spec?.jobTemplate.spec?.template.spec?.automountServiceAccountToken).to.equal(false);
    });

    it('passes the database URL from its Secret, the S3 settings and the retention as environment', function () {
      const env = container(cronJob).env ?? [];
      expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'auth-db', key: 'url' } });
      const values = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
      expect(values).to.deep.equal({
        BACKUP_S3_BUCKET: 'auth-service-backups',
        BACKUP_S3_PREFIX: 'postgresql/',
        BACKUP_AUTHSERVICE_NAMESPACE: 'auth-service',
        BACKUP_AUTHSERVICE_NAME: 'login',
        BACKUP_STORAGE_CLASS: 'STANDARD_IA',
        BACKUP_RETENTION_DAYS: '30',
        BACKUP_ENCRYPTION_KEY: '/etc/backup/encryption.key',
        BACKUP_WORK_DIR: '/tmp',
        HOME: '/tmp',
      });
      expect(container(cronJob).envFrom).to.deep.equal([{ secretRef: { name: 'backup-creds' } }]);
    });

    it('stops a run after 4 hours, starts one up to 2 hours late, and retries a failure twice', function () {
      expect(cronJob?.spec?.startingDeadlineSeconds).to.equal(2 * 3600);
      expect(cronJob?.spec?.jobTemplate.spec).to.deep.include({ activeDeadlineSeconds: 4 * 3600, backoffLimit: 2 });
    });

    it('follows the spec’s schedule, zone, retention, endpoint and region', function () {
      const c = desiredBackupCronJob(everyField());
      expect(c?.spec).to.deep.include({ schedule: '30 3 * * *', timeZone: 'Europe/Berlin' });
      const values = Object.fromEntries((container(c).env ?? []).map((e) => [e.name, e.value]));
      expect(values).to.deep.include({
        BACKUP_RETENTION_DAYS: '14',
        BACKUP_S3_ENDPOINT: 'https://s3.example.com',
        AWS_DEFAULT_REGION: 'eu-central-1',
        BACKUP_ENCRYPTION_KEY: '/etc/backup/passphrase',
      });
    });

    it('is absent without a backup section, or with one that is disabled', function () {
      expect(desiredBackupCronJob(login())).to.equal(undefined);
      expect(desiredBackupScripts(login())).to.equal(undefined);
      const disabled = withBackup();
      disabled.spec.backup!.enabled = false;
      expect(desiredBackupCronJob(disabled)).to.equal(undefined);
      expect(desiredBackupScripts(disabled)).to.equal(undefined);
    });
  });

  describe('desiredBackupScripts', function () {
    it('carries backup.sh in ConfigMap login-backup-scripts', function () {
      const configMap = desiredBackupScripts(withBackup());
      expect(configMap).to.deep.include({ apiVersion: 'v1', kind: 'ConfigMap' });
      expect(configMap?.metadata?.name).to.equal('login-backup-scripts');
      expect(configMap?.data).to.deep.equal({ 'backup.sh': BACKUP_SCRIPT });
    });

    it('is hack/backup.sh byte for byte, the script that is run by hand and tested end to end', function () {
      const file = readFileSync(new URL('../../../hack/backup.sh', import.meta.url), 'utf8');
      expect(desiredBackupScripts(withBackup())?.data?.['backup.sh']).to.equal(file);
    });

    it('is a bash script that stops at the first failure, also inside a pipeline', function () {
      expect(BACKUP_SCRIPT.startsWith('#!/bin/bash\n')).to.equal(true);
      expect(BACKUP_SCRIPT).to.include('\nset -euo pipefail\n');
      const dir = mkdtempSync(join(tmpdir(), 'keyward-backup-syntax-'));
      try {
        writeFileSync(join(dir, 'backup.sh'), BACKUP_SCRIPT);
        expect(() => execFileSync('bash', ['-n', join(dir, 'backup.sh')], { stdio: 'pipe' })).not.to.throw();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('dumps, compresses, encrypts with AES-256 under the key file, uploads, then applies the retention', function () {
      const order = ['pg_dump', '| gzip', 'openssl enc -aes-256-cbc -salt -pbkdf2', '-pass file:"$BACKUP_ENCRYPTION_KEY"', 's3 cp', 'cleanup_old_backups'];
      const body = BACKUP_SCRIPT.slice(BACKUP_SCRIPT.indexOf('backup_postgresql() {'));
      const positions = order.map((needle) => body.indexOf(needle));
      expect(positions.every((p) => p >= 0), JSON.stringify(positions)).to.equal(true);
      expect([...positions].sort((a, b) => a - b)).to.deep.equal(positions);
    });
  });

  describe('backup.sh against PostgreSQL and an S3 server', function () {
    this.timeout(120_000);
    it('stores an encrypted dump that restores to the same rows, deletes only its own expired backups, not another AuthService’s under the same prefix, and uploads nothing when the dump fails', async function () {
      // Another AuthService of the same name in another namespace, with the same bucket and the default prefix.
      const result = await runBackupEndToEnd(this, desiredBackupCronJob(withBackup())!, desiredBackupCronJob(withBackup('staging'))!, BACKUP_SCRIPT);
      expect(result.firstRun.exitCode, result.firstRun.output).to.equal(0);
      expect(result.afterFirstRun).to.have.length(1);
      expect(result.afterFirstRun[0]).to.match(/^postgresql\/auth-service\/login\/postgresql_backup_\d{8}_\d{6}\.sql\.gz\.enc$/);
      expect(result.storedHeader, 'openssl salted header, not gzip or SQL').to.equal('Salted__');
      expect(result.restoredRows).to.deep.equal(result.originalRows);
      expect(result.restoredRows).to.have.length(3);

      expect(result.failedRun.exitCode).not.to.equal(0);
      expect(result.afterFailedRun, 'a failed dump uploads nothing').to.deep.equal(result.afterFirstRun);

      expect(result.neighbourRun.exitCode, result.neighbourRun.output).to.equal(0);
      expect(result.neighbourKey).to.match(/^postgresql\/staging\/login\/postgresql_backup_\d{8}_\d{6}\.sql\.gz\.enc$/);

      expect(result.expiryRun.exitCode, result.expiryRun.output).to.equal(0);
      expect(result.expired.ours).to.equal('postgresql/auth-service/login/postgresql_backup_20000101_000000.sql.gz.enc');
      expect(result.expiryRun.output).to.include(`deleted old backup ${result.expired.ours}`).and.include('retention: deleted 1, kept 2');
      expect(result.afterExpiryRun).not.to.include(result.expired.ours);
      const taken = result.afterExpiryRun.filter((k) => /^postgresql\/auth-service\/login\/postgresql_backup_\d{8}_\d{6}\.sql\.gz\.enc$/.test(k));
      expect(taken, 'the first run\'s and the new one kept').to.have.length(2).and.include(result.afterFirstRun[0]);
      // The neighbour's backups, expired or not, and the previous version's, whose owner nobody can tell, stay.
      expect(result.afterExpiryRun).to.include.members([
        result.neighbourKey,
        result.expired.neighbours,
        result.expired.previousLayout,
        'other/postgresql_backup_20000101_000000.sql.gz.enc',
        'postgresql/notes.txt',
      ]);
      expect(result.expiryRun.output).to.include('left alone 1 backup(s) of the previous layout straight under s3://auth-service-backups/postgresql/');
    });
  });
});
