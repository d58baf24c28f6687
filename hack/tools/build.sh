#!/usr/bin/env bash
# Builds the tools the chart and alert tests run — helm and promtool — from Go
# modules with this machine's Go toolchain.
#
#   bash hack/tools/build.sh                        build whatever is missing
#   bash hack/tools/build.sh helm                   only one tool
#   bash hack/tools/build.sh --print-bin-dir helm   the directory holding helm
#   bash hack/tools/build.sh --print-bin-dir        every tool's directory, PATH-style (a:b)
#
# Versions come from the wrapper modules in hack/tools/go/ (see generate.sh
# there). Binaries are cached outside the repository, one directory per tool
# and version:
#   ${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}/tools/<name>-<version>/<name>
#
# Environment: KEYWARD_CACHE_DIR, KEYWARD_BUILD_JOBS (go build -p, default 2:
# the machines have 2 cores and are shared).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mods="$here/go"
tools=(helm promtool)
# shellcheck source=hack/lib/go-build.sh
source "$here/../lib/go-build.sh"

helm_version="$(required_version "$mods/helm/go.mod" helm.sh/helm/v3)"
prometheus_module_version="$(required_version "$mods/promtool/go.mod" github.com/prometheus/prometheus)"
if [[ -z "$helm_version" || -z "$prometheus_module_version" ]]; then
  echo "build.sh: could not read versions from $mods/*/go.mod" >&2
  exit 1
fi
# Prometheus release vM.MM.P is module version v0.MMM.P (v0.316.0 is 3.16.0).
prometheus_minor="${prometheus_module_version#v0.}"
prometheus_patch="${prometheus_minor#*.}"
prometheus_minor="${prometheus_minor%%.*}"
prometheus_version="v$((10#$prometheus_minor / 100)).$((10#$prometheus_minor % 100)).$prometheus_patch"

version_of() { # <tool>
  case "$1" in
    helm) echo "$helm_version" ;;
    promtool) echo "$prometheus_version" ;;
  esac
}

cache_root="${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}"
tool_dir() { echo "$cache_root/tools/$1-$(version_of "$1")"; }

usage() { sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
known() { [[ " ${tools[*]} " == *" $1 "* ]]; }

if [[ "${1:-}" == "--print-bin-dir" ]]; then
  if [[ $# -eq 1 ]]; then
    dirs=()
    for t in "${tools[@]}"; do dirs+=("$(tool_dir "$t")"); done
    (IFS=:; echo "${dirs[*]}")
    exit 0
  fi
  if [[ $# -eq 2 ]] && known "$2"; then tool_dir "$2"; exit 0; fi
  usage >&2
  exit 2
fi
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then usage; exit 0; fi
wanted=("$@")
if [[ $# -eq 0 ]]; then wanted=("${tools[@]}"); fi
for t in "${wanted[@]}"; do
  if ! known "$t"; then echo "build.sh: unknown tool $t (known: ${tools[*]})" >&2; exit 2; fi
done

present() { [[ -x "$(tool_dir "$1")/$1" ]]; }

missing=()
for t in "${wanted[@]}"; do present "$t" || missing+=("$t"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  for t in "${wanted[@]}"; do echo "$t $(version_of "$t"): present in $(tool_dir "$t")"; done
  exit 0
fi

go_build_init
mkdir -p "$cache_root/tools"

if ! go_build_lock "$cache_root/tools/.build.lock"; then
  missing=()
  for t in "${wanted[@]}"; do present "$t" || missing+=("$t"); done
  if [[ ${#missing[@]} -eq 0 ]]; then echo "tools built by the other process"; exit 0; fi
fi

started_all=$SECONDS
echo "building ${missing[*]} ($(go env GOVERSION), -p $jobs; cold: helm about 4 minutes, promtool about 13 on a busy 2-core machine)"

build() { # <name> <package> <ldflags>
  local name="$1" started=$SECONDS dir
  dir="$(tool_dir "$name")"
  mkdir -p "$dir"
  echo "[$name] go build $2 ($(version_of "$name")) into $dir"
  go_build "$name" "$mods/$name" "$2" "$3" "$dir"
  local reported
  case "$name" in
    helm) reported="$("$dir/$name" version --short 2>&1 | head -n1 || true)" ;;
    *) reported="$("$dir/$name" --version 2>&1 | head -n1 || true)" ;;
  esac
  echo "[$name] done in $((SECONDS - started))s ($reported)"
}

# Helm's Makefile stamps its version and the Kubernetes version it was built
# against (the client-go minor, +1 major), which `helm template` and `helm lint`
# assume when no cluster is asked.
helm_ldflags() {
  local client_go minor
  client_go="$(required_version "$mods/helm/go.mod" k8s.io/client-go)"
  minor="${client_go#v0.}"
  minor="${minor%%.*}"
  local flags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  echo "$flags"
}

promtool_ldflags() {
  local v=github.com/prometheus/common/version
  echo "-s -w -X $v.Version=${prometheus_version#v} -X $v.Branch=HEAD -X $v.BuildUser=keyward"
}

for t in "${missing[@]}"; do
  case "$t" in
    helm) build helm helm.sh/helm/v3/cmd/helm "$(helm_ldflags)" ;;
    promtool) build promtool github.com/prometheus/prometheus/cmd/promtool "$(promtool_ldflags)" ;;
  esac
done
echo "built ${missing[*]} in $((SECONDS - started_all))s"
