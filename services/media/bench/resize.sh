#!/usr/bin/env bash
# Image resize, side by side in one run: machina-media's pipeline (examples/resize,
# the same code as GET /v1/media/{id}?w=..&h=..&fit=inside) against libvips'
# `vips thumbnail` (Debian libvips-tools), on the same generated images.
#
# Throughput: hyperfine (one process per thumbnail, both sides).
# Peak memory: /usr/bin/time's maximum resident set size.
#
#   apt-get install -y libvips-tools hyperfine
#   services/media/bench/resize.sh            # prints markdown tables
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
target=${CARGO_TARGET_DIR:-$root/target}
runs=${RUNS:-10}
sizes=${SIZES:-256 1200}

cargo build --quiet --release -p machina-media --examples
resize=$target/release/examples/resize
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Inputs, generated here (never committed): a ~29 MB noisy JPEG (5300x3600, q95), a 6 Mpx JPEG, a PNG.
"$target/release/examples/noisy_jpeg" "$work/big.jpg" 5300 3600 95
"$target/release/examples/noisy_jpeg" "$work/photo.jpg" 3000 2000 90
vips copy "$work/photo.jpg" "$work/photo.png"

echo "## inputs"
ls -l "$work" | awk 'NR>1 {printf "- %s: %.1f MB\n", $9, $5/1e6}'
echo

rss() { # peak RSS in MB of a command
    /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.0f", $1/1024}'
}

echo "| input | box | tool | mean time | images/s | peak RSS |"
echo "|---|---|---|---|---|---|"
for size in $sizes; do
for input in big.jpg photo.jpg photo.png; do
    in=$work/$input
    ours=("$resize" "$in" "$work/m.jpg" "$size" jpeg inside)
    peer=(vips thumbnail "$in" "$work/v.jpg[Q=82]" "$size")
    hyperfine --style none --warmup 2 --runs "$runs" --export-json "$work/h.json" \
        -n machina "${ours[*]}" -n vips "${peer[*]}" >/dev/null
    for tool in machina vips; do
        mean=$(python3 -c "import json,sys; r=[x for x in json.load(open('$work/h.json'))['results'] if x['command']=='$tool'][0]; print(r['mean'])")
        if [ "$tool" = machina ]; then peak=$(rss "${ours[@]}"); else peak=$(rss "${peer[@]}"); fi
        printf "| %s | %s | %s | %.0f ms | %.1f | %s MB |\n" "$input" "$size" "$tool" \
            "$(python3 -c "print($mean*1000)")" "$(python3 -c "print(1/$mean)")" "$peak"
    done
done
done
