#!/bin/bash
# Keyward PostgreSQL backup: pg_dump → gzip → openssl AES-256-CBC (PBKDF2, key
# file) → S3-compatible storage, then delete this AuthService's backups older
# than the retention (guide, "Automated Backup Scripts").
#
# This file is the only copy: the operator ships it verbatim as backup.sh in
# ConfigMap <name>-backup-scripts (operator/reconcile/backup.ts reads it), and
# its CronJob sets the variables in usage() below. Edits to that ConfigMap are
# overwritten.
set -euo pipefail
# The ERR trap below also fires inside functions.
set -o errtrace

usage() {
  cat <<'USAGE'
Usage: backup.sh [-h|--help]

Dumps the PostgreSQL database at DATABASE_URL (pg_dump | gzip), encrypts the
dump with openssl AES-256-CBC (PBKDF2, key file), checks that it decrypts and
decompresses, uploads it to
  s3://BUCKET/PREFIX<NAMESPACE>/<NAME>/postgresql_backup_<UTC time>.sql.gz.enc
and then deletes the backups of that AuthService (that name pattern, in that
folder) that are older than the retention. Nothing else is deleted: not other
AuthServices' backups under the same prefix, and not backups that earlier
versions wrote straight under PREFIX, which name no AuthService (it counts
those in its log). Takes no arguments: it is configured by the environment.

Environment:
  DATABASE_URL            postgres://… of the database to dump (required)
  BACKUP_S3_BUCKET        bucket (required)
  BACKUP_AUTHSERVICE_NAMESPACE, BACKUP_AUTHSERVICE_NAME
                          the AuthService whose backup this is (required; DNS
                          labels): its backups go in a folder of their own
  BACKUP_S3_PREFIX        key prefix, default postgresql/
  BACKUP_S3_ENDPOINT      S3-compatible endpoint URL; unset for AWS S3
  BACKUP_RETENTION_DAYS   whole days, 1 or more, default 30
  BACKUP_ENCRYPTION_KEY   key file (a passphrase), default /etc/backup/encryption.key
  BACKUP_STORAGE_CLASS    default STANDARD_IA
  BACKUP_WORK_DIR         scratch space for the dump, default /tmp
  and the aws CLI's own (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, …)

Needs bash, GNU date, pg_dump (the server's major version or newer), gzip,
openssl 1.1.1+ and the aws CLI.

Exit status:
  0    backed up, verified and uploaded; retention applied
  1    DATABASE_URL, BACKUP_S3_BUCKET or BACKUP_AUTHSERVICE_* is unset
  2    unknown option or unexpected argument
  64   BACKUP_RETENTION_DAYS is not a whole number of 1 or more, or
       BACKUP_AUTHSERVICE_NAMESPACE or _NAME is not a DNS label
  66   the encryption key file is missing, unreadable or empty
  73   the work directory is not writable
  any other (or 1)  the status of the command that failed; the last log line names the stage

Restore: hack/restore-test.sh, or by hand:
  aws s3 cp s3://BUCKET/KEY - | openssl enc -d -aes-256-cbc -pbkdf2 -pass file:KEYFILE | gunzip | psql "$DATABASE_URL"
USAGE
}

# Before the required variables are checked, so --help works without them.
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  -*) echo "backup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  *) echo "backup.sh: takes no arguments, got '$1': it is configured by the environment (see --help)" >&2; exit 2 ;;
esac

: "${DATABASE_URL:?DATABASE_URL is required}"
: "${BACKUP_S3_BUCKET:?BACKUP_S3_BUCKET is required}"
: "${BACKUP_AUTHSERVICE_NAMESPACE:?BACKUP_AUTHSERVICE_NAMESPACE is required: backups are kept per AuthService}"
: "${BACKUP_AUTHSERVICE_NAME:?BACKUP_AUTHSERVICE_NAME is required: backups are kept per AuthService}"
BACKUP_S3_PREFIX="${BACKUP_S3_PREFIX:-postgresql/}"
BACKUP_RETENTION_DAYS="${BACKUP_RETENTION_DAYS:-30}"
BACKUP_ENCRYPTION_KEY="${BACKUP_ENCRYPTION_KEY:-/etc/backup/encryption.key}"
BACKUP_STORAGE_CLASS="${BACKUP_STORAGE_CLASS:-STANDARD_IA}"
BACKUP_WORK_DIR="${BACKUP_WORK_DIR:-/tmp}"
# This AuthService's folder. Every AuthService defaults to the same prefix, so
# the prefix alone cannot tell whose a backup is; the folder can.
BACKUP_S3_FOLDER="${BACKUP_S3_PREFIX}${BACKUP_AUTHSERVICE_NAMESPACE}/${BACKUP_AUTHSERVICE_NAME}/"

