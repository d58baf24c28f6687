// The nightly backup (guide, "Automated Backup Scripts" and "Kubernetes CronJob
// for Automated Backups"): CronJob `<name>-backup` runs backup.sh from
// ConfigMap `<name>-backup-scripts`. Only PostgreSQL is dumped: Redis is a cache
// here, with nothing in it that a restore would need.
import type { V1ConfigMap, V1CronJob, V1EnvVar } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import type { AuthService, Backup } from '../api/types.js';
import { packageFile } from '../package-file.js';
import { COMPONENT_BACKUP, commonLabels, nameOf, names, namespaceOf, objectMeta } from './meta.js';

export const BACKUP_SCRIPT_KEY = 'backup.sh';
/** Guide: the scripts are mounted at /scripts, the encryption key at /etc/backup. */
export const SCRIPTS_DIR = '/scripts';
export const KEY_DIR = '/etc/backup';

/**
 * A run that has not finished after 4 hours is stopped and the Job fails
 * (reason DeadlineExceeded) instead of hanging on a stuck pg_dump or a stalled
 * upload, which with concurrencyPolicy Forbid would block every later run
 * without a word. gzip, the slowest stage, compresses a dump at about 50 MB/s
 * on one core, so some 25 MB/s under the container's 0.5 CPU limit: 4 hours is
 * room for a dump of about 100 GB with a retry, where 1,000,000 users make
 * 458 MB (docs/operations.md). And a daily run that starts late and takes all
 * of it still ends long before BackupOverdue's 36 hours.
 */
export const BACKUP_ACTIVE_DEADLINE_SECONDS = 4 * 3600;
/**
 * A run the CronJob controller could not start on time (controller down, a
 * control-plane upgrade at night) still starts within 2 hours of its schedule;
 * later it is skipped, and BackupOverdue reports the gap. A bound also keeps
 * the controller from counting missed runs back to the CronJob's last schedule
 * (Kubernetes docs, "CronJob limitations"). Late start plus deadline, 6 hours,
 * fits in the 12 hours a daily run has before BackupOverdue's 36.
 */
export const BACKUP_STARTING_DEADLINE_SECONDS = 2 * 3600;
/**
 * Two retries (restartPolicy OnFailure restarts the container; each restart
 * counts) ride out a database failover or an S3 hiccup; a failure that
 * persists (wrong key, wrong credentials) fails the Job within minutes, not
 * after the default six restarts with growing back-off.
 */
export const BACKUP_BACKOFF_LIMIT = 2;

/**
 * hack/backup.sh, verbatim: pg_dump → gzip → openssl AES-256-CBC (PBKDF2, key
 * file) → aws s3 cp into this AuthService's own folder,
 * <prefix><namespace>/<name>/, then delete the backups in that folder older
 * than the retention. Every AuthService defaults to the same prefix, so the
 * folder, not the prefix, is what keeps two AuthServices' backups apart.
 * Configured only through environment variables, so the script is the same
 * for every AuthService. The file is the one copy (it is run by hand and tested
 * end to end as it is); the operator image ships it beside dist/.
 */
export const BACKUP_SCRIPT = readFileSync(packageFile('hack/backup.sh'), 'utf8');

/** ConfigMap `<name>-backup-scripts` holding backup.sh; undefined when no backup should run. */
export function desiredBackupScripts(auth: AuthService): V1ConfigMap | undefined {
  if (!enabledBackup(auth)) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(auth, names(auth).backupScripts, commonLabels(auth, COMPONENT_BACKUP)),
    data: { [BACKUP_SCRIPT_KEY]: BACKUP_SCRIPT },
  };
}

/** Whether the operator runs CronJob `<name>-backup` for this AuthService (and so alerts on it). */
export function backupEnabled(auth: AuthService): boolean {
  return enabledBackup(auth) !== undefined;
}

function enabledBackup(auth: AuthService): (Backup & Required<Pick<Backup, 'image' | 's3' | 'encryptionKeySecretRef'>>) | undefined {
  const backup = auth.spec.backup;
  if (!backup?.enabled) return undefined;
  const { image, s3, encryptionKeySecretRef } = backup;
  // The CRD refuses an enabled backup without these; a spec that slipped past it gets no CronJob rather than a broken one.
  if (!image || !s3 || !encryptionKeySecretRef) return undefined;
  return { ...backup, image, s3, encryptionKeySecretRef };
}

