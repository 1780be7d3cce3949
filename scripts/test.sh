#!/usr/bin/env bash
# The test command: on a fresh machine of this kind it installs and starts what the tests need
# (Redis, RabbitMQ, SecantusDB), then runs format and lint checks, the generated-file checks,
# the manifest renders and the whole test suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

step "backing services (devenv/up.sh)"
devenv/up.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "generated CRDs are current"
cargo run -q --locked -p machina-crds --bin crdgen -- --check

step "manifests render (kubectl kustomize)"
config/check.sh

step "binaries (the end-to-end tests run them as pods on devcluster)"
cargo build --workspace --bins --locked

step "tests"
cargo test --workspace --locked --no-fail-fast
