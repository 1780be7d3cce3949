#!/usr/bin/env bash
# Token issuance load run: the release binary pinned to one core (taskset -c 0),
# wrk on the other, against real MongoDB and Redis from devenv.
#
#   services/auth/benches/wrk/run.sh [duration, default 10s]
#
# Runs, in one go: GET /.well-known/jwks.json (the HTTP stack without crypto or
# I/O, the in-run peer), then POST /oauth2/token (client_credentials) with the
# verified-secret cache off (argon2id on every request), on with the client
# document read from MongoDB each time, and both caches on (the defaults).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
duration="${1:-10s}"
if [ -f "$root/.machina/backing.env" ]; then set -a; . "$root/.machina/backing.env"; set +a; fi
: "${MACHINA_MONGODB_URI:?start the backing services with devenv/up.sh (or export MACHINA_* settings)}"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p machina-auth
bin="$target/release/machina-auth"
db="bench_auth_$$"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # port secret_cache_ttl client_cache_ttl
  LISTEN_ADDR="127.0.0.1:$1" MONGODB_URI="$MACHINA_MONGODB_URI" MONGODB_DATABASE="$db" \
  REDIS_URL="$MACHINA_REDIS_URL" REDIS_KEY_PREFIX="bench:$$:" ISSUER="http://bench" \
  ADMIN_CLIENT_ID=root ADMIN_CLIENT_SECRET=bench-root-secret LOG_LEVEL=warn \
  CLIENT_SECRET_CACHE_TTL="$2" CLIENT_CACHE_TTL="$3" taskset -c 0 "$bin" &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.2; done
  echo "auth on :$1 did not become ready" >&2; exit 1
}

start 18480 0s 5s
start 18481 60s 5s
start 18482 60s 0s
admin=$(curl -sf -u root:bench-root-secret -d grant_type=client_credentials http://127.0.0.1:18480/oauth2/token | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
client=$(curl -sf -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"name":"bench","grantTypes":["client_credentials"],"scopes":["read"],"roles":["admin"]}' \
  http://127.0.0.1:18480/v1/admin/clients)
id=$(echo "$client" | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientId"])')
secret=$(echo "$client" | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientSecret"])')
export BASIC=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
# Warm the caches with one request each: a cold secret cache under 32 concurrent
# connections runs 32 argon2 checks at once (single-core: seconds).
for port in 18480 18481 18482; do
  curl -sf -o /dev/null -H "authorization: Basic $BASIC" -d grant_type=client_credentials "http://127.0.0.1:$port/oauth2/token"
done

run() { echo "== $1"; taskset -c 1 wrk -t1 -c"$2" -d"$duration" --latency "${@:3}" | grep -E 'Requests/sec|Non-2xx|50%|99%|Socket'; }
run "peer: GET /.well-known/jwks.json" 32 http://127.0.0.1:18480/.well-known/jwks.json
run "POST /oauth2/token client_credentials, secret cache OFF (argon2id each request)" 8 -s "$here/client_credentials.lua" http://127.0.0.1:18480/oauth2/token
run "POST /oauth2/token client_credentials, secret cache ON, client cache OFF (MongoDB read each request)" 32 -s "$here/client_credentials.lua" http://127.0.0.1:18482/oauth2/token
run "POST /oauth2/token client_credentials, secret cache ON (60s), client cache ON (5s)" 32 -s "$here/client_credentials.lua" http://127.0.0.1:18481/oauth2/token
python3 - "$MACHINA_MONGODB_URI" "$db" <<'PY' 2>/dev/null || true
import sys
try:
    import pymongo
    pymongo.MongoClient(sys.argv[1]).drop_database(sys.argv[2])
except Exception:
    pass
PY
