#!/usr/bin/env bash
# Content read and write throughput through the service, side by side in the same
# run with a peer: a bare axum handler (examples/peer.rs) doing the same read and
# write on the same MongoDB collection, without auth, validation, versions or locales.
#
#   services/content/benches/load.sh [connections] [seconds]
#
# Needs devenv/up.sh (MongoDB, RabbitMQ) and wrk. Builds both binaries in release.
# The database is dropped at the end (with the devenv venv's pymongo).
set -euo pipefail
conns=${1:-16} secs=${2:-15}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# Settings from devenv/up.sh; MACHINA_BACKING_ENV points elsewhere (e.g. from a clone).
backing=${MACHINA_BACKING_ENV:-$root/.machina/backing.env}
set -a; . "$backing"; set +a
target=${CARGO_TARGET_DIR:-$root/target}
cargo build -q --release -p machina-content --bin machina-content --example peer
run=$$
db=bench_content_$run
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  "$(dirname "$backing")/venv/bin/python" -c 'import pymongo,sys; pymongo.MongoClient(sys.argv[1]).drop_database(sys.argv[2])' \
    "$MACHINA_MONGODB_URI" "$db" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# An Ed25519 key pair and a token signed with openssl (the service verifies it).
openssl genpkey -algorithm ed25519 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/pub.pem"
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64)
claims=$(printf '{"sub":"bench","exp":%d,"scope":"content:admin"}' $(( $(date +%s) + 3600 )) | b64)
printf '%s.%s' "$header" "$claims" > "$work/input"
token="$header.$claims.$(openssl pkeyutl -sign -rawin -inkey "$work/key.pem" -in "$work/input" | b64)"

MONGODB_URI=$MACHINA_MONGODB_URI MONGODB_DATABASE=$db AMQP_URL=$MACHINA_AMQP_URL \
  CHANGES_EXCHANGE=bench.changes.$run LISTEN_ADDR=127.0.0.1:18090 LOG_LEVEL=warn \
  JWT_PUBLIC_KEY="$(cat "$work/pub.pem")" JWT_ALGORITHM=EdDSA \
  "$target/release/machina-content" & pids+=($!)
MONGODB_URI=$MACHINA_MONGODB_URI MONGODB_DATABASE=$db LISTEN_ADDR=127.0.0.1:18091 \
  "$target/release/examples/peer" & pids+=($!)
svc=http://127.0.0.1:18090 peer=http://127.0.0.1:18091
for _ in $(seq 50); do curl -fs "$svc/readyz" >/dev/null && break; sleep 0.2; done
auth=(-H "Authorization: Bearer $token")

curl -fsS "${auth[@]}" -H 'content-type: application/json' "$svc/v1/content/types" -d '{"id":"article","fields":[
  {"name":"title","kind":"text","required":true,"maxLength":120,"localized":true},
  {"name":"body","kind":"richText","localized":true},{"name":"price","kind":"number","min":0}]}' >/dev/null
id=$(curl -fsS "${auth[@]}" -H 'content-type: application/json' "$svc/v1/content/entries" \
  -d '{"type":"article","slug":"read-me","fields":{"title":"Hello","body":"# Hello","price":3}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

report() { grep -E "Requests/sec|^\s+(50|99)%|Non-2xx|Socket errors" | tr -s ' ' | paste -sd' '; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  connections: $conns  seconds: $secs  $(nproc) cores"
echo "read  service GET /v1/content/entries/{id}?locale=en: $(wrk -t2 -c"$conns" -d"${secs}s" --latency "${auth[@]}" "$svc/v1/content/entries/$id?locale=en" | report)"
echo "read  peer    GET /entries/{id}:                      $(wrk -t2 -c"$conns" -d"${secs}s" --latency "$peer/entries/$id" | report)"
echo "write service POST /v1/content/entries:                $(wrk -t2 -c"$conns" -d"${secs}s" --latency "${auth[@]}" -s "$here/write.lua" "$svc" -- "$run" /v1/content/entries | report)"
echo "write peer    POST /entries:                           $(wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$here/write.lua" "$peer" -- "p$run" /entries | report)"
