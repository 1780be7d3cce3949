#!/usr/bin/env bash
# Renders the benchmark email (fixtures/: layout + product list + card include + macros,
# 50 products) with machina-template-engine (MiniJinja 2, release build), Jinja2 (Python)
# and Handlebars (Node) in one run, and prints renders/s side by side.
#
#   services/template-engine/benches/compare.sh            # ITERATIONS=5000 by default
#   ITERATIONS=20000 services/template-engine/benches/compare.sh
#
# Jinja2 is installed into a venv under .machina/bench-venv and Handlebars with npm into a
# temporary directory, each only when missing. The three outputs are compared after
# normalising whitespace and equivalent HTML entities (&#x2f; vs /, &#39; vs &#x27;).
# Each engine renders ITERATIONS/10 times to warm up, then ITERATIONS timed renders
# (single thread); max RSS comes from /usr/bin/time when it exists.
set -euo pipefail

ITERATIONS=${ITERATIONS:-5000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
venv=$root/.machina/bench-venv
node_dir=${HANDLEBARS_DIR:-${TMPDIR:-/tmp}/machina-bench-handlebars}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

say() { printf '==> %s\n' "$*" >&2; }

setup_jinja2() {
  "$venv/bin/python" -c 'import jinja2' 2>/dev/null && return 0
  say "installing jinja2 into $venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet 'jinja2>=3.1,<4'
}

setup_handlebars() {
  [ -d "$node_dir/node_modules/handlebars" ] && return 0
  say "installing handlebars into $node_dir"
  mkdir -p "$node_dir" && (cd "$node_dir" && npm install --silent --no-audit --no-fund handlebars@4 >/dev/null)
}

# run NAME CMD...: runs the timed render, keeps its line and max RSS, and dumps its output.
run() {
  local name=$1; shift
  local rss=""
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/$name.rss" "$@" "$ITERATIONS" >"$work/$name.line"
    rss=$(tail -n1 "$work/$name.rss")
  else
    "$@" "$ITERATIONS" >"$work/$name.line"
  fi
  echo "$(tail -n1 "$work/$name.line") rss_kb=${rss:-?}" >"$work/$name.line"
}

normalise() {
  sed -e 's/&#x2f;/\//g; s/&#39;/'"'"'/g; s/&#x27;/'"'"'/g; s/&#34;/\&quot;/g; s/&#x3D;/=/g' "$1" | tr -d ' \n'
}

say "building the Rust benchmark (cargo bench profile: release)"
ours_bin=$(cargo bench -p machina-template-engine --bench render --no-run 2>&1 |
  sed -n 's/.*Executable.*(\(.*\)).*/\1/p' | tail -n1)
[ -x "$ours_bin" ] || { say "could not build the benchmark binary"; exit 1; }

engines=(minijinja)
say "minijinja: $ITERATIONS renders"
# The bench binary takes its iteration count from RENDER_ITERATIONS; exec keeps RSS its own.
run minijinja sh -c 'RENDER_ITERATIONS=$1 exec "$0"' "$ours_bin"
RENDER_DUMP=1 "$ours_bin" >"$work/minijinja.html"

if setup_jinja2; then
  engines+=(jinja2)
  say "jinja2: $ITERATIONS renders"
  run jinja2 "$venv/bin/python" "$here/peers/jinja2_render.py"
  "$venv/bin/python" "$here/peers/jinja2_render.py" --dump >"$work/jinja2.html"
else
  say "jinja2 could not be installed (pip failed): skipped"
fi

if command -v npm >/dev/null && setup_handlebars; then
  engines+=(handlebars)
  say "handlebars: $ITERATIONS renders"
  run handlebars env NODE_PATH="$node_dir/node_modules" node "$here/peers/handlebars_render.js"
  NODE_PATH="$node_dir/node_modules" node "$here/peers/handlebars_render.js" --dump >"$work/handlebars.html"
else
  say "handlebars could not be installed (npm missing or failed): skipped"
fi

field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$work/$1.line"; }
rss_mb() { local kb; kb=$(field "$1" rss_kb); [ "$kb" = "?" ] && echo "?" || echo $(( kb / 1024 )); }
base=$(field minijinja renders_per_sec)
printf '\n%-22s %10s %9s %12s %12s %10s %10s %s\n' engine renders seconds renders/s µs/render vs-ours max-rss output
for e in "${engines[@]}"; do
  rps=$(field "$e" renders_per_sec)
  same="same"
  cmp -s <(normalise "$work/minijinja.html") <(normalise "$work/$e.html") || same="DIFFERS"
  printf '%-22s %10s %9s %12s %12.1f %9.2fx %8sMB %s (%s bytes)\n' \
    "$(field "$e" engine)" "$(field "$e" renders)" "$(field "$e" seconds)" "$rps" \
    "$(echo "1000000 / $rps" | bc -l)" "$(echo "$rps / $base" | bc -l)" \
    "$(rss_mb "$e")" "$same" "$(field "$e" bytes)"
done
