#!/usr/bin/env bash
# Build (and optionally push) the container image of every Machina binary.
#
# The list of images is NOT kept here: it comes from the Rust single source of truth
# (crds/src/images.rs) through
#
#   cargo run -q -p machina-crds --bin crdgen -- images
#
# which prints one `<binary> <image:tag>` line per image, e.g.
#   machina-operator ghcr.io/machina-dev/machina-operator:0.1.0
# Every image is built from build/Dockerfile with --build-arg BIN=<binary>.
#
# Usage: build/images.sh [options]
#   --push              push the images (default: build only; single-platform builds are
#                       loaded into the local image store)
#   --platform LIST     target platforms, e.g. linux/amd64 or linux/amd64,linux/arm64
#                       (default: the builder's own platform)
#   --tag TAG           override the tag of every image, e.g. --tag main for the moving
#                       development images (default: the tags from images.rs)
#   --only BINARY       build only this binary; repeatable
#   --tool docker|podman  container tool (default: $CONTAINER_TOOL, else docker if
#                       `docker buildx` works, else podman)
#   --list FILE         read the image list from FILE ('-' = stdin) instead of crdgen
#   -n, --dry-run       print the commands instead of running them
#   -h, --help          show this help
#
# Examples:
#   build/images.sh                                              # local build, all images
#   build/images.sh --push --platform linux/amd64,linux/arm64    # a release
#   build/images.sh --push --tag main                            # development images
#   build/images.sh --only machina-operator -n                   # show what would run
set -euo pipefail

usage() {
  sed -n '2,/^set -euo pipefail$/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}
die() { echo "images.sh: $*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

push=false
platform=""
tag=""
tool="${CONTAINER_TOOL:-}"
list_file=""
dry_run=false
only=()

need_value() { [[ $# -ge 2 && -n "$2" && "$2" != --* ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --push) push=true ;;
    --platform) need_value "$@"; platform="$2"; shift ;;
    --platform=*) platform="${1#*=}" ;;
    --tag) need_value "$@"; tag="$2"; shift ;;
    --tag=*) tag="${1#*=}" ;;
    --only) need_value "$@"; only+=("$2"); shift ;;
    --only=*) only+=("${1#*=}") ;;
    --tool) need_value "$@"; tool="$2"; shift ;;
    --tool=*) tool="${1#*=}" ;;
    --list) [[ $# -ge 2 && -n "$2" ]] || die "--list needs a file (or -)"; list_file="$2"; shift ;;
    --list=*) list_file="${1#*=}" ;;
    -n|--dry-run) dry_run=true ;;
    -h|--help) usage 0 ;;
    *) echo "images.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
  shift
done

if [[ -n "$tag" && ! "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
  die "--tag '$tag' is not a valid image tag"
fi
if [[ -n "$platform" && ! "$platform" =~ ^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?(,[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?)*$ ]]; then
  die "--platform '$platform' is not a list like linux/amd64,linux/arm64"
fi

# --- the image list ----------------------------------------------------------------------
if [[ -n "$list_file" ]]; then
  if [[ "$list_file" == - ]]; then
    listing="$(cat)"
  else
    listing="$(cat -- "$list_file")"
  fi
else
  listing="$(cargo run -q -p machina-crds --bin crdgen -- images)" \
    || die "could not list the images: 'cargo run -q -p machina-crds --bin crdgen -- images' failed"
fi

bins=()
refs=()
while read -r bin ref extra; do
  [[ -z "${bin:-}" || "$bin" == \#* ]] && continue
  line="$bin ${ref:-} ${extra:-}"
  [[ -z "${extra:-}" ]] || die "expected '<binary> <image:tag>', got: $line"
  [[ "$bin" =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad binary name in: $line"
  # registry/repository[:port]...:tag — the tag is mandatory, a digest is not accepted.
  [[ "${ref:-}" =~ ^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] \
    || die "bad image reference (want registry/name:tag) in: $line"
  bins+=("$bin")
  refs+=("$ref")
done <<<"$listing"
[[ ${#bins[@]} -gt 0 ]] || die "the image list is empty"

if [[ ${#only[@]} -gt 0 ]]; then
  for want in "${only[@]}"; do
    found=false
    for bin in "${bins[@]}"; do [[ "$bin" == "$want" ]] && found=true; done
    $found || die "--only $want: not in the image list (${bins[*]})"
  done
fi

selected() {
  [[ ${#only[@]} -eq 0 ]] && return 0
  local want
  for want in "${only[@]}"; do [[ "$want" == "$1" ]] && return 0; done
  return 1
}

# --- the container tool ------------------------------------------------------------------
if [[ -z "$tool" ]]; then
  if command -v docker >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    tool=docker
  elif command -v podman >/dev/null 2>&1; then
    tool=podman
  elif $dry_run; then
    tool=docker
  else
    die "needs 'docker buildx' or 'podman' (or --tool); neither was found"
  fi
fi
case "$tool" in
  docker|podman) ;;
  *) die "--tool must be docker or podman, not '$tool'" ;;
esac
if ! $dry_run; then
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is not installed"
  if [[ "$tool" == docker ]]; then
    docker buildx version >/dev/null 2>&1 || die "docker is there but the buildx plugin is not"
  fi
fi

multi_platform=false
[[ "$platform" == *,* ]] && multi_platform=true
if [[ "$tool" == docker ]] && $multi_platform && ! $push; then
  echo "images.sh: note: a multi-platform build without --push stays in the buildx cache" \
       "(the docker image store cannot load it); add --push to publish it" >&2
fi

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  $dry_run || "$@"
}

# --- build -------------------------------------------------------------------------------
# Sequentially: the builds share the cargo cache mounts of build/Dockerfile, so the second
# image onwards only compiles its own crate.
built=()
for i in "${!bins[@]}"; do
  bin="${bins[$i]}"
  ref="${refs[$i]}"
  selected "$bin" || continue
  [[ -n "$tag" ]] && ref="${ref%:*}:$tag"
  version="${ref##*:}"
  echo "==> $bin -> $ref" >&2

  common=(--file build/Dockerfile --build-arg "BIN=$bin" --build-arg "VERSION=$version")
  if [[ "$tool" == docker ]]; then
    cmd=(docker buildx build "${common[@]}" --tag "$ref")
    [[ -n "$platform" ]] && cmd+=(--platform "$platform")
    if $push; then
      cmd+=(--push)
    elif ! $multi_platform; then
      cmd+=(--load)
    fi
    run "${cmd[@]}" .
  elif $multi_platform; then
    # podman builds a multi-platform image as a manifest list, pushed as a whole.
    if ! $dry_run; then podman manifest rm "$ref" >/dev/null 2>&1 || true; fi
    run podman build "${common[@]}" --platform "$platform" --manifest "$ref" .
    if $push; then run podman manifest push --all "$ref" "docker://$ref"; fi
  else
    cmd=(podman build "${common[@]}" --tag "$ref")
    [[ -n "$platform" ]] && cmd+=(--platform "$platform")
    run "${cmd[@]}" .
    if $push; then run podman push "$ref"; fi
  fi
  built+=("$ref")
done

[[ ${#built[@]} -gt 0 ]] || die "nothing selected to build"
if $dry_run; then verb="would build"; elif $push; then verb="built and pushed"; else verb="built"; fi
echo "images.sh: $verb ${#built[@]} image(s):" >&2
printf '  %s\n' "${built[@]}" >&2
