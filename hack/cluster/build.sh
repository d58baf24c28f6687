#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok) and a kubectl of the same version from Go modules with
# this machine's Go toolchain.
#
#   bash hack/cluster/build.sh              build whatever is missing
#   bash hack/cluster/build.sh --print-bin-dir
#
# Versions come from the wrapper modules in hack/cluster/go/ (see generate.sh
# there). Binaries are cached outside the repository, keyed by those versions:
#   ${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}/control-plane/<k8s>-etcd<v>-kwok<v>/bin/
# If KUBEBUILDER_ASSETS names a directory holding etcd and kube-apiserver, those
# two are used as they are and only the other four are built.
#
# Environment: KEYWARD_CACHE_DIR, KUBEBUILDER_ASSETS, KEYWARD_BUILD_JOBS (go
# build -p, default 2: the machines have 2 cores and are shared).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mods="$here/go"
# shellcheck source=hack/lib/go-build.sh
source "$here/../lib/go-build.sh"

k8s_version="$(required_version "$mods/k8s/go.mod" k8s.io/kubernetes)"
etcd_version="$(required_version "$mods/etcd/go.mod" go.etcd.io/etcd/server/v3)"
kwok_version="$(required_version "$mods/kwok/go.mod" sigs.k8s.io/kwok)"
if [[ -z "$k8s_version" || -z "$etcd_version" || -z "$kwok_version" ]]; then
  echo "build.sh: could not read versions from $mods/*/go.mod" >&2
  exit 1
fi

cache_root="${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}"
key="${k8s_version}-etcd${etcd_version#v}-kwok${kwok_version#v}"
bin_dir="$cache_root/control-plane/$key/bin"

if [[ "${1:-}" == "--print-bin-dir" ]]; then
  echo "$bin_dir"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  [[ "$1" == "-h" || "$1" == "--help" ]] && exit 0
  exit 2
fi

# A component counts as present when it is an executable in the cache, or (for
# etcd and kube-apiserver only) in KUBEBUILDER_ASSETS.
present() { # <name>
  if [[ -x "$bin_dir/$1" ]]; then return 0; fi
  case "$1" in
    etcd | kube-apiserver) [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/$1" ]] ;;
    *) return 1 ;;
  esac
}

# kubectl too: the one on the image is older than this API server by more than the one minor
# version kubectl's skew policy allows, and the tests and the demo drive the cluster with it.
components=(etcd kwok kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=()
for c in "${components[@]}"; do present "$c" || missing+=("$c"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "control plane $key: all binaries present in $bin_dir${KUBEBUILDER_ASSETS:+ (etcd/kube-apiserver may come from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS)}"
  exit 0
fi

go_build_init
mkdir -p "$bin_dir"

if ! go_build_lock "$cache_root/control-plane/.build.lock"; then
  missing=()
  for c in "${components[@]}"; do present "$c" || missing+=("$c"); done
  if [[ ${#missing[@]} -eq 0 ]]; then echo "control plane $key: built by the other process"; exit 0; fi
fi

started_all=$SECONDS
echo "building control plane $key into $bin_dir"
echo "missing: ${missing[*]} ($(go env GOVERSION), -p $jobs; a cold build takes about 7 minutes on 2 cores)"

build() { # <name> <module dir> <package> <ldflags>
  local name="$1" started=$SECONDS
  echo "[$name] go build $3"
  go_build "$name" "$2" "$3" "$4" "$bin_dir"
  # kubectl has no --version flag: `kubectl version --client`.
  echo "[$name] done in $((SECONDS - started))s ($({ "$bin_dir/$name" --version || "$bin_dir/$name" version --client; } 2> /dev/null | head -n1 || true))"
}

k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

for c in "${missing[@]}"; do
  case "$c" in
    etcd) build etcd "$mods/etcd" . "-s -w" ;;
    kwok) build kwok "$mods/kwok" sigs.k8s.io/kwok/cmd/kwok "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" ;;
    kube-* | kubectl) build "$c" "$mods/k8s" "k8s.io/kubernetes/cmd/$c" "$k8s_ldflags" ;;
  esac
done
echo "control plane $key built in $((SECONDS - started_all))s: $bin_dir"
