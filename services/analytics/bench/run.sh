#!/usr/bin/env bash
# Ingestion benchmark: events/s accepted end to end into the durable queue (wrk against the
# release binary, BATCH events per batch request), side by side in the same run with the raw
# RabbitMQ publish-with-confirms rate to the same exchange and queue (the broker's ceiling),
# repeated REPEAT times so the run-to-run spread shows. Each phase starts with an empty queue.
#
# Phases per repetition:
#   api        saturation, one message per event (the default)
#   api-pack   saturation, PUBLISH_PACK=true (one message per event type of a request)
#   before     saturation, BEFORE_BIN (optional: another build of machina-analytics)
#   moderate / before-moderate   MODERATE_CONNECTIONS connections, DELAY_MS between requests
#   peer-pipelined / peer-sequential   examples/publish_rate (PIPELINED=1 / 0)
# Needs the backing services (devenv/up.sh) and wrk. Loopback only; bounded in time.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
[[ -n "${MACHINA_AMQP_URL:-}" ]] || { set -a; . .machina/backing.env; set +a; }
DURATION="${DURATION:-15s}"; CONNECTIONS="${CONNECTIONS:-32}"; PORT="${PORT:-18990}"
REPEAT="${REPEAT:-3}"; COUNT="${COUNT:-100000}"; BATCH="${BATCH:-50}"
MODERATE_CONNECTIONS="${MODERATE_CONNECTIONS:-4}"; DELAY_MS="${DELAY_MS:-100}"
BEFORE_BIN="${BEFORE_BIN:-}"
export BATCH
suffix="bench$$"
export EVENTS_EXCHANGE="bench.events.$suffix" STORE_QUEUE="bench.store.$suffix"
mgmt() { curl -fsS -u "$MACHINA_RABBITMQ_USERNAME:$MACHINA_RABBITMQ_PASSWORD" "$@"; }
purge() { mgmt -XDELETE "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/queues/%2F/$STORE_QUEUE/contents" >/dev/null 2>&1 || true; }
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
  mgmt -XDELETE "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/queues/%2F/$STORE_QUEUE" >/dev/null 2>&1 || true
  mgmt -XDELETE "$MACHINA_RABBITMQ_MANAGEMENT_URL/api/exchanges/%2F/$EVENTS_EXCHANGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cargo build --release -q -p machina-analytics --bin machina-analytics --example publish_rate
target="${CARGO_TARGET_DIR:-target}/release"
results="$(mktemp)"

start() { # binary, extra env...: serve without the store consumer (acceptance into the queue)
  local bin="$1"; shift
  env "$@" MONGODB_URI="$MACHINA_MONGODB_URI" AMQP_URL="$MACHINA_AMQP_URL" MONGODB_DATABASE="bench_analytics" \
    STORE_CONSUMER=false LISTEN_ADDR="127.0.0.1:$PORT" LOG_LEVEL=warn "$bin" serve &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  wrk -t2 -c4 -d2s -s services/analytics/bench/batch.lua "http://127.0.0.1:$PORT" >/dev/null
  purge
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

measure() { # label, connections, [delay ms]: one wrk run, one result line
  local label="$1" connections="$2" out
  out="$(DELAY_MS="${3:-}" wrk -t2 -c"$connections" -d"$DURATION" --latency -s services/analytics/bench/batch.lua \
    "http://127.0.0.1:$PORT")"
  echo "$out" | sed "s/^/[$label] /"
  local non2xx; non2xx="$(echo "$out" | awk '/Non-2xx/ {print $5}')"
  echo "$out" | awk -v label="$label" -v batch="$BATCH" -v bad="${non2xx:-0}" '
    /Requests\/sec/ {rps = $2}
    /^ +50%/ {p50 = $2} /^ +90%/ {p90 = $2} /^ +99%/ {p99 = $2}
    /Socket errors/ {for (i = 1; i <= NF; i++) if ($i == "timeout") {t = $(i + 1)}}
    END {printf "%-16s %10.0f events/s  p50 %-9s p90 %-9s p99 %-9s timeouts %s non-2xx %s\n",
         label, rps * batch, p50, p90, p99, t + 0, bad}' | tee -a "$results"
  purge
}

peer() { # pipelined 1|0
  local label out; label="peer-$([[ $1 == 1 ]] && echo pipelined || echo sequential)"
  out="$(AMQP_URL="$MACHINA_AMQP_URL" COUNT="$COUNT" PIPELINED="$1" "$target/examples/publish_rate")"
  echo "$out"
  echo "$out" | awk -v label="$label" '{printf "%-16s %10s msg/s\n", label, $(NF - 1)}' | tee -a "$results"
  purge
}

for rep in $(seq "$REPEAT"); do
  echo "== repetition $rep of $REPEAT ($BATCH events/request, $DURATION per phase)"
  start "$target/machina-analytics"
  measure "api" "$CONNECTIONS"
  measure "moderate" "$MODERATE_CONNECTIONS" "$DELAY_MS"
  stop
  start "$target/machina-analytics" PUBLISH_PACK=true
  measure "api-pack" "$CONNECTIONS"
  measure "moderate-pack" "$MODERATE_CONNECTIONS" "$DELAY_MS"
  stop
  if [[ -n "$BEFORE_BIN" ]]; then
    start "$BEFORE_BIN"
    measure "before" "$CONNECTIONS"
    measure "before-moderate" "$MODERATE_CONNECTIONS" "$DELAY_MS"
    stop
  fi
  peer 1
  peer 0
done
echo "== summary (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
sort -s -k1,1 "$results"
