#!/usr/bin/env bash
# Copies the files the keyward-operator chart needs from their one source into
# the chart: Helm reads only files inside a chart directory and does not follow
# symlinks that leave it.
#
#   bash hack/charts/sync.sh           write the copies
#   bash hack/charts/sync.sh --check   exit 1 if a copy differs from its source
#
#   crds/authservice.yaml           -> charts/keyward-operator/crds/authservice.yaml
#   operator/rbac/clusterrole.yaml  -> charts/keyward-operator/files/clusterrole.yaml
#
# test/charts/chart.test.ts fails when a copy drifts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

chart=charts/keyward-operator
pairs=(
  "crds/authservice.yaml $chart/crds/authservice.yaml"
  "operator/rbac/clusterrole.yaml $chart/files/clusterrole.yaml"
)

# The copy: a header naming the source, then the source byte for byte.
render() { # <source>
  printf '# Generated from %s by hack/charts/sync.sh: edit the source, then run the script.\n' "$1"
  cat "$1"
}

status=0
for pair in "${pairs[@]}"; do
  read -r source copy <<< "$pair"
  if [[ "${1:-}" == "--check" ]]; then
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
