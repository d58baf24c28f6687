# Shell functions shared by hack/cluster/build.sh and hack/tools/build.sh, which
# both compile pinned Go wrapper modules into a cache outside the repository.
# Sourced, not run: `source "$here/../lib/go-build.sh"` after `set -euo pipefail`.

# The version of a required module, read from a wrapper's go.mod.
required_version() { # <go.mod> <module path>
  sed -n "s#^[[:space:]]*\(require \)\{0,1\}$2 \(v[^ ]*\).*#\2#p" "$1" | head -n1
}

# The oldest Go the pinned modules build with: the highest `go` line of their go.mod files.
go_minimum=$(sed -n 's/^go \([0-9][0-9.]*\)$/\1/p' "$(dirname "${BASH_SOURCE[0]}")"/../*/go/*/go.mod | sort -V | tail -n1)

# Checks that go is on PATH and new enough, and sets up the build environment; sets `jobs`
# (go build -p) from KEYWARD_BUILD_JOBS, default 2: the machines have 2 cores
# and are shared.
go_build_init() {
  command -v go > /dev/null || { echo "build.sh: go is not on PATH; Go ${go_minimum} or later builds these tools" >&2; exit 1; }
  # GOTOOLCHAIN=local below: an older go would not fetch a newer one, and fails deep in a module.
  local have
  have=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$go_minimum" "$have" | sort -V | head -n1)" != "$go_minimum" ]; then
    echo "build.sh: go ${have} is on PATH; these tools need Go ${go_minimum} or later (the go.mod files under hack/)" >&2
    exit 1
  fi
  # Never fetch a toolchain; -mod=readonly: go.sum is committed and must suffice.
  export GOTOOLCHAIN=local CGO_ENABLED=0
  export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"
  jobs="${KEYWARD_BUILD_JOBS:-2}"
}

# Takes the cache's build lock on fd 9, one build at a time per cache: the CLI
# and test runs may all ask for it. Returns 1 when it had to wait for another
# build, so the caller looks again at what is still missing.
go_build_lock() { # <lock file>
  # `|| exit 1`: set -e does not reach inside the caller's `if !`.
  exec 9> "$1" || exit 1
  if flock -n 9; then return 0; fi
  echo "another build holds $1; waiting for it..."
  flock 9 || exit 1
  return 1
}

# Runs `go build` for one binary in its wrapper module and prints a line every
# 30 s so a long build is visibly alive. The binary lands in a temporary name
# and is renamed into place, so a half-written file never counts as built.
go_build() { # <name> <module dir> <package> <ldflags> <out dir>
  local name="$1" dir="$2" pkg="$3" ldflags="$4" out="$5" started=$SECONDS
  local tmp="$out/.$name.tmp.$$"
  (cd "$dir" && go build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg") &
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
  mv -f "$tmp" "$out/$name"
}