function backupEnvironment(auth: AuthService, backup: NonNullable<ReturnType<typeof enabledBackup>>): V1EnvVar[] {
  const { s3, encryptionKeySecretRef } = backup;
  const value = (name: string, v: string | number): V1EnvVar => ({ name, value: String(v) });
  const db = auth.spec.database.urlSecretRef;
  return [
    { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: db.name, key: db.key } } },
    value('BACKUP_S3_BUCKET', s3.bucket),
    value('BACKUP_S3_PREFIX', s3.prefix),
    // The backups' folder under the prefix: whose they are, for the upload, the retention and the restore test.
    value('BACKUP_AUTHSERVICE_NAMESPACE', namespaceOf(auth)),
    value('BACKUP_AUTHSERVICE_NAME', nameOf(auth)),
    ...(s3.endpoint ? [value('BACKUP_S3_ENDPOINT', s3.endpoint)] : []),
    ...(s3.region ? [value('AWS_DEFAULT_REGION', s3.region)] : []),
    value('BACKUP_STORAGE_CLASS', s3.storageClass),
    value('BACKUP_RETENTION_DAYS', backup.retentionDays),
    value('BACKUP_ENCRYPTION_KEY', `${KEY_DIR}/${encryptionKeySecretRef.key}`),
    value('BACKUP_WORK_DIR', '/tmp'),
    // The aws CLI keeps a cache under $HOME; the root filesystem is read-only.
    value('HOME', '/tmp'),
  ];
}

/** CronJob `<name>-backup`; undefined when spec.backup is absent or disabled. */
export function desiredBackupCronJob(auth: AuthService): V1CronJob | undefined {
  const backup = enabledBackup(auth);
  if (!backup) return undefined;
  const labels = commonLabels(auth, COMPONENT_BACKUP);
  const credentials = backup.s3.credentialsSecretRef;
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: objectMeta(auth, names(auth).backupCronJob, labels),
    spec: {
      schedule: backup.schedule,
      timeZone: backup.timeZone,
      // Guide: never two backups at once; keep the last 3 successes and the last failure.
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      startingDeadlineSeconds: BACKUP_STARTING_DEADLINE_SECONDS,
      jobTemplate: {
        metadata: { labels },
        spec: {
          activeDeadlineSeconds: BACKUP_ACTIVE_DEADLINE_SECONDS,
          backoffLimit: BACKUP_BACKOFF_LIMIT,
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: names(auth).stable,
              automountServiceAccountToken: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                runAsGroup: 1000,
                fsGroup: 1000,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              restartPolicy: 'OnFailure',
              containers: [
                {
                  name: 'backup',
                  image: backup.image,
                  command: [`${SCRIPTS_DIR}/${BACKUP_SCRIPT_KEY}`],
                  env: backupEnvironment(auth, backup),
                  ...(credentials ? { envFrom: [{ secretRef: { name: credentials.name } }] } : {}),
                  volumeMounts: [
                    { name: 'backup-scripts', mountPath: SCRIPTS_DIR, readOnly: true },
                    { name: 'encryption-key', mountPath: KEY_DIR, readOnly: true },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                  // Guide, verbatim.
                  resources: {
                    requests: { cpu: '100m', memory: '256Mi' },
                    limits: { cpu: '500m', memory: '1Gi' },
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    runAsUser: 1000,
                    capabilities: { drop: ['ALL'] },
                  },
                },
              ],
              volumes: [
                { name: 'backup-scripts', configMap: { name: names(auth).backupScripts, defaultMode: 0o755 } },
                {
                  name: 'encryption-key',
                  secret: {
                    secretName: backup.encryptionKeySecretRef.name,
                    items: [{ key: backup.encryptionKeySecretRef.key, path: backup.encryptionKeySecretRef.key }],
                    // Owner and fsGroup may read it, nobody else.
                    defaultMode: 0o440,
                  },
                },
                { name: 'tmp', emptyDir: {} },
              ],
            },
          },
        },
      },
    },
  };
}
