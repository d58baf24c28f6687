// The nightly backup (guide, "Automated Backup Scripts" and "Kubernetes CronJob
// for Automated Backups"): CronJob `<name>-backup` runs backup.sh from
// ConfigMap `<name>-backup-scripts`. Only PostgreSQL is dumped: Redis is a cache
// here, with nothing in it that a restore would need.
import type { V1ConfigMap, V1CronJob, V1EnvVar } from '@kubernetes/client-node';
import type { AuthService, Backup } from '../api/types.js';
import { COMPONENT_BACKUP, commonLabels, names, objectMeta } from './meta.js';

export const BACKUP_SCRIPT_KEY = 'backup.sh';
/** Guide: the scripts are mounted at /scripts, the encryption key at /etc/backup. */
export const SCRIPTS_DIR = '/scripts';
export const KEY_DIR = '/etc/backup';

/**
 * pg_dump → gzip → openssl AES-256-CBC (PBKDF2, key file) → aws s3 cp, then
 * delete this AuthService's backups older than the retention. Configured only
 * through environment variables, so the script is the same for every
 * AuthService. Restore:
 *   aws s3 cp s3://BUCKET/KEY - | openssl enc -d -aes-256-cbc -pbkdf2 -pass file:KEYFILE | gunzip | psql "$DATABASE_URL"
 */
export const BACKUP_SCRIPT = `#!/bin/bash
# Keyward PostgreSQL backup, written by the Keyward operator; edits are overwritten.
# Needs bash, GNU date, pg_dump, gzip, openssl 1.1.1+ and the aws CLI.
set -euo pipefail

: "\${DATABASE_URL:?DATABASE_URL is required}"
: "\${BACKUP_S3_BUCKET:?BACKUP_S3_BUCKET is required}"
BACKUP_S3_PREFIX="\${BACKUP_S3_PREFIX:-postgresql/}"
BACKUP_RETENTION_DAYS="\${BACKUP_RETENTION_DAYS:-30}"
BACKUP_ENCRYPTION_KEY="\${BACKUP_ENCRYPTION_KEY:-/etc/backup/encryption.key}"
BACKUP_STORAGE_CLASS="\${BACKUP_STORAGE_CLASS:-STANDARD_IA}"
BACKUP_WORK_DIR="\${BACKUP_WORK_DIR:-/tmp}"

PLAIN_FILE=""
ENCRYPTED_FILE=""
cleanup() { rm -f -- "$PLAIN_FILE" "$ENCRYPTED_FILE"; }
trap cleanup EXIT

log() { printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

s3() {
  if [[ -n "\${BACKUP_S3_ENDPOINT:-}" ]]; then
    aws --endpoint-url "$BACKUP_S3_ENDPOINT" s3 "$@"
  else
    aws s3 "$@"
  fi
}

backup_postgresql() {
  local timestamp backup_file
  timestamp=$(date -u +"%Y%m%d_%H%M%S")
  backup_file="postgresql_backup_\${timestamp}.sql.gz"
  PLAIN_FILE="\${BACKUP_WORK_DIR}/\${backup_file}"
  ENCRYPTED_FILE="\${PLAIN_FILE}.enc"

  log "Starting PostgreSQL backup..."
  pg_dump --dbname="$DATABASE_URL" --no-owner --no-privileges | gzip > "$PLAIN_FILE"

  openssl enc -aes-256-cbc -salt -pbkdf2 -in "$PLAIN_FILE" -out "$ENCRYPTED_FILE" -pass file:"$BACKUP_ENCRYPTION_KEY"

  # A backup counts only once it is known to decrypt and decompress.
  openssl enc -d -aes-256-cbc -pbkdf2 -in "$ENCRYPTED_FILE" -pass file:"$BACKUP_ENCRYPTION_KEY" | gzip -t

  s3 cp "$ENCRYPTED_FILE" "s3://\${BACKUP_S3_BUCKET}/\${BACKUP_S3_PREFIX}\${backup_file}.enc" --storage-class "$BACKUP_STORAGE_CLASS" --only-show-errors

  cleanup
  log "PostgreSQL backup completed: \${BACKUP_S3_PREFIX}\${backup_file}.enc"
}

# Only this script's own files under the prefix are ever deleted.
cleanup_old_backups() {
  local cutoff day time size key
  log "Cleaning up backups older than \${BACKUP_RETENTION_DAYS} days..."
  cutoff=$(date -u -d "\${BACKUP_RETENTION_DAYS} days ago" +%s)
  s3 ls "s3://\${BACKUP_S3_BUCKET}/\${BACKUP_S3_PREFIX}" --recursive | while read -r day time size key; do
    [[ "$key" == "\${BACKUP_S3_PREFIX}"postgresql_backup_*.sql.gz.enc ]] || continue
    if (( $(date -u -d "$day $time" +%s) < cutoff )); then
      s3 rm "s3://\${BACKUP_S3_BUCKET}/\${key}" --only-show-errors
      log "Deleted old backup: \${key}"
    fi
  done
}

main() {
  backup_postgresql
  cleanup_old_backups
  log "Backup process completed successfully"
}

main "$@"
`;

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
      jobTemplate: {
        metadata: { labels },
        spec: {
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
