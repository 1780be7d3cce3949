#!/usr/bin/env bash
# Render every kustomization under config/ with `kubectl kustomize` and fail on the first
# error, plus a few invariants of the rendered install. No cluster needed.
#
#   config/check.sh              # render all
#   config/check.sh --out DIR    # also keep each render as DIR/<name>.yaml
#   config/check.sh --validate   # also validate the install and overlays against the
#                                # Kubernetes OpenAPI schemas (strict: unknown fields fail);
#                                # needs `pip install kubernetes-validate`
#
# KUSTOMIZE overrides the renderer (default: `kubectl kustomize`), e.g. KUSTOMIZE="kustomize build".
# K8S_VERSION is the Kubernetes version to validate against (default 1.32.0).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
read -r -a render <<<"${KUSTOMIZE:-kubectl kustomize}"

out=""
validate=false
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; mkdir -p "$out"; shift ;;
    --validate) validate=true ;;
    *) echo "usage: $0 [--out DIR] [--validate]" >&2; exit 2 ;;
  esac
  shift
done
if $validate && ! command -v kubernetes-validate >/dev/null 2>&1; then
  echo "config/check.sh: --validate needs kubernetes-validate: pip install kubernetes-validate" >&2
  exit 2
fi

# Everything that must render; the install and its overlays first.
targets=(
  default
  overlays/development
  overlays/staging
  overlays/production
  crd
  rbac
  manager
  prometheus
  argocd
  samples
)
# (argocd/sync-waves is a patch-only Component: it renders nothing alone and is covered
# by the overlays.)

failed=0
fail() { echo "FAIL  $1: $2" >&2; failed=$((failed + 1)); }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

for t in "${targets[@]}"; do
  file="$tmp/${t//\//_}.yaml"
  if ! "${render[@]}" "$here/$t" >"$file" 2>"$tmp/err"; then
    fail "$t" "$(cat "$tmp/err")"
    continue
  fi
  [[ -s "$file" ]] || { fail "$t" "rendered nothing"; continue; }
  [[ -z "$out" ]] || cp "$file" "$out/${t//\//_}.yaml"
  echo "ok    $t ($(grep -c '^kind:' "$file") objects)"
done

# Invariants of the install and of every overlay (only checked when they rendered).
operator_image='ghcr.io/machina-dev/machina-operator:'
for t in default overlays/development overlays/staging overlays/production; do
  file="$tmp/${t//\//_}.yaml"
  [[ -s "$file" ]] || continue
  crds="$(grep -c '^kind: CustomResourceDefinition$' "$file" || true)"
  [[ "$crds" == 4 ]] || fail "$t" "expected 4 CustomResourceDefinitions, found $crds"
  images="$(grep -E "^[[:space:]]+image: " "$file" | awk '{print $2}' | sort -u)"
  [[ "$images" == "$operator_image"* && "$(wc -l <<<"$images")" == 1 ]] \
    || fail "$t" "expected exactly one image ${operator_image}<tag>, found: ${images:-none}"
  # Namespaced objects of the install all go to machina-system.
  others="$(grep -E '^  namespace: ' "$file" | grep -v '^  namespace: machina-system$' || true)"
  [[ -z "$others" ]] || fail "$t" "objects outside machina-system: $others"
  # Schemas of built-in kinds; ServiceMonitor/PrometheusRule have none there (warning only).
  if $validate && ! kubernetes-validate --strict --quiet --no-warn \
      -k "${K8S_VERSION:-1.32.0}" "$file" >"$tmp/err" 2>&1; then
    fail "$t" "schema validation: $(cat "$tmp/err")"
  fi
done

if [[ $failed -gt 0 ]]; then
  echo "config/check.sh: $failed problem(s)" >&2
  exit 1
fi
echo "config/check.sh: all ${#targets[@]} kustomizations render"
