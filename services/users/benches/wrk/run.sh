#!/usr/bin/env bash
# Profile read load run: release binaries of auth and users pinned to one core
# (taskset -c 0), wrk on the other, against real MongoDB (SecantusDB), Redis and RabbitMQ.
#
#   services/users/benches/wrk/run.sh [duration, default 10s]
#
# Runs, in one go: the user service's GET /healthz (HTTP stack, no I/O: the ceiling),
# the in-run peer auth GET /v1/users/me (the same work: verify the bearer JWT against
# the JWKS, read one user document by id from MongoDB), then the user service's
# GET /v1/users/{id} and GET /v1/users/me with the owner's token.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
duration="${1:-10s}"
if [ -f "$root/.machina/backing.env" ]; then set -a; . "$root/.machina/backing.env"; set +a; fi
: "${MACHINA_MONGODB_URI:?start the backing services with devenv/up.sh (or export MACHINA_* settings)}"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p machina-auth -p machina-users
auth_db="bench_users_auth_$$"
users_db="bench_users_$$"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
json() { python3 -c "import json,sys;print(json.load(sys.stdin)[\"$1\"])"; }
ready() { for _ in $(seq 150); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.2; done; echo "service on :$1 did not become ready" >&2; exit 1; }

A=http://127.0.0.1:18490
U=http://127.0.0.1:18491
LISTEN_ADDR=127.0.0.1:18490 MONGODB_URI="$MACHINA_MONGODB_URI" MONGODB_DATABASE="$auth_db" \
  REDIS_URL="$MACHINA_REDIS_URL" REDIS_KEY_PREFIX="bench:users:$$:" ISSUER=http://bench \
  ADMIN_CLIENT_ID=root ADMIN_CLIENT_SECRET=bench-root-secret LOG_LEVEL=warn \
  taskset -c 0 "$target/release/machina-auth" &
pids+=($!)
ready 18490
LISTEN_ADDR=127.0.0.1:18491 MONGODB_URI="$MACHINA_MONGODB_URI" MONGODB_DATABASE="$users_db" \
  AMQP_URL="$MACHINA_AMQP_URL" CHANGES_EXCHANGE="bench.users.$$" AUTH_URL="$A" \
  JWT_JWKS_URL="$A/.well-known/jwks.json" JWT_ISSUER=http://bench LOG_LEVEL=warn \
  taskset -c 0 "$target/release/machina-users" &
pids+=($!)
ready 18491

admin=$(curl -sf -u root:bench-root-secret -d grant_type=client_credentials $A/oauth2/token | json access_token)
client=$(curl -sf -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"name":"bench","firstParty":true,"grantTypes":["password"],"scopes":["read"]}' $A/v1/admin/clients)
cid=$(echo "$client" | json clientId); csecret=$(echo "$client" | json clientSecret)
id=$(curl -sf -H 'content-type: application/json' $U/v1/users/register \
  -d '{"email":"bench@example.com","username":"bench","password":"bench password 1","traits":{"plan":"pro"}}' | json id)
token=$(curl -sf -u "$cid:$csecret" -d grant_type=password -d username=bench@example.com \
  -d 'password=bench password 1' $A/oauth2/token | json access_token)
curl -sf -o /dev/null -H "authorization: Bearer $token" "$U/v1/users/$id"   # warm the JWKS cache

run() { echo "== $1"; taskset -c 1 wrk -t1 -c32 -d"$duration" --latency -H "authorization: Bearer $token" "$2" | grep -E 'Requests/sec|Non-2xx|50%|99%|Socket'; }
run "ceiling: users GET /healthz (no I/O)" "$U/healthz"
run "peer: auth GET /v1/users/me (JWT + one MongoDB read)" "$A/v1/users/me"
run "users GET /v1/users/{id} (JWT + one MongoDB read)" "$U/v1/users/$id"
run "users GET /v1/users/me" "$U/v1/users/me"
curl -sf -u "$MACHINA_RABBITMQ_USERNAME:$MACHINA_RABBITMQ_PASSWORD" -X DELETE \
  "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/exchanges/%2F/bench.users.$$" || true
python3 - "$MACHINA_MONGODB_URI" "$auth_db" "$users_db" <<'PY' 2>/dev/null || true
import sys
try:
    import pymongo
    c = pymongo.MongoClient(sys.argv[1])
    for db in sys.argv[2:]:
        c.drop_database(db)
except Exception:
    pass
PY
