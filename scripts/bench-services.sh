#!/usr/bin/env bash
# Load runs of the content-generation services with wrk, plus the engine-level figures.
#
#   scripts/bench-services.sh                 # everything (about 3 minutes after the build)
#   DURATION=20s CONNECTIONS=32 scripts/bench-services.sh
#   SKIP_CRITERION=1 SKIP_COMPARE=1 scripts/bench-services.sh   # HTTP load runs only
#
# 1. builds the release binaries (machina-templates, machina-generative, the mock_openai
#    example) and starts the devenv backing services (devenv/up.sh);
# 2. starts the template service (fresh database) and registers the benchmark email
#    (services/template-engine/benches/fixtures: layout + product list + card + macros,
#    50 products) and a product prompt/page pair;
# 3. HTTP render: POST /v1/templates/product-list.html/render of the template service,
#    side by side with a Jinja2 (Python stdlib http.server) and a Handlebars (Node http)
#    server rendering the same templates and data (services/templates/benches/peers/);
# 4. HTTP generate: POST /v1/generate of the generative worker for a template-only pipeline
#    (ValidateContext → RenderTemplate(email) → TransformJson) and for an LLM pipeline
#    (ValidateContext → RenderTemplate(prompt) → LlmCompletion(mock) → TransformJson →
#    RenderTemplate(page)) against the mock_openai example;
# 5. criterion: cargo bench -p machina-generative --bench pipeline (template-only run);
# 6. services/template-engine/benches/compare.sh (engine-level, MiniJinja/Jinja2/Handlebars).
#
# Every load run: wrk -t$THREADS -c$CONNECTIONS -d$DURATION after a 2 s warm-up, one server
# at a time; RSS is the server's VmHWM (peak) from /proc after its run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
bin=$CARGO_TARGET_DIR/release
fixtures=$root/services/template-engine/benches/fixtures
peers=$root/services/templates/benches/peers
venv=$root/.machina/bench-venv
node_dir=${HANDLEBARS_DIR:-${TMPDIR:-/tmp}/machina-bench-handlebars}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '==> %s\n' "$*" >&2; }
command -v wrk >/dev/null || { say "wrk is missing: apt-get install -y wrk"; exit 1; }

say "building release binaries"
cargo build --release -p machina-templates -p machina-generative --bins --example mock_openai

devenv/up.sh >&2
set -a; . .machina/backing.env; set +a
stamp=$(date +%s)

