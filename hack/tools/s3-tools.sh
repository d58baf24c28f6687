#!/usr/bin/env bash
# Installs what the backup tests use for S3 — moto's S3 server and the aws CLI —
# into a Python virtualenv, cached outside the repository by version:
#   ${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}/tools/s3-moto-<v>-awscli-<v>/
#
#   bash hack/tools/s3-tools.sh                   install them unless present
#   bash hack/tools/s3-tools.sh --print-bin-dir   the directory holding moto_server and aws
#
# A virtualenv rather than `pip install` into the system: Debian's python3 is
# "externally managed" (PEP 668) and refuses that. It needs python3 with venv
# (`apt-get install python3-venv` on Debian). The tests look here first, then
# on PATH (test/support/backup-env.ts).
set -euo pipefail

moto_version=5.2.1
awscli_version=1.45.11
dir="${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}/tools/s3-moto-$moto_version-awscli-$awscli_version"

case "${1:-}" in
  --print-bin-dir) echo "$dir/bin"; exit 0 ;;
  -h | --help) sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
  "") ;;
  *) echo "s3-tools.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

# A virtualenv cannot be moved (its scripts name their interpreter by path): a marker
# written last tells a finished install from one that was interrupted.
if [[ -f "$dir/.installed" ]]; then
  echo "moto $moto_version and awscli $awscli_version: present in $dir"
  exit 0
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  echo "s3-tools.sh: $(command -v python3 || echo python3) cannot create a virtualenv; on Debian: apt-get install -y python3-venv" >&2
  exit 1
fi
echo "installing moto $moto_version and awscli $awscli_version into $dir"
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" "awscli==$awscli_version"
"$dir/bin/aws" --version
touch "$dir/.installed"