STAGE="start"
PLAIN_FILE=""
ENCRYPTED_FILE=""
cleanup() { rm -f -- "$PLAIN_FILE" "$ENCRYPTED_FILE"; }
trap cleanup EXIT
# One line that names the stage that failed; the command's own error is above it.
trap 'status=$?; log "FAILED at stage \"${STAGE}\" (exit ${status})"; exit "$status"' ERR

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
stage() { STAGE="$1"; log "$1..."; }

aws_cli() {
  if [[ -n "${BACKUP_S3_ENDPOINT:-}" ]]; then
    aws --endpoint-url "$BACKUP_S3_ENDPOINT" "$@"
  else
    aws "$@"
  fi
}

# The password goes to libpq in PGPASSWORD, not on a command line, where anyone on the node who
# can list processes would read it (ps, /proc/<pid>/cmdline). DATABASE_URL keeps the rest.
# (backup.sh and restore-test.sh each carry this function: backup.sh ships alone, in a ConfigMap.)
move_password_to_environment() {
  local scheme rest authority userinfo encoded
  [[ "$DATABASE_URL" == *://* ]] || return 0   # a key=value conninfo string: left as it is
  scheme="${DATABASE_URL%%://*}"
  rest="${DATABASE_URL#*://}"
  # As libpq reads it: the user info ends at the first @, before any /; a ? may be in the password.
  authority="${rest%%/*}"
  [[ "$authority" == *@* ]] || return 0
  userinfo="${authority%%@*}"
  [[ "$userinfo" == *:* ]] || return 0
  encoded="${userinfo#*:}"
  # A malformed %-escape: libpq refuses the URL and pg_dump says so; nothing to decode.
  [[ "$encoded" =~ %([^0-9A-Fa-f]|[0-9A-Fa-f]([^0-9A-Fa-f]|$)|$) ]] && return 0
  # Percent-decoded, as libpq decodes a URL: %XX becomes the byte; a backslash stays one.
  encoded="${encoded//\\/\\\\}"
  printf -v PGPASSWORD '%b' "${encoded//%/\\x}"
  export PGPASSWORD
  DATABASE_URL="${scheme}://${userinfo%%:*}@${authority#*@}${rest#"$authority"}"
}

check_configuration() {
  stage "check configuration"
  # 0 or fewer days puts the cutoff at or after now, so retention would delete the backup just uploaded.
  [[ "$BACKUP_RETENTION_DAYS" =~ ^0*[1-9][0-9]*$ ]] || { log "BACKUP_RETENTION_DAYS must be a positive whole number of days (1 or more), not '${BACKUP_RETENTION_DAYS}'"; return 64; }
  # A DNS label has no "/": <namespace>/<name>/ is then one AuthService's folder and nobody else's.
  local var
  for var in BACKUP_AUTHSERVICE_NAMESPACE BACKUP_AUTHSERVICE_NAME; do
    [[ "${!var}" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || { log "${var} must be a DNS label (a-z, 0-9 and -, at most 63), not '${!var}'"; return 64; }
  done
  [[ -r "$BACKUP_ENCRYPTION_KEY" && -s "$BACKUP_ENCRYPTION_KEY" ]] || { log "encryption key file ${BACKUP_ENCRYPTION_KEY} is missing, unreadable or empty"; return 66; }
  [[ -d "$BACKUP_WORK_DIR" && -w "$BACKUP_WORK_DIR" ]] || { log "work directory ${BACKUP_WORK_DIR} is not writable"; return 73; }
}

backup_postgresql() {
  local timestamp backup_file bytes
  timestamp=$(date -u +"%Y%m%d_%H%M%S")
  backup_file="postgresql_backup_${timestamp}.sql.gz"
  PLAIN_FILE="${BACKUP_WORK_DIR}/${backup_file}"
  ENCRYPTED_FILE="${PLAIN_FILE}.enc"

  stage "dump and compress"
  pg_dump --dbname="$DATABASE_URL" --no-owner --no-privileges | gzip > "$PLAIN_FILE"
  bytes=$(wc -c < "$PLAIN_FILE")
  log "dump compressed to ${bytes} bytes"

  stage "encrypt"
  openssl enc -aes-256-cbc -salt -pbkdf2 -in "$PLAIN_FILE" -out "$ENCRYPTED_FILE" -pass file:"$BACKUP_ENCRYPTION_KEY"

  # A backup counts only once it is known to decrypt and decompress.
  stage "verify"
  openssl enc -d -aes-256-cbc -pbkdf2 -in "$ENCRYPTED_FILE" -pass file:"$BACKUP_ENCRYPTION_KEY" | gzip -t

  stage "upload"
  aws_cli s3 cp "$ENCRYPTED_FILE" "s3://${BACKUP_S3_BUCKET}/${BACKUP_S3_FOLDER}${backup_file}.enc" --storage-class "$BACKUP_STORAGE_CLASS" --only-show-errors

  cleanup
  log "uploaded s3://${BACKUP_S3_BUCKET}/${BACKUP_S3_FOLDER}${backup_file}.enc"
}

# Only this AuthService's backups, in its own folder, are ever deleted. A
# backup's age is the UTC timestamp in its name, which this script wrote when
# it took it: it survives a copy to another bucket, where LastModified would
# start again.
cleanup_old_backups() {
  local cutoff listing key stamp deleted=0 kept=0
  stage "apply retention"
  cutoff=$(date -u -d "${BACKUP_RETENTION_DAYS} days ago" +%Y%m%d_%H%M%S)
  log "deleting backups in ${BACKUP_S3_FOLDER} taken before ${cutoff} UTC (${BACKUP_RETENTION_DAYS} days)"
  # Every key in the folder (the CLI follows the pages); "None" when there is none.
  listing=$(aws_cli s3api list-objects-v2 --bucket "$BACKUP_S3_BUCKET" --prefix "$BACKUP_S3_FOLDER" --query 'Contents[].Key' --output text)
  while IFS= read -r key; do
    # Quoted, the folder is matched literally; a key in a subfolder does not match.
    [[ "$key" =~ ^"${BACKUP_S3_FOLDER}"postgresql_backup_([0-9]{8}_[0-9]{6})\.sql\.gz\.enc$ ]] || continue
    stamp="${BASH_REMATCH[1]}"
    if [[ "$stamp" < "$cutoff" ]]; then
      aws_cli s3 rm "s3://${BACKUP_S3_BUCKET}/${key}" --only-show-errors
      log "deleted old backup ${key}"
      deleted=$((deleted + 1))
    else
      kept=$((kept + 1))
    fi
  done < <(printf '%s\n' "$listing" | tr '\t' '\n')
  log "retention: deleted ${deleted}, kept ${kept}"
  count_unowned_backups
}

# Versions before this one wrote PREFIXpostgresql_backup_<time>.sql.gz.enc for
# every AuthService alike: such a key names no AuthService, and deleting it
# could delete another's backup. They are left alone, and counted here so that
# someone cleans them up by hand (docs/operations.md, "Upgrade"). Only the
# objects straight under the prefix are listed (--delimiter), and a failure to
# list is logged, not fatal: the backup itself is done.
count_unowned_backups() {
  local listing key count=0
  if ! listing=$(aws_cli s3api list-objects-v2 --bucket "$BACKUP_S3_BUCKET" --prefix "$BACKUP_S3_PREFIX" --delimiter / --query 'Contents[].Key' --output text); then
    log "could not list s3://${BACKUP_S3_BUCKET}/${BACKUP_S3_PREFIX} for backups of the previous layout"
    return 0
  fi
  while IFS= read -r key; do
    if [[ "$key" =~ ^"${BACKUP_S3_PREFIX}"postgresql_backup_[0-9]{8}_[0-9]{6}\.sql\.gz\.enc$ ]]; then count=$((count + 1)); fi
  done < <(printf '%s\n' "$listing" | tr '\t' '\n')
  if ((count > 0)); then
    log "left alone ${count} backup(s) of the previous layout straight under s3://${BACKUP_S3_BUCKET}/${BACKUP_S3_PREFIX}: they name no AuthService, so no retention deletes them; delete them by hand once no longer needed (docs/operations.md, Upgrade)"
  fi
}

main() {
  check_configuration
  move_password_to_environment
  backup_postgresql
  cleanup_old_backups
  STAGE="done"
  log "backup process completed successfully"
}

main "$@"
