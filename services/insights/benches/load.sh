#!/usr/bin/env bash
# Cached-recommendation latency, side by side with redis-benchmark on the same
# Redis in the same run (a plain GET, and the LRANGE a hot-cache miss does).
#
#   benches/load.sh <service base URL> <redis URL> <redis key prefix> [connections] [seconds] [rate] [no-hot-cache base URL]
#
# - hey, closed loop (as fast as it can): GET /v1/recommendations/users/u1?k=10
# - hey, fixed rate (`rate` requests/s in total, spread over the connections): the same
# - optionally hey closed loop against a second instance started with
#   HOT_CACHE_TTL=0, i.e. every request goes to Redis
# - wrk over random users u0..u999 (`users.lua`), for throughput. Its latency
#   percentiles are printed but not trusted: on this machine they are
#   inconsistent with its own throughput (mean latency × requests/s > 1 on a
#   single connection), so the latency figures come from hey.
# - redis-benchmark GET and LRANGE with the same number of connections
#
# The service must have a generation computed (POST /v1/insights/recompute) over
# users u0..u999 (the `seed` example's ids). See README.md.
set -euo pipefail
base=$1 redis_url=$2 prefix=$3 conns=${4:-1} secs=${5:-15} rate=${6:-1000} cold=${7:-}
here=$(cd "$(dirname "$0")" && pwd)
read -r host port password < <(python3 -c '
import sys, urllib.parse as p
u = p.urlparse(sys.argv[1]); print(u.hostname, u.port or 6379, p.unquote(u.password or "-"))' "$redis_url")
auth=(); [ "$password" != "-" ] && auth=(-a "$password")
generation=$(curl -fsS "$base/v1/insights/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
wrk_run() {
  wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/users.lua" "$1" |
    grep -E "^\s+Latency\s|^\s+(50|90|99)%|Requests/sec|Non-2xx|Socket errors"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  connections: $conns"
hey_run() {
  hey -z "${secs}s" -c "$conns" "$@" | grep -E "Requests/sec|Slowest|(50|90|99)% in|\[[0-9]" | sed 's/^ *//' | tr '\n' ' '
  echo
}
echo "== service (hot cache): hey closed loop, ${secs}s"
hey_run "$base/v1/recommendations/users/u1?k=10"
echo "== service (hot cache): hey at $rate req/s, ${secs}s"
hey_run -q "$(( (rate + conns - 1) / conns ))" "$base/v1/recommendations/users/u1?k=10"
if [ -n "$cold" ]; then
  echo "== service (HOT_CACHE_TTL=0, every request to Redis): hey closed loop, ${secs}s"
  hey_run "$cold/v1/recommendations/users/u1?k=10"
fi
echo "== service (hot cache): wrk over random users, ${secs}s (throughput; latency not trusted)"
wrk_run "$base"
echo "== peer: redis-benchmark GET"
redis-benchmark -h "$host" -p "$port" "${auth[@]}" -c "$conns" -n 100000 -t get 2>/dev/null |
  grep -A2 "latency summary" | tail -2
echo "== peer: redis-benchmark LRANGE $prefix:g$generation:user:u1 0 9"
redis-benchmark -h "$host" -p "$port" "${auth[@]}" -c "$conns" -n 100000 \
  LRANGE "$prefix:g$generation:user:u1" 0 9 2>/dev/null | grep -A2 "latency summary" | tail -2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
