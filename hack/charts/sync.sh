#!/usr/bin/env bash
# Copies the files the keyward-operator chart needs from their one source into
# the chart: Helm reads only files inside a chart directory and does not follow
# symlinks that leave it. test/charts/chart.test.ts fails when a copy drifts.
# Arguments and exit status: usage() below, or --help.
set -euo pipefail

# Source, then copy, relative to the repository root.
chart=charts/keyward-operator
pairs=(
  "crds/authservice.yaml $chart/crds/authservice.yaml"
  "operator/rbac/clusterrole.yaml $chart/files/clusterrole.yaml"
)

usage() {
  cat <<'USAGE'
Usage: bash hack/charts/sync.sh [--check | -h | --help]

Copies the files the keyward-operator chart needs from their one source into
the chart (Helm reads only files inside a chart directory), each with a header
naming its source:
USAGE
  local pair source copy
  for pair in "${pairs[@]}"; do
    read -r source copy <<< "$pair"
    printf '  %-30s -> %s\n' "$source" "$copy"
  done
  cat <<'USAGE'

Arguments:
  (none)       write the copies
  --check      write nothing; report every copy that differs from its source
  -h, --help   print this text and exit

Environment: none. It works from the repository it is in, wherever it is run from.

Exit status:
  0    copies written, or (--check) every copy matches its source
  1    (--check) a copy differs from its source: run the script without --check
  2    unknown option or more than one argument
USAGE
}

check=""
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --check) check=1 ;;
  "") ;;
  *) echo "sync.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
if (($# > 1)); then echo "sync.sh: one argument at most, got $# (see --help)" >&2; exit 2; fi
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# The copy: a header naming the source, then the source byte for byte.
render() { # <source>
  printf '# Generated from %s by hack/charts/sync.sh: edit the source, then run the script.\n' "$1"
  cat "$1"
}

status=0
for pair in "${pairs[@]}"; do
  read -r source copy <<< "$pair"
  if [[ -n "$check" ]]; then
    if ! cmp -s <(render "$source") "$copy"; then
      echo "$copy differs from $source: run bash hack/charts/sync.sh" >&2
      status=1
    fi
  else
    mkdir -p "$(dirname "$copy")"
    render "$source" > "$copy"
    echo "$source -> $copy"
  fi
done
exit $status
