#!/usr/bin/env bash
# Property-based API tests with schemathesis: it reads GET /openapi.json, generates
# requests for every operation (valid and invalid bodies, with and without a token) and
# checks every answer against the document: no 5xx, a documented status, content type,
# body and headers; invalid input refused; authentication enforced.
#
# Starts the real service on the embedded PostgreSQL in a throwaway directory, on a
# free loopback port, and stops it afterwards. schemathesis (PyPI) is installed once
# into a virtualenv in the build cache, by version.
#
#   bash hack/schemathesis.sh                 # up to 100 cases per operation and phase
#   SCHEMATHESIS_MAX_EXAMPLES=200 SCHEMATHESIS_SEED=7 bash hack/schemathesis.sh
#
# Environment:
#   SCHEMATHESIS_SEED           the generator's seed, default a random one. The seed is
#                               printed at the start and in the summary; the same seed
#                               (with the same version, examples and API) generates the
#                               same cases, so CI pins it (.ci/run) and a failure seen
#                               elsewhere can be replayed with the seed it printed.
#   SCHEMATHESIS_MAX_EXAMPLES   cases per operation and phase, default 100
#   KEYWARD_CACHE_DIR           the build cache shared with hack/cluster/build.sh and
#                               hack/tools/build.sh, default ~/.cache/keyward; the
#                               virtualenv is <cache>/schemathesis-<version>
# Exit status: 0 when every check passed and the service logged no error; 1 otherwise;
# 2 when SCHEMATHESIS_SEED or SCHEMATHESIS_MAX_EXAMPLES is not a whole number.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

version=4.32.5
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-100}
seed=${SCHEMATHESIS_SEED:-$RANDOM}
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "SCHEMATHESIS_SEED must be a whole number, not '$seed'" >&2; exit 2; }
[[ "$max_examples" =~ ^[1-9][0-9]*$ ]] || { echo "SCHEMATHESIS_MAX_EXAMPLES must be a whole number of 1 or more, not '$max_examples'" >&2; exit 2; }
venv="${KEYWARD_CACHE_DIR:-$HOME/.cache/keyward}/schemathesis-$version"
echo "schemathesis $version, seed $seed (set SCHEMATHESIS_SEED=$seed to generate the same cases again)"

# A virtualenv cannot be moved (its scripts name their interpreter by path): a marker
# written last tells a finished install from one that was interrupted.
if [ ! -f "$venv/.installed" ]; then
  echo "installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  touch "$venv/.installed"
fi

work=$(mktemp -d -t keyward-schemathesis-XXXXXX)
# As root, the embedded PostgreSQL runs as its own user, which must be able to pass through here.
chmod 711 "$work"
port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
url="http://127.0.0.1:$port"
service_pid=

stop_service() {
  if [ -n "$service_pid" ] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid"   # the service's own shutdown sequence stops the embedded PostgreSQL
    wait "$service_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_service EXIT

# Rate limits off: schemathesis sends everything from one address, and 429s would stop it
# reaching the handlers (the limits have their own tests). bcrypt at the cheapest cost.
env PORT="$port" HOST=127.0.0.1 KEYWARD_DATA_DIR="$work/data" LOG_LEVEL=warn BCRYPT_COST=4 \
  RATE_LIMIT_LOGIN_PER_MINUTE=0 RATE_LIMIT_REGISTER_PER_MINUTE=0 RATE_LIMIT_REFRESH_PER_MINUTE=0 \
  RATE_LIMIT_RECOVERY_PER_MINUTE=0 RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR=0 \
  node --import tsx service/cli.ts serve >"$work/service.log" 2>&1 &
service_pid=$!

# The service's log, for a start that went wrong: LOG_LEVEL=warn keeps it short.
service_log_tail() {
  echo "--- last 50 lines of the service log ($work/service.log) ---" >&2
  if [ -s "$work/service.log" ]; then tail -n 50 "$work/service.log" >&2; else echo "(empty)" >&2; fi
  echo "---" >&2
}

# Up to 60 s: the first start initialises the embedded PostgreSQL and runs the migrations.
ready=
for _ in $(seq 1 120); do
  if curl -fs --max-time 2 "$url/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  if ! kill -0 "$service_pid" 2>/dev/null; then service_log_tail; echo "the service exited before it was ready" >&2; exit 1; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  service_log_tail
  code=$(curl -s --max-time 2 -o "$work/ready.out" -w '%{http_code}' "$url/health/ready" || true)
  if [ "${code:-000}" = 000 ]; then
    answer="no answer: it is not listening on $url, or too slow to answer"
  else
    answer="HTTP $code $(head -c 500 "$work/ready.out")"
  fi
  echo "the service is running but did not become ready within 60 s: GET $url/health/ready gave $answer" >&2
  exit 1
fi

# A real account, so the operations behind a Bearer token reach their handlers.
access_token() {
  curl -fs "$url/api/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"schemathesis.$1.$$@example.com\",\"password\":\"correct horse battery staple\",\"first_name\":\"Property\",\"last_name\":\"Tester\"}" |
    node -e "let s='';process.stdin.on('data',(d)=>s+=d).on('end',()=>console.log(JSON.parse(s).access_token))"
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth
run() {
  local name=$1
  shift
  # Run from the scratch directory: hypothesis keeps its example database in the working directory.
  (cd "$work" && "$venv/bin/st" --config-file "$root/hack/schemathesis.toml" run "$url/openapi.json" \
    --checks "$checks" --max-examples "$max_examples" --seed "$seed" --generation-database none --no-color "$@") | tee "$work/$name.out"
}

status=0
# Logging out would revoke the token the other operations use: those two get a run and a token of their own.
run main -H "Authorization: Bearer $(access_token main)" --exclude-path-regex '^/api/auth/logout' || status=$?
run logout -H "Authorization: Bearer $(access_token logout)" --include-path-regex '^/api/auth/logout' || status=$?

generated=$(cat "$work"/main.out "$work"/logout.out | sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' | awk '{n += $1} END {print n + 0}')
echo
echo "schemathesis $version: $generated test cases generated (max $max_examples per operation and phase, seed $seed), exit status $status"
if grep -q '"level":"error"' "$work/service.log"; then
  echo "the service logged errors during the run:" >&2
  grep '"level":"error"' "$work/service.log" | head -20 >&2
  status=1
fi
exit "$status"
