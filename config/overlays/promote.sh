#!/usr/bin/env bash
# Promote the operator image to an environment by rewriting that overlay's pinned tag.
#
#   config/overlays/promote.sh staging 0.2.0     # a release tag into staging
#   config/overlays/promote.sh production        # whatever staging runs, into production
#
# Equivalent to `cd config/overlays/<env> && kustomize edit set image
# ghcr.io/machina-dev/machina-operator:<tag>`, but needs only bash and kubectl: it edits
# the newTag line of the overlay's images entry, then renders the overlay with
# `kubectl kustomize` and checks the Deployment really got the new image.
# It does not commit: review `git diff`, commit, and sync in Argo CD (see README.md).
set -euo pipefail

IMAGE=ghcr.io/machina-dev/machina-operator
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

# Prints the newTag of the $IMAGE entry in an overlay's kustomization.yaml.
current_tag() {
  awk -v img="$IMAGE" '
    $1 == "-" && $2 == "name:" { in_img = ($3 == img) }
    in_img && $1 == "newTag:" { print $2; exit }
  ' "$here/$1/kustomization.yaml"
}

[[ $# -ge 1 && $# -le 2 ]] || usage
env="$1"
case "$env" in
  staging)    from=development ;;
  production) from=staging ;;
  -h|--help)  usage ;;
  *) echo "promote.sh: can only promote into staging or production, not '$env'" >&2; exit 2 ;;
esac

if [[ $# -eq 2 ]]; then
  tag="$2"
else
  tag="$(current_tag "$from")"
fi
# Only immutable release tags leave development: never `main`, `latest` or a branch.
if [[ ! "$tag" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "promote.sh: '$tag' is not a release tag (x.y.z); $env takes pinned release tags only" >&2
  exit 1
fi

file="$here/$env/kustomization.yaml"
old="$(current_tag "$env")"
[[ -n "$old" ]] || { echo "promote.sh: no newTag for $IMAGE in $file" >&2; exit 1; }
if [[ "$old" == "$tag" ]]; then
  echo "$env already runs $IMAGE:$tag"
  exit 0
fi

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
awk -v img="$IMAGE" -v tag="$tag" '
  $1 == "-" && $2 == "name:" { in_img = ($3 == img) }
  in_img && $1 == "newTag:" { sub(/newTag:.*/, "newTag: " tag); in_img = 0 }
  { print }
' "$file" >"$tmp"
cat "$tmp" >"$file"

rendered="$(kubectl kustomize "$here/$env" | grep -E "^[[:space:]]+image: $IMAGE:" | sort -u | awk '{print $2}')"
if [[ "$rendered" != "$IMAGE:$tag" ]]; then
  echo "promote.sh: $env renders image '$rendered', expected $IMAGE:$tag" >&2
  exit 1
fi
echo "$env: $IMAGE $old -> $tag"
