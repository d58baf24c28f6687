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

# The version of a required module, read from a wrapper's go.mod.
required_version() { # <go.mod> <module path>
  sed -n "s#^[[:space:]]*\(require \)\{0,1\}$2 \(v[^ ]*\).*#\2#p" "$1" | head -n1
}

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

command -v go > /dev/null || { echo "build.sh: go is not on PATH" >&2; exit 1; }
mkdir -p "$cache_root/tools"

# One build at a time per cache: two test runs may both ask for the tools.
exec 9> "$cache_root/tools/.build.lock"
if ! flock -n 9; then
  echo "another build holds $cache_root/tools/.build.lock; waiting for it..."
  flock 9
  missing=()
  for t in "${wanted[@]}"; do present "$t" || missing+=("$t"); done
  if [[ ${#missing[@]} -eq 0 ]]; then echo "tools built by the other process"; exit 0; fi
fi

# Never fetch a toolchain; -mod=readonly: go.sum is committed and must suffice.
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
jobs="${KEYWARD_BUILD_JOBS:-2}"
started_all=$SECONDS
echo "building ${missing[*]} ($(go env GOVERSION), -p $jobs; cold: helm about 4 minutes, promtool about 13 on a busy 2-core machine)"

# Runs `go build` for one tool in its wrapper module and prints a line every
# 30 s so a long build is visibly alive. The binary lands in a temporary name
# and is renamed into place, so a half-written file never counts as built.
build() { # <name> <package> <ldflags>
  local name="$1" pkg="$2" ldflags="$3" started=$SECONDS dir tmp
  dir="$(tool_dir "$name")"
  mkdir -p "$dir"
  tmp="$dir/.$name.tmp.$$"
  echo "[$name] go build $pkg ($(version_of "$name")) into $dir"
  (cd "$mods/$name" && go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg") &
  local pid=$! next=$((SECONDS + 30))
  while kill -0 "$pid" 2> /dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      echo "[$name] still building... $((SECONDS - started))s"
      next=$((SECONDS + 30))
    fi
  done
  if ! wait "$pid"; then
    rm -f "$tmp"
    echo "[$name] FAILED after $((SECONDS - started))s" >&2
    exit 1
  fi
  mv -f "$tmp" "$dir/$name"
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
