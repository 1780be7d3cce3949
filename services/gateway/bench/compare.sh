#!/usr/bin/env bash
# Gateway overhead side by side with nginx, in one run: wrk against
#   1. the upstream called directly,
#   2. nginx proxying to it (bench/nginx.conf),
#   3. the gateway proxying to it (public route: no token, no rate limit),
#   4. the gateway with the full edge policy (EdDSA JWT check + Redis GCRA rate limit),
# and prints a Markdown table of p50/p99 latency, the latency added over the
# direct call, and requests/s.
#
# Usage: services/gateway/bench/compare.sh [duration=10s] [connections=32]
# Needs: wrk, nginx (apt-get install wrk nginx), Redis for row 4 (devenv/up.sh).
set -euo pipefail

DURATION=${1:-10s}
CONNECTIONS=${2:-32}
THREADS=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d /tmp/gateway-bench.XXXXXX)
UPSTREAM=127.0.0.1:18180
NGINX=127.0.0.1:18181
GATEWAY=127.0.0.1:18182
GATEWAY_FULL=127.0.0.1:18183
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX_BIN" ] || { echo "nginx is missing: apt-get install nginx" >&2; exit 1; }

# PROFILE=debug only checks the script; figures come from release builds.
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
    (cd "$ROOT" && cargo build --release -q -p machina-gateway --bins --examples)
else
    (cd "$ROOT" && cargo build -q -p machina-gateway --bins --examples)
fi

wait_for() {
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$1 did not come up" >&2
    exit 1
}

"$TARGET/$PROFILE/examples/bench_upstream" "$UPSTREAM" & PIDS+=($!)
wait_for "http://$UPSTREAM/bench"

mkdir -p "$WORK/nginx"
sed -e "s|@PREFIX@|$WORK/nginx|g" -e "s|@LISTEN@|$NGINX|g" -e "s|@UPSTREAM@|$UPSTREAM|g" \
    "$HERE/nginx.conf" > "$WORK/nginx/nginx.conf"
"$NGINX_BIN" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" & PIDS+=($!)
wait_for "http://$NGINX/bench"

sed -e "s|@UPSTREAM@|$UPSTREAM|g" "$HERE/routes.yaml" > "$WORK/routes.yaml"
openssl genpkey -algorithm ed25519 -out "$WORK/key.pem" 2>/dev/null
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem" 2>/dev/null
TOKEN=$("$TARGET/$PROFILE/examples/bench_token" "$WORK/key.pem")
REDIS_URL=${MACHINA_REDIS_URL:-${REDIS_URL:-}}
if [ -z "$REDIS_URL" ] && [ -f "$ROOT/.machina/backing.env" ]; then
    REDIS_URL=$(. "$ROOT/.machina/backing.env"; echo "${MACHINA_REDIS_URL:-}")
fi
[ -n "$REDIS_URL" ] || { echo "no Redis: run devenv/up.sh and set MACHINA_REDIS_URL (. .machina/backing.env)" >&2; exit 1; }
export LOG_LEVEL=warn ROUTES_FILE="$WORK/routes.yaml" PIPELINE_DISCOVERY=off \
    JWT_PUBLIC_KEY="$(cat "$WORK/pub.pem")" JWT_ALGORITHM=EdDSA JWT_ISSUER=https://bench.machina
# Like nginx: a plain proxy, no rate limit.
LISTEN_ADDR=$GATEWAY RATE_LIMIT_PER_MINUTE=0 "$TARGET/$PROFILE/machina-gateway" & PIDS+=($!)
# The full edge policy: token verified, every request counted in Redis.
LISTEN_ADDR=$GATEWAY_FULL REDIS_URL="$REDIS_URL" RATE_LIMIT_PER_MINUTE=1000000000 \
    RATE_LIMIT_PREFIX="bench:$$:" "$TARGET/$PROFILE/machina-gateway" & PIDS+=($!)
wait_for "http://$GATEWAY/bench"
wait_for "http://$GATEWAY_FULL/healthz"

# One wrk run; prints "p50_ms p99_ms req_per_s".
measure() {
    local url=$1; shift
    wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" "$url" >/dev/null # warm-up
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url" | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        / [0-9]+ requests in / { }
        /Non-2xx/ { bad = $NF }
        END { printf "%.3f %.3f %.0f %s\n", p50, p99, rps, (bad ? bad : 0) }'
}

ROUNDS=${ROUNDS:-3}
echo "wrk: $THREADS threads, $CONNECTIONS connections, $DURATION per target, median of $ROUNDS interleaved rounds, $(nproc) cores shared by everything" >&2
declare -A RESULTS
for round in $(seq 1 "$ROUNDS"); do
    RESULTS[direct]+="$(measure "http://$UPSTREAM/bench")"$'\n'
    RESULTS[nginx]+="$(measure "http://$NGINX/bench")"$'\n'
    RESULTS[gateway]+="$(measure "http://$GATEWAY/bench")"$'\n'
    RESULTS[full]+="$(measure "http://$GATEWAY_FULL/secure" -H "Authorization: Bearer $TOKEN")"$'\n'
    echo "round $round done" >&2
done

# Median of each column over the rounds; non-2xx summed.
median() {
    local out=() col
    for col in 1 2 3; do
        out+=("$(printf '%s' "${RESULTS[$1]}" | awk NF | cut -d' ' -f"$col" | sort -g |
            awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')")
    done
    out+=("$(printf '%s' "${RESULTS[$1]}" | awk 'NF { bad += $4 } END { print bad + 0 }')")
    echo "${out[*]}"
}
read -r d50 d99 drps dbad < <(median direct)
read -r n50 n99 nrps nbad < <(median nginx)
read -r g50 g99 grps gbad < <(median gateway)
read -r f50 f99 frps fbad < <(median full)

row() { awk -v n="$1" -v p50="$2" -v p99="$3" -v rps="$4" -v bad="$5" -v d50="$d50" -v d99="$d99" \
    'BEGIN { printf "| %s | %.3f | %.3f | %+.3f | %+.3f | %.0f | %s |\n", n, p50, p99, p50-d50, p99-d99, rps, bad }'; }
echo "| target | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s | non-2xx |"
echo "|---|---|---|---|---|---|---|"
row "upstream direct" "$d50" "$d99" "$drps" "$dbad"
row "nginx $("$NGINX_BIN" -v 2>&1 | sed 's|.*/||')" "$n50" "$n99" "$nrps" "$nbad"
row "machina-gateway (public route)" "$g50" "$g99" "$grps" "$gbad"
row "machina-gateway (JWT + Redis rate limit)" "$f50" "$f99" "$frps" "$fbad"
