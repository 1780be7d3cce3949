#!/usr/bin/env bash
# Ingestion benchmark: events/s accepted end to end to the durable queue (wrk against the
# release binary, 50 events per batch request), side by side in the same run with the raw
# RabbitMQ publish-with-confirms rate to the same exchange and queue (the ceiling).
# Needs the backing services (devenv/up.sh) and wrk. Loopback only; bounded in time.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
[[ -n "${MACHINA_AMQP_URL:-}" ]] || { set -a; . .machina/backing.env; set +a; }
DURATION="${DURATION:-15s}"; CONNECTIONS="${CONNECTIONS:-32}"; PORT="${PORT:-18990}"
suffix="bench$$"
export EVENTS_EXCHANGE="bench.events.$suffix" STORE_QUEUE="bench.store.$suffix"
mgmt() { curl -fsS -u "$MACHINA_RABBITMQ_USERNAME:$MACHINA_RABBITMQ_PASSWORD" "$@"; }
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
  mgmt -XDELETE "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/queues/%2F/$STORE_QUEUE" >/dev/null 2>&1 || true
  mgmt -XDELETE "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/exchanges/%2F/$EVENTS_EXCHANGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cargo build --release -q -p machina-analytics --bin machina-analytics --example publish_rate
target="${CARGO_TARGET_DIR:-target}/release"
# The store consumer is off: this measures acceptance into the durable queue.
MONGODB_URI="$MACHINA_MONGODB_URI" AMQP_URL="$MACHINA_AMQP_URL" MONGODB_DATABASE="bench_analytics" \
  STORE_CONSUMER=false LISTEN_ADDR="127.0.0.1:$PORT" LOG_LEVEL=warn "$target/machina-analytics" serve &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
# Warm up (declares the queue), then measure.
wrk -t2 -c4 -d2s -s services/analytics/bench/batch.lua "http://127.0.0.1:$PORT" >/dev/null
echo "== API: POST /v1/events/batch, 50 events/request, $CONNECTIONS connections, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s services/analytics/bench/batch.lua "http://127.0.0.1:$PORT" | tee /tmp/analytics-wrk.txt
rps=$(awk '/Requests\/sec/ {print $2}' /tmp/analytics-wrk.txt)
echo "events/s accepted: $(awk -v r="$rps" 'BEGIN {printf "%.0f", r * 50}')"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "== Peer: raw publish with confirms to the same exchange"
AMQP_URL="$MACHINA_AMQP_URL" COUNT="${COUNT:-200000}" "$target/examples/publish_rate"
