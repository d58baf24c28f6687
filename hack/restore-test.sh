#!/bin/bash
# Keyward recovery test (guide, "Recovery Testing Script"): download the newest
# backup that hack/backup.sh uploaded for one AuthService, decrypt it, restore it
# into a scratch database on the same server, check the users table, drop the
# scratch database.
# A backup is only as good as its last restore: run this on a schedule too.
# Arguments, environment and exit status: usage() below, or --help.
set -euo pipefail
set -o errtrace

usage() {
  cat <<'USAGE'
Usage: restore-test.sh [-h|--help] [KEY]

Downloads the newest backup that hack/backup.sh uploaded for one AuthService,
in s3://BUCKET/PREFIX<NAMESPACE>/<NAME>/ (or the object KEY), decrypts and
restores it into a scratch database on the server of DATABASE_URL, checks the
number of rows in its users table, and drops the scratch database again, also
when a step fails. Other AuthServices' backups under the same prefix are never
picked, nor the ones earlier versions wrote straight under PREFIX (name those
as KEY).

Arguments:
  KEY                     the object key (PREFIX included) of one backup to test
                          instead of the newest
  -h, --help              print this text and exit
  --                      end of options: a KEY that starts with - comes after it

Environment (the same names as hack/backup.sh):
  DATABASE_URL            postgres://… of a role that may CREATE DATABASE on the
                          server to restore into (required; the database it names
                          is only used to connect, never written)
  BACKUP_S3_BUCKET        bucket (required)
  BACKUP_AUTHSERVICE_NAMESPACE, BACKUP_AUTHSERVICE_NAME
                          the AuthService whose newest backup to test (required
                          unless KEY is given)
  BACKUP_S3_PREFIX        key prefix, default postgresql/ (matched literally)
  BACKUP_S3_ENDPOINT      S3-compatible endpoint URL; unset for AWS S3
  BACKUP_ENCRYPTION_KEY   key file, default /etc/backup/encryption.key
  BACKUP_WORK_DIR         scratch space, default /tmp
  RESTORE_MIN_USERS       fail when the restored users table has fewer rows, default 1
  RESTORE_EXPECT_USERS    fail unless it has exactly this many rows (optional)
  and the aws CLI's own (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, …)

Needs bash, psql (the dump's major version or newer), gunzip, openssl 1.1.1+
and the aws CLI.

Exit status:
  0    the backup restored and its users table has the expected rows
  1    DATABASE_URL or BACKUP_S3_BUCKET is unset, BACKUP_AUTHSERVICE_* is unset
       and no KEY given, or the AuthService has no backup
  2    unknown option or more than one KEY
  64   RESTORE_MIN_USERS or RESTORE_EXPECT_USERS is not a whole number, or
       BACKUP_AUTHSERVICE_NAMESPACE or _NAME is not a DNS label
  65   the restored users table has the wrong number of rows
  66   the encryption key file is missing, unreadable or empty
  any other (or 1)  the status of the command that failed; the last log line names the stage
USAGE
}

# Before the required variables are checked, so --help works without them.
while (($# > 0)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) echo "restore-test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
if (($# > 1)); then echo "restore-test.sh: one KEY at most, got $# arguments (see --help)" >&2; exit 2; fi

: "${DATABASE_URL:?DATABASE_URL is required}"
: "${BACKUP_S3_BUCKET:?BACKUP_S3_BUCKET is required}"
if (($# == 0)); then
  : "${BACKUP_AUTHSERVICE_NAMESPACE:?BACKUP_AUTHSERVICE_NAMESPACE is required to find the newest backup (or name one as KEY)}"
  : "${BACKUP_AUTHSERVICE_NAME:?BACKUP_AUTHSERVICE_NAME is required to find the newest backup (or name one as KEY)}"
fi
BACKUP_AUTHSERVICE_NAMESPACE="${BACKUP_AUTHSERVICE_NAMESPACE:-}"
BACKUP_AUTHSERVICE_NAME="${BACKUP_AUTHSERVICE_NAME:-}"
BACKUP_S3_PREFIX="${BACKUP_S3_PREFIX:-postgresql/}"
BACKUP_ENCRYPTION_KEY="${BACKUP_ENCRYPTION_KEY:-/etc/backup/encryption.key}"
BACKUP_WORK_DIR="${BACKUP_WORK_DIR:-/tmp}"
RESTORE_MIN_USERS="${RESTORE_MIN_USERS:-1}"
RESTORE_EXPECT_USERS="${RESTORE_EXPECT_USERS:-}"

STAGE="start"
ENCRYPTED_FILE=""
SCRATCH_DB="keyward_restore_test_$(date -u +%Y%m%d%H%M%S)_$$"
SCRATCH_CREATED=""

log() { printf '%s restore-test: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
stage() { STAGE="$1"; log "$1..."; }
trap 'status=$?; log "FAILED at stage \"${STAGE}\" (exit ${status})"; exit "$status"' ERR

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

# DATABASE_URL with its database replaced (the password must be URL-encoded, as in any URL).
database_url() {
  local url="$1" name="$2" scheme rest query=""
  if [[ "$url" == *\?* ]]; then query="?${url#*\?}"; url="${url%%\?*}"; fi
  scheme="${url%%://*}"
  rest="${url#*://}"
  printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$name" "$query"
}

admin_psql() { psql --dbname="$DATABASE_URL" -v ON_ERROR_STOP=1 -X -q "$@"; }

cleanup() {
  local status=$?
  trap - ERR
  rm -f -- "$ENCRYPTED_FILE"
  if [[ -n "$SCRATCH_CREATED" ]]; then
    log "dropping scratch database ${SCRATCH_DB}"
    admin_psql -c "DROP DATABASE IF EXISTS \"${SCRATCH_DB}\" WITH (FORCE)" || log "could not drop ${SCRATCH_DB}: drop it by hand"
  fi
  exit "$status"
}
trap cleanup EXIT

# The AuthService's folder, as hack/backup.sh names it.
backup_folder() { printf '%s%s/%s/' "$BACKUP_S3_PREFIX" "$BACKUP_AUTHSERVICE_NAMESPACE" "$BACKUP_AUTHSERVICE_NAME"; }

newest_backup() {
  local folder listing key newest=""
  folder=$(backup_folder)
  listing=$(aws_cli s3api list-objects-v2 --bucket "$BACKUP_S3_BUCKET" --prefix "$folder" --query 'Contents[].Key' --output text)
  while IFS= read -r key; do
    # The quoted folder is matched literally, as backup.sh's retention matches it: a
    # prefix such as "db.v1+(eu)/" is a key prefix, not a regular expression.
    [[ "$key" =~ ^"${folder}"postgresql_backup_[0-9]{8}_[0-9]{6}\.sql\.gz\.enc$ ]] || continue
    # The names carry a sortable UTC timestamp, so the newest sorts last.
    if [[ "$key" > "$newest" ]]; then newest="$key"; fi
  done < <(printf '%s\n' "$listing" | tr '\t' '\n')
  printf '%s' "$newest"
}

main() {
  local key="${1:-}" users
  stage "check configuration"
  [[ -r "$BACKUP_ENCRYPTION_KEY" && -s "$BACKUP_ENCRYPTION_KEY" ]] || { log "encryption key file ${BACKUP_ENCRYPTION_KEY} is missing, unreadable or empty"; return 66; }
  [[ -z "$RESTORE_EXPECT_USERS" || "$RESTORE_EXPECT_USERS" =~ ^[0-9]+$ ]] || { log "RESTORE_EXPECT_USERS must be a whole number"; return 64; }
  [[ "$RESTORE_MIN_USERS" =~ ^[0-9]+$ ]] || { log "RESTORE_MIN_USERS must be a whole number"; return 64; }
  if [[ -z "$key" ]]; then
    local var
    for var in BACKUP_AUTHSERVICE_NAMESPACE BACKUP_AUTHSERVICE_NAME; do
      [[ "${!var}" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || { log "${var} must be a DNS label (a-z, 0-9 and -, at most 63), not '${!var}'"; return 64; }
    done
  fi
  move_password_to_environment

  stage "find the newest backup"
  if [[ -z "$key" ]]; then
    key=$(newest_backup)
    [[ -n "$key" ]] || { log "no backup of AuthService ${BACKUP_AUTHSERVICE_NAMESPACE}/${BACKUP_AUTHSERVICE_NAME} in s3://${BACKUP_S3_BUCKET}/$(backup_folder)"; return 1; }
  fi
  log "testing s3://${BACKUP_S3_BUCKET}/${key}"

  stage "download"
  ENCRYPTED_FILE=$(mktemp "${BACKUP_WORK_DIR}/restore-test.XXXXXX.enc")
  aws_cli s3 cp "s3://${BACKUP_S3_BUCKET}/${key}" "$ENCRYPTED_FILE" --only-show-errors

  stage "create scratch database"
  admin_psql -c "CREATE DATABASE \"${SCRATCH_DB}\""
  SCRATCH_CREATED=1

  # A wrong key fails here: openssl reports "bad decrypt" and pipefail stops the restore.
  stage "decrypt and restore"
  openssl enc -d -aes-256-cbc -pbkdf2 -in "$ENCRYPTED_FILE" -pass file:"$BACKUP_ENCRYPTION_KEY" \
    | gunzip \
    | psql --dbname="$(database_url "$DATABASE_URL" "$SCRATCH_DB")" -v ON_ERROR_STOP=1 -X -q --single-transaction > /dev/null

  stage "verify"
  users=$(psql --dbname="$(database_url "$DATABASE_URL" "$SCRATCH_DB")" -v ON_ERROR_STOP=1 -X -At -c 'SELECT count(*) FROM users')
  log "restored database contains ${users} users"
  if [[ -n "$RESTORE_EXPECT_USERS" && "$users" != "$RESTORE_EXPECT_USERS" ]]; then
    log "expected exactly ${RESTORE_EXPECT_USERS} users"
    return 65
  fi
  if (( users < RESTORE_MIN_USERS )); then
    log "expected at least ${RESTORE_MIN_USERS} users"
    return 65
  fi

  STAGE="done"
  log "database restore test completed successfully (${key}, ${users} users)"
}

main "$@"
