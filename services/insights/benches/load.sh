#!/usr/bin/env bash
# Cached-recommendation latency with wrk, side by side with redis-benchmark on
# the same Redis in the same run (a plain GET, and the LRANGE our hot path does).
#
#   benches/load.sh <service base URL> <redis URL> <redis key prefix> [connections] [seconds]
#
# The service must have a generation computed (POST /v1/insights/recompute) over
# users u0..u999 (the `seed` example's ids). See README.md.
set -euo pipefail
base=$1 redis_url=$2 prefix=$3 conns=${4:-8} secs=${5:-15}
here=$(cd "$(dirname "$0")" && pwd)
read -r host port password < <(python3 -c '
import sys, urllib.parse as p
u = p.urlparse(sys.argv[1]); print(u.hostname, u.port or 6379, p.unquote(u.password or "-"))' "$redis_url")
auth=(); [ "$password" != "-" ] && auth=(-a "$password")
generation=$(curl -fsS "$base/v1/insights/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  connections: $conns"
echo "== service: GET /v1/recommendations/users/u<random>?k=10 (wrk, ${secs}s)"
wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/users.lua" "$base" |
  grep -E "^\s+(50|90|99)%|Requests/sec|Non-2xx|Socket errors"
echo "== peer: redis-benchmark GET"
redis-benchmark -h "$host" -p "$port" "${auth[@]}" -c "$conns" -n 100000 -t get 2>/dev/null |
  grep -A2 "latency summary" | tail -2
echo "== peer: redis-benchmark LRANGE $prefix:g$generation:user:u1 0 9"
redis-benchmark -h "$host" -p "$port" "${auth[@]}" -c "$conns" -n 100000 \
  LRANGE "$prefix:g$generation:user:u1" 0 9 2>/dev/null | grep -A2 "latency summary" | tail -2