# free_port: a port nothing listens on.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL: waits up to 20 s for any HTTP answer
  for _ in $(seq 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  say "$1 did not answer"; cat "$work"/*.log >&2 || true; return 1
}
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

cat >"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT req_s=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

rows=()
# load NAME PID URL BODY_FILE: warm-up, timed wrk run, one table row.
load() {
  local name=$1 pid=$2 url=$3 body=$4
  BODY_FILE=$body wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$work/post.lua" "$url" >/dev/null
  BODY_FILE=$body wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/post.lua" "$url" >"$work/$name.out"
  local line; line=$(grep '^RESULT' "$work/$name.out")
  field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
  rows+=("$(printf '| %-34s | %8s | %8s | %8s | %7s | %6s |' "$name" "$(field req_s)" \
    "$(field p50_ms)" "$(field p99_ms)" "$(hwm_mb "$pid")" "$(field non2xx)")")
}
table() {
  printf '\n| %-34s | %8s | %8s | %8s | %7s | %6s |\n' "$1" "req/s" "p50 ms" "p99 ms" "RSS MB" "non2xx"
  printf '|%s|---------:|---------:|---------:|--------:|-------:|\n' "------------------------------------"
  printf '%s\n' "${rows[@]}"
  rows=()
}

# --- the template service and its templates ---
tport=$(free_port)
LISTEN_ADDR=127.0.0.1:$tport MONGODB_URI="$MACHINA_MONGODB_URI" MONGODB_DATABASE="bench_templates_$stamp" \
  REDIS_URL="$MACHINA_REDIS_URL" TEMPLATES_CHANGED_CHANNEL="bench:$stamp:templates:changed" LOG_LEVEL=warn \
  "$bin/machina-templates" >"$work/templates.log" 2>&1 &
tpid=$!; pids+=("$tpid")
T=http://127.0.0.1:$tport
wait_http "$T/healthz"

# register NAME FORMAT FILE|- [EXTENDS] [INCLUDES,...]: POST /v1/templates (source from FILE, or stdin)
register() {
  python3 - "$@" <<'EOF' >"$work/register.json"
import json, sys
name, fmt, path = sys.argv[1:4]
extends = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
includes = [i for i in (sys.argv[5] if len(sys.argv) > 5 else "").split(",") if i]
source = open(path, encoding="utf-8").read().replace("product_card.html", "product-card.html")
print(json.dumps({"name": name, "format": fmt, "source": source, "extends": extends, "includes": includes}))
EOF
  local code
  code=$(curl -s -o "$work/register.out" -w '%{http_code}' "$T/v1/templates" \
    -H 'content-type: application/json' --data-binary @"$work/register.json")
  [ "$code" = 201 ] || { say "registering $1 failed: $code $(cat "$work/register.out")"; exit 1; }
}
say "registering templates"
register layout.html Html "$fixtures/layout.html"
register macros.html Html "$fixtures/macros.html"
register product-card.html Html "$fixtures/product_card.html" "" macros.html
register product-list.html Html "$fixtures/product_list.html" layout.html product-card.html
printf 'Describe {{ product.name }} in a {{ tone }} tone, at most {{ max_words }} words.' >"$work/prompt.txt"
printf '<main>{%% block body %%}{%% endblock %%}</main>' >"$work/layout.txt"
printf '{%% extends "page-layout" %%}{%% block body %%}<h1>{{ copy.title }}</h1><p>{{ product.name }}</p>{%% endblock %%}' >"$work/page.txt"
register product-prompt Text "$work/prompt.txt"
register page-layout Html "$work/layout.txt"
register product-page Html "$work/page.txt" page-layout

python3 -c "import json; print(json.dumps({'context': json.load(open('$fixtures/data.json'))}))" >"$work/email.json"
echo '{"context": {"sku": "ABC-123", "tone": "playful", "product": {"name": "Lamp <XL>"}}}' >"$work/product.json"

# --- render: ours vs Jinja2 vs Handlebars over HTTP ---
say "HTTP render: template service vs Jinja2 vs Handlebars ($DURATION, $CONNECTIONS connections)"
curl -s "$T/v1/templates/product-list.html/render" -H 'content-type: application/json' \
  --data-binary @"$work/email.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["output"]), "bytes")' >&2
load "templates (Rust, MiniJinja)" "$tpid" "$T/v1/templates/product-list.html/render" "$work/email.json"
if ! "$venv/bin/python" -c 'import jinja2' 2>/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet 'jinja2>=3.1,<4'
fi
port=$(free_port)
"$venv/bin/python" "$peers/jinja2_server.py" "$port" 2>/dev/null & ppid=$!; pids+=("$ppid")
wait_http "http://127.0.0.1:$port/"
load "Jinja2 $("$venv/bin/python" -c 'import jinja2; print(jinja2.__version__)') (Python http.server)" \
  "$ppid" "http://127.0.0.1:$port/render" "$work/email.json"
kill "$ppid"
if [ ! -d "$node_dir/node_modules/handlebars" ]; then
  mkdir -p "$node_dir" && (cd "$node_dir" && npm install --silent --no-audit --no-fund handlebars@4 >/dev/null)
fi
port=$(free_port)
NODE_PATH=$node_dir/node_modules node "$peers/handlebars_server.js" "$port" & npid=$!; pids+=("$npid")
wait_http "http://127.0.0.1:$port/"
load "Handlebars (Node $(node --version) http)" "$npid" "http://127.0.0.1:$port/render" "$work/email.json"
kill "$npid"
table "render endpoint (email, 50 products)"

# --- generate: the worker, template-only and with the LLM mock ---
"$bin/examples/mock_openai" >"$work/mock.url" & mpid=$!; pids+=("$mpid")
for _ in $(seq 100); do [ -s "$work/mock.url" ] && break; sleep 0.1; done
llm=$(head -n1 "$work/mock.url")
cat >"$work/email.yaml" <<EOF
apiVersion: machina.dev/v1alpha1
kind: ContentPipeline
metadata: {name: bench-email}
spec:
  platformRef: {name: acme}
  templates:
    - {name: email, templateRef: product-list.html}
  components:
    - name: request
      type: ValidateContext
      validateContext:
        schema: {type: object, required: [user, products, campaign], properties: {products: {type: array, maxItems: 200}}}
    - {name: email, type: RenderTemplate, inputs: [request], renderTemplate: {template: email}}
    - {name: shape, type: TransformJson, inputs: [email], transformJson: {expression: "{html: @, bytes: length(@)}"}}
  output: shape
EOF
cat >"$work/llm.yaml" <<EOF
apiVersion: machina.dev/v1alpha1
kind: ContentPipeline
metadata: {name: bench-llm}
spec:
  platformRef: {name: acme}
  templates:
    - {name: prompt, templateRef: product-prompt}
    - {name: page, templateRef: product-page}
  llm: {baseUrl: "$llm", model: gpt-test, timeoutSeconds: 10, maxRetries: 0, inputCostPerMillionTokens: 0.15, outputCostPerMillionTokens: 0.6}
  components:
    - name: request
      type: ValidateContext
      validateContext:
        schema: {type: object, required: [sku], properties: {sku: {type: string, pattern: "^[A-Z]{3}-[0-9]{3}$"}}}
        defaults: {tone: neutral, max_words: 120}
    - {name: prompt, type: RenderTemplate, inputs: [request], renderTemplate: {template: prompt}}
    - {name: copy, type: LlmCompletion, inputs: [prompt], llmCompletion: {maxTokens: 400, temperature: 0.6, jsonMode: true}}
    - {name: shape, type: TransformJson, inputs: [copy, request], transformJson: {expression: "{copy: copy, product: request.product}"}}
    - {name: page, type: RenderTemplate, inputs: [shape], renderTemplate: {template: page}}
  output: page
EOF
# worker NAME DEFINITION BODY ROW
worker() {
  local wport; wport=$(free_port)
  PIPELINE_DEFINITION=$work/$2 TEMPLATES_URL=$T LISTEN_ADDR=127.0.0.1:$wport LOG_LEVEL=warn \
    MONGODB_URI="$MACHINA_MONGODB_URI" MONGODB_DATABASE="bench_generative_$stamp" \
    REDIS_URL="$MACHINA_REDIS_URL" AMQP_URL="$MACHINA_AMQP_URL" CACHE_PREFIX="bench:$stamp:" \
    JOBS_QUEUE="bench.generative.$1.$stamp" \
    "$bin/machina-generative" >"$work/$1.log" 2>&1 &
  local wpid=$!; pids+=("$wpid")
  wait_http "http://127.0.0.1:$wport/healthz"
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$wport/v1/generate" \
      -H 'content-type: application/json' --data-binary @"$work/$3")" = 200 ] && break
    sleep 0.1
  done
  curl -s "http://127.0.0.1:$wport/v1/generate" -H 'content-type: application/json' \
    --data-binary @"$work/$3" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(str(r["output"])[:120], [(e["name"], round(e["durationMs"],3)) for e in r["trace"]])' >&2
  load "$4" "$wpid" "http://127.0.0.1:$wport/v1/generate" "$work/$3"
  kill "$wpid"
}
say "HTTP generate: worker ($DURATION, $CONNECTIONS connections)"
worker email email.yaml email.json "template-only (email, 50 products)"
worker llm llm.yaml product.json "prompt -> LLM mock -> page"
table "POST /v1/generate"

if [ -z "${SKIP_CRITERION:-}" ]; then
  say "criterion: cargo bench -p machina-generative --bench pipeline"
  cargo bench -p machina-generative --bench pipeline 2>/dev/null | grep -E '^generative/|time:' || true
fi
if [ -z "${SKIP_COMPARE:-}" ]; then
  say "engine level: services/template-engine/benches/compare.sh"
  services/template-engine/benches/compare.sh
fi
